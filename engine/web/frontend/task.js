// The task page: form-js' viewer only, as the global the page's script uses (FormViewer.createForm).
import * as FormViewer from '@bpmn-io/form-js-viewer';
import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';

window.FormViewer = FormViewer;
