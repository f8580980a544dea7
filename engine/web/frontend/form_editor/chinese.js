// form-js' editor has no translate service: its palette and properties panel write English. In Chinese mode
// (the page's <html lang>), their texts, titles and placeholders are replaced from this dictionary as they
// appear; the form being designed (the canvas) is left alone, its labels are the administrator's.
const ZH = {
  // palette
  'Components': '组件', 'Search components': '搜索组件', 'No components found.': '没有找到组件。',
  'Input': '输入', 'Selection': '选择', 'Presentation': '展示', 'Containers': '容器', 'Action': '操作',
  'Text field': '单行文本', 'Text area': '多行文本', 'Number': '数字', 'Date time': '日期时间', 'Checkbox': '勾选框',
  'Checkbox group': '多选组', 'Radio group': '单选组', 'Select': '下拉选择', 'Tag list': '标签多选',
  'Text view': '文字说明', 'HTML view': 'HTML 内容', 'Image view': '图片', 'Table': '表格', 'Expression': '计算值',
  'Spacer': '空白', 'Separator': '分隔线', 'Group': '分组', 'Dynamic list': '动态列表', 'iFrame': '内嵌网页',
  'Button': '按钮', 'File picker': '文件上传', 'Document preview': '文档预览', 'Form': '表单',
  'Build your form': '设计表单', 'Drag and drop components here to start designing.': '把组件拖到这里开始设计。',
  'Drag and drop components here.': '把组件拖到这里。', 'Use the preview window to test your form.': '可在预览中试填表单。',
  // properties panel: groups
  'General': '常规', 'Condition': '显示条件', 'Validation': '校验', 'Constraints': '约束', 'Appearance': '外观',
  'Layout': '布局', 'Custom properties': '自定义属性', 'Options source': '选项来源', 'Static options': '固定选项',
  'Dynamic options': '动态选项', 'Serialization': '数据格式', 'Pagination': '分页', 'Header items': '表头',
  'Headers source': '表头来源', 'Security attributes': '安全属性', 'Form submission': '表单提交',
  'Content': '内容', 'Data source': '数据来源', 'Value changes': '值变化',
  // properties panel: entries
  'Field label': '字段标签', 'Label': '标签', 'Key': '字段键名', 'ID': 'ID', 'Path': '路径', 'Description': '说明',
  'Field description': '字段说明', 'Default value': '默认值', 'Required': '必填', 'Read only': '只读',
  'Disabled': '禁用', 'Hide if': '隐藏条件', 'Minimum length': '最短长度', 'Maximum length': '最长长度',
  'Minimum': '最小值', 'Maximum': '最大值', 'Validation pattern': '校验规则', 'Custom regular expression': '自定义正则表达式',
  'Custom error message': '自定义错误提示', 'Email': '电子邮箱', 'Phone': '电话', 'Custom': '自定义',
  'Decimal digits': '小数位数', 'Increment': '步长', 'Output as string': '以文本输出', 'Prefix': '前缀',
  'Suffix': '后缀', 'Subtype': '子类型', 'Date': '日期', 'Time': '时间', 'Date label': '日期标签',
  'Time label': '时间标签', 'Time format': '时间格式', 'Time interval': '时间间隔', 'Use 24h': '24 小时制',
  'Disallow past dates': '不允许过去的日期', 'Searchable': '可搜索', 'Value': '值', 'Text': '文字', 'Columns': '列宽',
  'Auto': '自动', 'Height': '高度', 'Show outline': '显示边框', 'Vertical alignment': '垂直对齐', 'Top': '顶部',
  'Center': '居中', 'Bottom': '底部', 'Image source': '图片来源', 'Alternative text': '替代文字',
  'Allow add/delete items': '允许增删条目', 'Default number of items': '默认条目数', 'Disable collapse': '不折叠',
  'Number of non-collapsing items': '不折叠的条目数', 'Repeatable': '可重复', 'Number of rows per page': '每页行数',
  'Input values key': '选项数据键名', 'Options expression': '选项表达式', 'Target value': '目标值',
  'Compute on': '计算时机', 'Checked': '勾选', 'Not checked': '未勾选', 'Version tag': '版本标签',
  'Create new list item': '新建一项', 'Create': '新建', 'Delete item': '删除此项', '<empty>': '（空）', '<none>': '（无）',
  'Toggle section': '展开/收起', 'Section contains edits': '此部分有设置', 'Section contains an error': '此部分有错误',
  'Toggle list item': '展开/收起此项', 'Open pop-up editor': '在弹出窗口中编辑', 'Opened in editor': '已在编辑器中打开',
  'Binds to a form variable': '对应表单数据中的变量', 'Learn more': '了解更多',
  'Where the child variables of this component are pathed to.': '此组件内字段数据所在的路径。',
  'Define an expression to calculate the value of this field': '用表达式计算此字段的值',
  'Define which input property to populate the values from': '选项从哪项输入数据读取',
  'Define an expression to populate the options from.': '用表达式生成选项。',
};
const ATTRIBUTES = ['title', 'placeholder', 'aria-label'];
const AREAS = '.fjs-palette-container, .fjs-properties-container';
// Preact writes a text back when it re-renders; a node it keeps resetting is left alone after a few rounds,
// so the editor and this never trade writes without end.
const ROUNDS = 5;
const rounds = new WeakMap();
const again = node => { const n = (rounds.get(node) || 0) + 1; rounds.set(node, n); return n <= ROUNDS; };

function translateNode(node) {
  if (node.nodeType === Node.TEXT_NODE) {
    const text = node.data.trim();
    if (ZH[text] && node.parentElement && node.parentElement.closest(AREAS) && again(node)) {
      node.data = node.data.replace(text, ZH[text]);
    }
    return;
  }
  if (node.nodeType !== Node.ELEMENT_NODE || !node.closest(AREAS) && !node.querySelector(AREAS)) return;
  // the panel header names the selected element by its label or id: the administrator's words, not the editor's
  node.querySelectorAll('.bio-properties-panel-header-label:not([translate])')
    .forEach(label => label.setAttribute('translate', 'no'));
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) translateNode(text);
  for (const element of [node, ...node.querySelectorAll(ATTRIBUTES.map(a => `[${a}]`).join(','))]) {
    if (!element.closest(AREAS)) continue;
    for (const name of ATTRIBUTES) {
      const value = element.getAttribute(name);
      if (value && ZH[value.trim()] && again(element)) element.setAttribute(name, ZH[value.trim()]);
    }
  }
}

/** Keep the editor's palette and properties panel in Chinese while the page lives. */
export function speakChinese(container) {
  translateNode(container);
  new MutationObserver(changes => changes.forEach(change => {
    if (change.type === 'characterData') translateNode(change.target);
    else if (change.type === 'attributes') translateNode(change.target);
    else change.addedNodes.forEach(translateNode);
  })).observe(container, { subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ATTRIBUTES });
}
