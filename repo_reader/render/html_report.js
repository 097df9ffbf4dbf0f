'use strict';
// The report's own script (no library): inflates the embedded blobs when they are first shown, draws only the
// rows of a long list that are on screen, searches symbols, files and models, folds the model drawing, and
// opens the source at a location, with the shapes each line produced beside it when the trace recorded them.
// Routes: #fN-L (line L of embedded file N), #def-NAME, #sym-I, #model-I, #stop-N, #tab-KEY.

const ROW = 22;  // px, one row of a list (the style sheet's .vlist .row)
const LINE = 18;  // px, one line of source (the style sheet's #code pre: 12px/1.5)
const BLOCK = 100;  // lines laid out together
const MAX_RESULTS = 2000;
const MAX_EMBED = '400,000';  // characters of the largest file embedded (html_data.MAX_EMBED_CHARS)
const MAX_CARD = 200;  // calls listed on a symbol's card
const KEYWORDS = new Set(('False None True and as assert async await break class continue def del elif else except ' +
  'finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case').split(' '));
const BUILTINS = new Set(('self cls super print len range enumerate zip isinstance getattr setattr hasattr int float str ' +
  'bool list dict tuple set object type min max sum abs any all map sorted open iter next').split(' '));
const TOKEN = /(#[^\n]*)|([rRbBuUfF]{0,2}(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?))|(@[A-Za-z_][\w.]*)|(\b(?:0[xXoObB][\da-fA-F_]+|\d[\d_]*\.?[\d_]*(?:[eE][+-]?\d+)?j?)\b)|([A-Za-z_]\w*)/g;

const inflated = new Map();
let data = null;
let calls = null;  // {out: Map(symbol -> [call numbers]), into: ...}, built the first time a card opens
let searchIndex = null;
let shownFile = -1;
let currentTab = 'tour';
let firstModelView = '';
let annotated = new Set();  // embedded files whose blob carries shapes by line

function esc(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

async function inflate(id) {
  if (inflated.has(id)) return inflated.get(id);
  const element = document.getElementById(id);
  if (!element) return null;
  const binary = atob(element.textContent);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  const text = await new Response(stream).text();
  inflated.set(id, text);
  return text;
}

// --- locations -------------------------------------------------------------------------------------------
function anchorOf(row, line) {
  const file = data.files[row];
  return file[2] < 0 ? null : `f${file[2]}-${line + file[3]}`;
}

function locationLink(row, line, col) {
  const label = `${data.files[row][0]}:${line}:${col}`;
  const anchor = anchorOf(row, line);
  return anchor ? `<a class="loc" href="#${anchor}">${esc(label)}</a>` : `<span class="loc">${esc(label)}</span>`;
}

// --- source view -----------------------------------------------------------------------------------------
function highlight(text) {
  let out = '';
  let last = 0;
  let previous = '';
  const wrap = (kind, piece) => piece.split('\n').map(part => part ? `<span class="${kind}">${esc(part)}</span>` : '').join('\n');
  for (const match of text.matchAll(TOKEN)) {
    out += esc(text.slice(last, match.index));
    last = match.index + match[0].length;
    const word = match[5];
    if (match[1]) out += wrap('c', match[1]);
    else if (match[2]) out += wrap('s', match[2]);
    else if (match[3]) out += wrap('d', match[3]);
    else if (match[4]) out += wrap('n', match[4]);
    else if (KEYWORDS.has(word)) out += wrap('k', word);
    else if (previous === 'def' || previous === 'class') out += wrap('f', word);
    else if (BUILTINS.has(word)) out += wrap('b', word);
    else out += esc(word);
    previous = word || '';
  }
  return out + esc(text.slice(last));
}

function shapesOf(number, text) {
  // An annotated file's blob is its text, a NUL, then {line: [the texts `show` writes beside that line]}.
  if (!annotated.has(number)) return [text, {}];
  const cut = text.lastIndexOf('\0');
  return [text.slice(0, cut), JSON.parse(text.slice(cut + 1))];
}

function sourceLine(number, n, html, notes) {
  const id = `id="f${number}-${n}" data-n="${n}"`;
  if (!notes) return `<span class="line" ${id}>${html}</span>`;
  const beside = notes.map(note => `<span>${esc(note)}</span>`).join('');
  return `<span class="line shaped" ${id}><span class="code">${html}</span><span class="shapes">${beside}</span></span>`;
}

async function showFile(number) {
  if (shownFile === number) return;
  const path = data.embedded[number];
  const [text, shapes] = shapesOf(number, await inflate(`src-${number}`));
  const python = /\.(py|pyi|ipynb)$/.test(path);
  const lines = (python ? highlight(text) : esc(text)).split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  // Blocks of lines the browser lays out only when they scroll into view (a 5,000-line file opens in 0.1 s).
  const blocks = [];
  for (let first = 0; first < lines.length; first += BLOCK) {
    let rows = 0;  // a line's further shapes each take a row below it
    const part = lines.slice(first, first + BLOCK).map((html, k) => {
      const notes = shapes[first + k + 1];
      rows += notes ? notes.length : 1;
      return sourceLine(number, first + k + 1, html, notes);
    });
    blocks.push(`<div class="block" style="contain-intrinsic-size: auto ${rows * LINE}px">${part.join('')}</div>`);
  }
  document.getElementById('code').innerHTML = `<pre data-file="${number}">${blocks.join('')}</pre>`;
  shownFile = number;
}

async function openLine(number, line) {
  await showFile(number);
  const id = `f${number}-${line}`;
  const old = document.querySelector('#code .current');
  if (old) old.classList.remove('current');
  const target = document.getElementById(id);
  if (!target) return;
  target.classList.add('current');
  const label = document.getElementById('current');
  label.textContent = `${data.embedded[number]}:${line}  ${(target.querySelector('.code') || target).textContent.trim()}`;
  label.dataset.target = id;
  target.scrollIntoView({block: 'center'});
}

// --- lists -----------------------------------------------------------------------------------------------
function virtualList(box, count, render) {
  box.textContent = '';
  const spacer = document.createElement('div');
  spacer.className = 'spacer';
  spacer.style.height = `${count * ROW}px`;
  box.appendChild(spacer);
  let shown = '';
  const draw = () => {
    const first = Math.max(0, Math.floor(box.scrollTop / ROW) - 8);
    const last = Math.min(count, Math.ceil((box.scrollTop + (box.clientHeight || 600)) / ROW) + 8);
    if (`${first}:${last}` === shown) return;
    shown = `${first}:${last}`;
    const rows = [];
    for (let i = first; i < last; i++) rows.push(`<div class="row" data-i="${i}" style="top:${i * ROW}px">${render(i)}</div>`);
    spacer.innerHTML = rows.join('');
  };
  box.onscroll = draw;
  box.redraw = () => { shown = ''; draw(); };
  draw();
}

function fileRow(i) {
  const file = data.files[i];
  return `<span class="name">${esc(file[0])}</span>${file[1] ? `<span class="role">${esc(file[1])}</span>` : ''}`;
}

function symbolRow(i) {
  const symbol = data.symbols[i];
  return `<span class="name">${esc(symbol[0])}</span><span class="kind">${symbol[1]}</span>` +
    `<span class="where">${esc(data.files[symbol[2]][0])}:${symbol[3]}</span>`;
}

function modelRow(i) {
  const model = data.models[i];
  return `<span class="name">${esc(model[0])}</span>${model[4] ? '<span class="role">top-level</span>' : ''}` +
    `<span class="where">${esc(data.files[model[1]][0])}:${model[2]}</span>`;
}

function listClicks(id, act) {
  document.getElementById(id).addEventListener('click', event => {
    const row = event.target.closest('.row');
    if (row) act(Number(row.dataset.i), row);
  });
}

// --- search ----------------------------------------------------------------------------------------------
const KIND_NAMES = ['model', 'symbol', 'file'];
let results = [];

function buildIndex() {
  searchIndex = [];
  data.models.forEach((model, i) => searchIndex.push([0, i, model[0].toLowerCase()]));
  data.symbols.forEach((symbol, i) => searchIndex.push([1, i, symbol[0].toLowerCase()]));
  data.files.forEach((file, i) => { if (!file[0].includes('#')) searchIndex.push([2, i, file[0].toLowerCase()]); });
}

function wordStart(text, term) {
  for (let at = text.indexOf(term); at >= 0; at = text.indexOf(term, at + 1)) {
    if (at === 0 || '_.-/'.includes(text[at - 1])) return true;
  }
  return false;
}

function search(query) {
  if (!searchIndex) buildIndex();
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  const last = terms[terms.length - 1];
  const found = [];
  for (const entry of searchIndex) {
    const name = entry[2];
    if (!terms.every(term => name.includes(term))) continue;
    const tail = name.slice(Math.max(name.lastIndexOf('.'), name.lastIndexOf('/')) + 1);
    const score = tail === last ? 0 : tail.startsWith(last) ? 1 : tail.includes(last) ? 2 : 3;
    const starts = terms.filter(term => wordStart(tail, term)).length;  // `vit base`: vit_base_... before davit_base
    found.push([score - starts, entry[0], name.length, entry]);
  }
  found.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  return found.map(item => item[3]);
}

function resultRow(i) {
  const [kind, index] = results[i];
  const body = kind === 0 ? modelRow(index) : kind === 1 ? symbolRow(index) : fileRow(index);
  return `<span class="kind">${KIND_NAMES[kind]}</span> ${body}`;
}

function runSearch() {
  const query = document.getElementById('search').value.trim();
  if (!query) { showTab(currentTab === 'results' ? 'tour' : currentTab); return; }
  const all = search(query);
  results = all.slice(0, MAX_RESULTS);
  document.getElementById('result-count').textContent =
    `${all.length} match${all.length === 1 ? '' : 'es'}` + (all.length > MAX_RESULTS ? ` (first ${MAX_RESULTS} shown)` : '');
  virtualList(document.getElementById('result-list'), results.length, resultRow);
  showTab('results');
}

function openResult(i) {
  const [kind, index] = results[i];
  if (kind === 0) go(`#model-${index}`);
  else if (kind === 1) go(`#sym-${index}`);
  else openFile(index);
}

function openFile(row) {
  const anchor = anchorOf(row, 1);
  if (anchor) return go(`#${anchor}`);
  const label = document.getElementById('current');
  label.textContent = `${data.files[row][0]}: not in the report (empty, unreadable, or over ${MAX_EMBED} characters)`;
  delete label.dataset.target;
}

// --- tabs, models, symbols -------------------------------------------------------------------------------
function showTab(key) {
  for (const section of document.querySelectorAll('#left > .tab')) section.hidden = section.id !== key;
  for (const link of document.querySelectorAll('.tabs a')) link.classList.toggle('active', link.dataset.tab === key);
  if (key !== 'results') currentTab = key;
  for (const box of document.querySelectorAll(`#${key} .vlist`)) if (box.redraw) box.redraw();
}

async function showModel(i) {
  showTab('models');
  const view = document.getElementById('model-view');
  const model = data.models[i];
  if (i === 0) view.innerHTML = firstModelView;
  else if (model[6]) view.innerHTML = await inflate(`model-${i}`);
  else view.innerHTML = `<div class="model-head"><b>${esc(model[0])}</b> ${locationLink(model[1], model[2], model[3])}` +
    '</div><p class="dim">not drawn: the report draws the top-level models and the first others of a library this size</p>';
  view.dataset.model = i;
  for (const row of document.querySelectorAll('#model-list .row')) row.classList.toggle('chosen', Number(row.dataset.i) === i);
  const anchor = anchorOf(model[1], model[2]);
  if (anchor) await openLine(...parseAnchor(anchor));
}

function reflow(svg) {
  const box = Number(svg.dataset.box), gap = Number(svg.dataset.gap), pad = Number(svg.dataset.pad);
  const nodes = Array.from(svg.querySelectorAll('g.mnode'));
  const children = new Map();
  for (const node of nodes) {
    const parent = node.dataset.parent;
    if (parent !== '') { if (!children.has(parent)) children.set(parent, []); children.get(parent).push(node); }
  }
  const places = new Map();
  let y = pad;
  const place = (node, first) => {
    if (!first) y += gap;
    const top = y;
    y += box;
    const kids = children.get(node.dataset.id) || [];
    const open = kids.length > 0 && node.classList.contains('open');
    if (open) { kids.forEach(kid => place(kid, false)); y += pad; }
    node.classList.remove('hidden');
    node.setAttribute('transform', `translate(${node.dataset.x},${top})`);
    node.querySelector('.frame').setAttribute('height', y - top);
    const sign = node.querySelector('.toggle text');
    if (sign) sign.textContent = open ? '−' : '+';
    places.set(node.dataset.id, [top, y - top, Number(node.dataset.x) + Number(node.dataset.w) / 2]);
  };
  for (const node of nodes) node.classList.add('hidden');
  place(nodes[0], true);
  const flows = svg.querySelector('.flows');
  const arrows = [];
  for (const [, kids] of children) {
    const shown = kids.filter(kid => places.has(kid.dataset.id));
    for (let k = 1; k < shown.length; k++) {
      const [top, height, middle] = places.get(shown[k - 1].dataset.id);
      const next = places.get(shown[k].dataset.id)[0];
      arrows.push(`<line data-from="${shown[k - 1].dataset.id}" data-to="${shown[k].dataset.id}" x1="${middle}" ` +
        `y1="${top + height}" x2="${middle}" y2="${next}" marker-end="url(#model-arrow)"/>`);
    }
  }
  flows.innerHTML = arrows.join('');
  svg.setAttribute('height', y + pad);
}

async function loadCalls() {
  if (calls) return calls;
  const flat = JSON.parse(await inflate('calls'));
  calls = {out: new Map(), into: new Map(), flat};
  for (let k = 0; k < flat.length; k += 5) {
    if (!calls.out.has(flat[k])) calls.out.set(flat[k], []);
    if (!calls.into.has(flat[k + 1])) calls.into.set(flat[k + 1], []);
    calls.out.get(flat[k]).push(k);
    calls.into.get(flat[k + 1]).push(k);
  }
  return calls;
}

async function showSymbol(i) {
  showTab('symbols');
  const symbol = data.symbols[i];
  const table = await loadCalls();
  const list = (starts, other, arrow) => {
    const items = starts.slice(0, MAX_CARD).map(k => {
      const far = table.flat[k + other];
      return `<li>${locationLink(table.flat[k + 2], table.flat[k + 3], table.flat[k + 4])} ${arrow} ` +
        `<a href="#sym-${far}">${esc(data.symbols[far][0])}</a></li>`;
    });
    if (starts.length > MAX_CARD) items.push(`<li class="dim">… and ${starts.length - MAX_CARD} more</li>`);
    return items.join('');
  };
  const out = table.out.get(i) || [], into = table.into.get(i) || [];
  const card = document.getElementById('symbol-card');
  card.className = 'chosen';
  card.innerHTML = `<div><b>${esc(symbol[0])}</b> <span class="kind">${symbol[1]}</span> ` +
    `${locationLink(symbol[2], symbol[3], symbol[4])}</div>` +
    (out.length ? `<div>calls (${out.length})</div><ul>${list(out, 1, '→')}</ul>` : '') +
    (into.length ? `<div>called by (${into.length})</div><ul>${list(into, 0, '←')}</ul>` : '') +
    (out.length || into.length ? '' : '<div class="dim">no calls to or from the repository\'s own code</div>');
  card.dataset.symbol = i;
  const anchor = anchorOf(symbol[2], symbol[3]);
  if (anchor) await openLine(...parseAnchor(anchor));
}

// --- routing ---------------------------------------------------------------------------------------------
function parseAnchor(anchor) {
  const found = /^f(\d+)-(\d+)$/.exec(anchor);
  return found ? [Number(found[1]), Number(found[2])] : null;
}

async function route(hash) {
  const id = decodeURIComponent(hash.replace(/^#/, ''));
  const line = parseAnchor(id);
  if (line) return openLine(...line);
  if (id.startsWith('tab-')) return showTab(id.slice(4));
  if (id.startsWith('model-')) return showModel(Number(id.slice(6)));
  if (id.startsWith('sym-')) return showSymbol(Number(id.slice(4)));
  if (id.startsWith('def-')) {
    const index = data.symbols.findIndex(symbol => symbol[0] === id.slice(4));
    if (index >= 0) return showSymbol(index);
  }
  if (id.startsWith('stop-')) {
    showTab('tour');
    const stop = document.getElementById(id);
    if (stop) stop.scrollIntoView({block: 'start'});
  }
}

function go(hash) {
  history.pushState(null, '', hash);
  return route(hash);
}

function onClick(event) {
  const toggle = event.target.closest('.model-graph .toggle');
  if (toggle) {
    toggle.parentNode.classList.toggle('open');
    reflow(toggle.closest('svg'));
    return;
  }
  const link = event.target.closest('a');
  const href = link && link.getAttribute('href');
  if (!href || !href.startsWith('#')) return;
  event.preventDefault();
  const node = link.closest('.mnode');
  if (node) {
    for (const old of node.closest('svg').querySelectorAll('.mnode.current')) old.classList.remove('current');
    node.classList.add('current');
  }
  go(href);
}

async function start() {
  if (!window.DecompressionStream) {
    document.getElementById('current').textContent =
      'this browser cannot open the report\'s compressed parts: use a current Chromium, Firefox (113+) or Safari (16.4+)';
    return;
  }
  data = JSON.parse(await inflate('data'));
  annotated = new Set(data.annotated);
  firstModelView = document.getElementById('model-view').innerHTML;
  virtualList(document.getElementById('file-list'), data.files.length, fileRow);
  virtualList(document.getElementById('model-list'), data.models.length, modelRow);
  virtualList(document.getElementById('symbol-list'), data.symbols.length, symbolRow);
  listClicks('file-list', openFile);
  listClicks('model-list', i => go(`#model-${i}`));
  listClicks('symbol-list', i => go(`#sym-${i}`));
  listClicks('result-list', openResult);
  document.addEventListener('click', onClick);
  let timer = 0;
  const box = document.getElementById('search');
  box.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(runSearch, 60); });
  box.addEventListener('keydown', event => {  // Enter opens the best match
    if (event.key !== 'Enter') return;
    clearTimeout(timer);
    runSearch();
    if (results.length) openResult(0);
  });
  window.addEventListener('popstate', () => route(location.hash));
  window.addEventListener('hashchange', () => route(location.hash));
  showTab('tour');
  if (location.hash) await route(location.hash);
  document.body.dataset.ready = String(Math.round(performance.now()));
}

start();
