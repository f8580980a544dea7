// The form editor page: form-js' editor, as the global the page's script uses (FormEditor.createFormEditor).
import * as FormEditor from '@bpmn-io/form-js-editor';
import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import '@bpmn-io/form-js-editor/dist/assets/form-js-editor.css';
import '@bpmn-io/form-js-editor/dist/assets/dragula.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';

window.FormEditor = FormEditor;
