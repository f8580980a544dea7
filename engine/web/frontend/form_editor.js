// The form editor page: form-js' editor, as the global the page's script uses (FormEditor.createFormEditor).
// Its palette offers only the components Huhua's forms can hold (form_editor/palette.css), and it speaks
// Chinese when the page does (form_editor/chinese.js).
import * as FormJsEditor from '@bpmn-io/form-js-editor';
import { speakChinese } from './form_editor/chinese.js';
import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import '@bpmn-io/form-js-editor/dist/assets/form-js-editor.css';
import '@bpmn-io/form-js-editor/dist/assets/dragula.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import './form_editor/palette.css';

async function createFormEditor(options) {
  const editor = await FormJsEditor.createFormEditor(options);
  if (!document.documentElement.lang.startsWith('en')) speakChinese(options.container);
  return editor;
}

window.FormEditor = { ...FormJsEditor, createFormEditor };
