// The task page: form-js' viewer only, as the global the page's script uses (FormViewer.createForm), and the
// Chinese of flatpickr (the date picker inside form-js), which the page's form_language.html switches on.
import * as FormViewer from '@bpmn-io/form-js-viewer';
import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import flatpickr from 'flatpickr';
import { Mandarin } from 'flatpickr/dist/esm/l10n/zh.js';

flatpickr.l10ns.zh = Mandarin;
window.flatpickr = flatpickr;  // the instance form-js uses: one copy of flatpickr in the bundle
window.FormViewer = FormViewer;
