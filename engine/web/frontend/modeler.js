// The process modeler: bpmn-js' modeler (the global BpmnJS) with the properties panel and Huhua's own group
// (HuhuaModeler.modules, HuhuaModeler.moddleExtensions), and bpmn-auto-layout (BpmnAutoLayout) for models
// written without a diagram.
import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import { layoutProcess } from 'bpmn-auto-layout';
import HuhuaPropertiesProvider from './modeler/properties.js';
import spiffworkflow from './modeler/spiffworkflow.json';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';

const HuhuaPropertiesModule = {
  __init__: ['huhuaPropertiesProvider'],
  huhuaPropertiesProvider: ['type', HuhuaPropertiesProvider],
};

window.BpmnJS = Modeler;
window.BpmnAutoLayout = { layoutProcess };
window.HuhuaModeler = {
  modules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, HuhuaPropertiesModule],
  moddleExtensions: { spiffworkflow },
};
