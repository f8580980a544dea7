// The instance page: bpmn-js' navigated viewer (the global BpmnJS) and bpmn-auto-layout (BpmnAutoLayout), which
// draws a diagram for a model written without one.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { layoutProcess } from 'bpmn-auto-layout';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';

window.BpmnJS = NavigatedViewer;
window.BpmnAutoLayout = { layoutProcess };
