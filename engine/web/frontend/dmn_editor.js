// The decision table editor: dmn-js' modeler, as the global the page's script uses (new DmnJS({...})).
// dmn-js writes a column's type (string, number, boolean …) in its head as it stands in the XML, past its
// translate service; in Chinese (the page's <html lang>) those heads show the Chinese name.
import DmnJS from 'dmn-js/lib/Modeler';
import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn.css';

const TYPES = { string: '文本', number: '数值', boolean: '布尔值', date: '日期', time: '时间', dateTime: '日期时间',
  dayTimeDuration: '时长（日时）', yearMonthDuration: '时长（年月）', Any: '任意' };
const HEADS = '.input-variable, .output-variable';

function typeHeadsInChinese() {
  const translate = root => root.querySelectorAll && root.querySelectorAll(HEADS).forEach(head => {
    // the text node itself, not the head's content: dmn-js keeps the node and updates it in place
    const text = [...head.childNodes].find(node => node.nodeType === Node.TEXT_NODE && TYPES[node.data.trim()]);
    if (text) text.data = TYPES[text.data.trim()];
  });
  // the head is drawn anew whenever the table changes; a Chinese name is not a key, so nothing is written twice
  new MutationObserver(changes => changes.forEach(change => {
    const node = change.target.nodeType === Node.TEXT_NODE ? change.target.parentElement : change.target;
    if (node && node.closest && node.closest(HEADS)) translate(node.closest(HEADS).parentElement);
    else change.addedNodes.forEach(translate);
  })).observe(document.body, { subtree: true, childList: true, characterData: true });
}

if (!document.documentElement.lang.startsWith('en')) {
  document.addEventListener('DOMContentLoaded', typeHeadsInChinese);
}
window.DmnJS = DmnJS;
