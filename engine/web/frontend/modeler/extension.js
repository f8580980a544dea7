// Reading and writing what Huhua's engine reads from a model: spiffworkflow:properties, a service task's
// spiffworkflow:serviceTaskOperator, a business rule task's spiffworkflow:calledDecisionId. Every change goes
// through bpmn-js' modeling service, so it can be undone and is saved with the diagram.
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

/** The business object whose extensions hold the settings (a pool's: its process). */
export function settingsOwner(element) {
  const bo = getBusinessObject(element);
  return is(bo, 'bpmn:Participant') && bo.get('processRef') ? bo.get('processRef') : bo;
}

function extensions(owner, type) {
  const found = owner.get('extensionElements');
  return found ? found.get('values').filter(value => is(value, type)) : [];
}

export function getProperty(element, name) {
  const properties = extensions(settingsOwner(element), 'spiffworkflow:Properties')[0];
  const property = properties && properties.get('properties').find(p => p.get('name') === name);
  return property ? property.get('value') || '' : '';
}

/** The extension of ``type`` on the element, made (and attached) when it has none yet. */
function ensureExtension(element, injector, type, attributes) {
  const owner = settingsOwner(element), modeling = injector.get('modeling'), factory = injector.get('bpmnFactory');
  let container = owner.get('extensionElements');
  if (!container) {
    container = factory.create('bpmn:ExtensionElements', { values: [] });
    container.$parent = owner;
    modeling.updateModdleProperties(element, owner, { extensionElements: container });
  }
  let found = extensions(owner, type)[0];
  if (!found) {
    found = factory.create(type, attributes);
    found.$parent = container;
    modeling.updateModdleProperties(element, container, { values: [...container.get('values'), found] });
  }
  return found;
}

function removeExtension(element, injector, extension) {
  const container = extension.$parent;
  injector.get('modeling').updateModdleProperties(element, container, {
    values: container.get('values').filter(value => value !== extension) });
}

/** Set a property (an empty value removes it, and the properties element when it is left empty). */
export function setProperty(element, injector, name, value) {
  value = (value || '').trim();
  const modeling = injector.get('modeling');
  const existing = extensions(settingsOwner(element), 'spiffworkflow:Properties')[0];
  if (!value && !existing) return;
  const properties = existing || ensureExtension(element, injector, 'spiffworkflow:Properties', { properties: [] });
  const property = properties.get('properties').find(p => p.get('name') === name);
  if (!value) {
    if (!property) return;
    const rest = properties.get('properties').filter(p => p !== property);
    if (rest.length) modeling.updateModdleProperties(element, properties, { properties: rest });
    else removeExtension(element, injector, properties);
  } else if (property) {
    modeling.updateModdleProperties(element, property, { value });
  } else {
    const made = injector.get('bpmnFactory').create('spiffworkflow:Property', { name, value });
    made.$parent = properties;
    modeling.updateModdleProperties(element, properties, { properties: [...properties.get('properties'), made] });
  }
}

export function getOperator(element) {
  return extensions(settingsOwner(element), 'spiffworkflow:ServiceTaskOperator')[0];
}

export function setOperator(element, injector, attributes) {
  const operator = ensureExtension(element, injector, 'spiffworkflow:ServiceTaskOperator', {});
  injector.get('modeling').updateModdleProperties(element, operator, attributes);
}

/** A service task's parameters as lines ``name = expression``. */
export function getParameters(element) {
  const operator = getOperator(element), list = operator && operator.get('parameterList');
  return list ? list.get('parameters').map(p => `${p.get('id')} = ${p.get('value') || ''}`).join('\n') : '';
}

export function setParameters(element, injector, text) {
  const factory = injector.get('bpmnFactory'), operator = ensureExtension(element, injector,
    'spiffworkflow:ServiceTaskOperator', {});
  const old = operator.get('parameterList');
  const types = new Map((old ? old.get('parameters') : []).map(p => [p.get('id'), p.get('type')]));
  const list = factory.create('spiffworkflow:Parameters', { parameters: [] });
  list.$parent = operator;
  for (const { name, value } of parseParameters(text).parameters) {
    const made = factory.create('spiffworkflow:Parameter', { id: name, type: types.get(name) || 'any', value });
    made.$parent = list;
    list.get('parameters').push(made);
  }
  injector.get('modeling').updateModdleProperties(element, operator, { parameterList: list });
}

/** ``name = expression`` lines; ``bad`` holds the 1-based numbers of lines that are not. */
export function parseParameters(text) {
  const parameters = [], bad = [];
  (text || '').split('\n').forEach((line, index) => {
    if (!line.trim()) return;
    const match = /^\s*([A-Za-z_]\w*)\s*=\s*(.+?)\s*$/.exec(line);
    if (match) parameters.push({ name: match[1], value: match[2] });
    else bad.push(index + 1);
  });
  return { parameters, bad };
}

export function getDecision(element) {
  const found = extensions(settingsOwner(element), 'spiffworkflow:CalledDecisionId')[0];
  return found ? found.get('value') || '' : '';
}

export function setDecision(element, injector, value) {
  const found = ensureExtension(element, injector, 'spiffworkflow:CalledDecisionId', {});
  injector.get('modeling').updateModdleProperties(element, found, { value: (value || '').trim() });
}

/** The body of a formal expression property (a flow's condition), or '' when there is none. */
export function getExpression(owner, name) {
  const expression = owner.get(name);
  return expression ? expression.get('body') || '' : '';
}

export function setExpression(element, injector, owner, name, value) {
  const modeling = injector.get('modeling');
  if (!(value || '').trim()) {
    modeling.updateModdleProperties(element, owner, { [name]: undefined });
    return;
  }
  const expression = injector.get('bpmnFactory').create('bpmn:FormalExpression', { body: value });
  expression.$parent = owner;
  modeling.updateModdleProperties(element, owner, { [name]: expression });
}
