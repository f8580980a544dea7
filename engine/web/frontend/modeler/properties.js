// Huhua's group of the bpmn-js properties panel: what the engine reads from a model, with selects where the
// values are known (roles of the org directory, deployed forms, registered connectors; the page passes them
// as the modeler's `huhua` option) and a message beside a value the engine would refuse. Labels are English
// keys for bpmn-js' translate service (the page's dictionary makes them Chinese).
import { getBusinessObject, is, isAny } from 'bpmn-js/lib/util/ModelUtil';
import {
  Group, SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextAreaEntryEdited,
  isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { h } from '@bpmn-io/properties-panel/preact';
import { useService } from 'bpmn-js-properties-panel';
import {
  getDecision, getExpression, getOperator, getParameters, getProperty, parseParameters, setDecision,
  setExpression, setOperator, setParameters, setProperty,
} from './extension.js';

const TIERS = ['school', 'county', 'city', 'up'];
const START_TIERS = ['own', 'below', 'own|below'];
const START_BY = ['schedule', 'fan_out', 'message', 'timer', 'call'];
const split = value => (value || '').split(',').map(part => part.trim()).filter(Boolean);

// -- entries: one text field, text area and select, each told how to read, write and check its value ---------

function Text(props) {
  const { element, id, label, description, read, write, check, area } = props;
  const translate = useService('translate'), debounce = useService('debounceInput'),
        injector = useService('injector');
  return h(area ? TextAreaEntry : TextFieldEntry, {
    element, id, debounce, label: translate(label), rows: area ? 6 : undefined, monospace: !!area,
    description: description ? translate(description) : undefined,
    getValue: () => read(element),
    setValue: (value, error) => { if (!error) write(element, injector, value || ''); },
    validate: check ? value => { const problem = check(value || ''); return problem && translate(...problem); }
      : undefined,
  });
}

function Select(props) {
  const { element, id, label, description, read, write, options } = props;
  const translate = useService('translate'), injector = useService('injector');
  return h(SelectEntry, {
    element, id, label: translate(label), description: description ? translate(description) : undefined,
    getValue: () => read(element),
    setValue: value => write(element, injector, value || ''),
    getOptions: () => {
      const current = read(element), known = options(translate);
      const listed = known.some(option => option.value === current) || !current ? known
        : [...known, { value: current, label: current }];
      return [{ value: '', label: translate('(none)') }, ...listed];
    },
  });
}

const text = (id, label, read, write, more = {}) =>
  ({ id, component: Text, isEdited: more.area ? isTextAreaEntryEdited : isTextFieldEntryEdited, label, read, write,
     ...more });
const select = (id, label, read, write, options, more = {}) =>
  ({ id, component: Select, isEdited: isSelectEntryEdited, label, read, write, options, ...more });
const property = name => element => getProperty(element, name);
const setting = name => (element, injector, value) => setProperty(element, injector, name, value);

// -- checks: each answers null, or [message, replacements] for the translate service -------------------------

function roleChecker(roles) {
  const known = new Set(roles.flatMap(role => [role.value, role.name]));
  return value => {
    for (const entry of split(value)) {
      const [role, tier] = entry.split('@');
      if (!known.has(role.trim())) return ['"{role}" is not a role of the org directory', { role: role.trim() }];
      if (tier !== undefined && !/^[A-Za-z0-9_-]+$/.test(tier.trim())) {
        return ['"{tier}" is not a tier (school, county, city, up) or a unit id', { tier }];
      }
    }
    return null;
  };
}

const checkDays = value => (!value.trim() || /^\d{1,4}$/.test(value.trim()) && Number(value) <= 3650) ? null
  : ['A whole number of working days, 0 to 3650'];

function checkListed(allowed, what) {
  return value => {
    const wrong = split(value).find(entry => !allowed.includes(entry));
    return wrong ? ['"{value}" is not one of {allowed}', { value: wrong, allowed: allowed.join(', '), what }] : null;
  };
}

const checkParameters = value => {
  const { bad } = parseParameters(value);
  return bad.length ? ['Line {line} is not "name = expression"', { line: bad[0] }] : null;
};

const checkName = value => !value.trim() || /^[A-Za-z_]\w*$/.test(value.trim()) ? null
  : ['A variable name: letters, digits and _, not starting with a digit'];

// -- the candidate role as a role and a tier, over the first entry of candidateRoles -------------------------

function roleEntry(roles) {
  const byName = new Map(roles.map(role => [role.name, role.value]));
  const first = element => {
    const [entry, ...rest] = split(getProperty(element, 'candidateRoles'));
    const [role = '', tier = ''] = (entry || '').split('@').map(part => part.trim());
    return { role: byName.get(role) || role, tier, rest };
  };
  const write = (element, injector, role, tier) => {
    const { rest } = first(element);
    const entry = role ? (tier ? `${role}@${tier}` : role) : '';
    setProperty(element, injector, 'candidateRoles', [entry, ...rest].filter(Boolean).join(', '));
  };
  return [
    select('huhua-candidate-role', 'Candidate role', element => first(element).role,
      (element, injector, role) => write(element, injector, role, first(element).tier),
      () => roles.map(role => ({ value: role.value, label: role.name }))),
    select('huhua-candidate-tier', 'Held at', element => first(element).tier,
      (element, injector, tier) => write(element, injector, first(element).role, tier),
      translate => TIERS.map(tier => ({ value: tier, label: translate(`tier:${tier}`) })),
      { description: '(none): the unit the instance runs for' }),
  ];
}

// -- the groups -----------------------------------------------------------------------------------------------

function huhuaEntries(element, settings) {
  const bo = getBusinessObject(element);
  const roles = settings.roles || [], forms = settings.forms || [], connectors = settings.connectors || [];
  const formOptions = () => forms.map(form => ({ value: form.value, label: form.label }));
  if (is(element, 'bpmn:UserTask')) {
    return [
      ...roleEntry(roles),
      text('huhua-candidate-roles', 'Candidate roles (full)', property('candidateRoles'), setting('candidateRoles'),
        { check: roleChecker(roles), description: 'role@tier, comma-separated: class_teacher, programme_officer@county' }),
      select('huhua-form', 'Form', property('formKey'), setting('formKey'), formOptions),
      text('huhua-due', 'Due in working days', property('dueWorkingDays'), setting('dueWorkingDays'),
        { check: checkDays, description: 'Counted by China\'s working-day calendar; empty: no due date' }),
    ];
  }
  if (is(element, 'bpmn:StartEvent') && !(bo.get('eventDefinitions') || []).length
      && is(bo.$parent, 'bpmn:Process')) {
    return [select('huhua-start-form', 'Start form', property('formKey'), setting('formKey'), formOptions)];
  }
  if (is(element, 'bpmn:ScriptTask')) {
    return [text('huhua-script', 'Script (Python)', el => getBusinessObject(el).get('script') || '',
      (el, injector, value) => injector.get('modeling').updateModdleProperties(el, getBusinessObject(el),
        { scriptFormat: 'python', script: value }), { area: true })];
  }
  if (is(element, 'bpmn:ServiceTask')) {
    const operator = el => getOperator(el);
    return [
      select('huhua-connector', 'Connector', el => (operator(el) && operator(el).get('id')) || '',
        (el, injector, value) => setOperator(el, injector, { id: value }),
        translate => connectors.map(c => ({ value: c.value, label: `${c.label} (${c.value})` }))),
      text('huhua-result', 'Result variable', el => (operator(el) && operator(el).get('resultVariable')) || '',
        (el, injector, value) => setOperator(el, injector, { resultVariable: value.trim() || undefined }),
        { check: checkName }),
      text('huhua-parameters', 'Parameters', getParameters, setParameters,
        { area: true, check: checkParameters, description: 'One a line: name = Python expression' }),
    ];
  }
  if (is(element, 'bpmn:BusinessRuleTask')) {
    return [text('huhua-decision', 'Decision table id', getDecision, setDecision, { check: checkName })];
  }
  if (is(element, 'bpmn:SequenceFlow') && isAny(bo.get('sourceRef'),
    ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway'])) {
    return [text('huhua-condition', 'Condition (Python)', el => getExpression(getBusinessObject(el),
      'conditionExpression'), (el, injector, value) => setExpression(el, injector, getBusinessObject(el),
      'conditionExpression', value), { description: 'Empty on the gateway\'s default flow' })];
  }
  return [];
}

function startEntries(settings) {
  const roles = settings.roles || [], unitKinds = (settings.unitKinds || []).map(kind => kind.value);
  return [
    text('huhua-start-roles', 'Who may start it (roles)', property('start_roles'), setting('start_roles'),
      { check: roleChecker(roles), description: 'Comma-separated; none: administrators only' }),
    select('huhua-start-tier', 'Where they may start it', property('start_tier'), setting('start_tier'),
      translate => START_TIERS.map(tier => ({ value: tier, label: translate(`start:${tier}`) }))),
    text('huhua-start-units', 'For units of kind', property('start_units'), setting('start_units'),
      { check: checkListed(unitKinds), description: 'Comma-separated unit kinds; empty: any' }),
    select('huhua-start-by', 'Started by the engine', property('start_by'), setting('start_by'),
      translate => START_BY.map(way => ({ value: way, label: translate(`by:${way}`) })),
      { description: '(none): people start it by hand' }),
  ];
}

export default function HuhuaPropertiesProvider(propertiesPanel, translate, settings) {
  this.getGroups = element => groups => {
    const added = [];
    const entries = huhuaEntries(element, settings || {});
    if (entries.length) added.push({ id: 'huhua', label: translate('Huhua'), entries, component: Group });
    if (isAny(element, ['bpmn:Process', 'bpmn:Participant'])) {
      added.push({ id: 'huhua-start', label: translate('Starting'), entries: startEntries(settings || {}),
        component: Group });
    }
    // Huhua's settings right after the general group, where an administrator looks first
    const general = groups.findIndex(group => group.id === 'general');
    groups.splice(general + 1, 0, ...added);
    return groups;
  };
  propertiesPanel.registerProvider(500, this);
}
HuhuaPropertiesProvider.$inject = ['propertiesPanel', 'translate', 'config.huhua'];
