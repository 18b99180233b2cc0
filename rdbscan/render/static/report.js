/* rdbscan HTML report: draws the JSON document embedded in this page.
 *
 * Every figure comes from that document (the same as `--format json`).
 * Text from the data (key names, patterns: untrusted) only ever enters the
 * page as text nodes or attribute values set with setAttribute: no
 * HTML parsing of strings, no markup built from text, no event handler
 * attributes.
 * Control, invisible and bidirectional characters are shown as escapes, and
 * long texts are shortened in place (the whole text is in the tooltip and
 * the copy button).  No library, no network.
 */
(function () {
  'use strict';

  const DATA = JSON.parse(document.getElementById('rdbscan-data').textContent);
  const SECTIONS = DATA.sections || {};

  // ---- DOM helpers: the only ways this script creates elements -------------------------------

  const ATTR_OK = /^(class|id|title|role|tabindex|type|placeholder|href|aria-[a-z]+|data-[a-z-]+)$/;

  function el(tag, attrs) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'on') {
        for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
        continue;
      }
      if (!ATTR_OK.test(k)) throw new Error('attribute not allowed: ' + k);
      if (k === 'href' && !String(v).startsWith('#')) throw new Error('only in-page links');
      e.setAttribute(k, String(v));
    }
    for (let i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }

  function add(parent, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) { kid.forEach((k) => add(parent, k)); return; }
    parent.appendChild(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }

  // ---- numbers ----------------------------------------------------------------------------------

  const BYTE_WORDS = ['bytes', 'memory', 'used_mem', 'must_free', 'saving', 'at_stake', 'estimated_total'];
  const isBytesCol = (n) => BYTE_WORDS.some((w) => n.includes(w)) && !n.includes('share');
  const isShareCol = (n) => n.includes('share') || n === 'growth';
  const isSecondsCol = (n) => /(^|_)seconds($|_)/.test(n);
  const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

  function num(v, digits) {
    return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function int(v) { return v === null || v === undefined ? '–' : Math.round(v).toLocaleString('en-US'); }

  // The same units as the text report: decimal, 1 KB = 1000 B.
  function human(n) {
    if (n === null || n === undefined) return '–';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let v = n;
    for (let i = 0; i < units.length; i++) {
      if (Math.abs(v) < 1000 || i === units.length - 1) return i === 0 ? num(v, 0) + ' B' : num(v, 1) + ' ' + units[i];
      v /= 1000;
    }
    return String(n);
  }
  function signedHuman(n) { return (n > 0 ? '+' : n < 0 ? '−' : '') + human(Math.abs(n)); }
  function exact(n) { return n === null || n === undefined ? '' : n.toLocaleString('en-US') + ' bytes'; }
  function pct(f, digits) {
    if (f === null || f === undefined || !isFinite(f)) return '–';
    return num(100 * f, digits === undefined ? 1 : digits) + ' %';
  }
  function signedPct(f) { return f === null || f === undefined ? '' : (f > 0 ? '+' : f < 0 ? '−' : '') + pct(Math.abs(f)); }
  function duration(s) {
    if (s === null || s === undefined) return '–';
    const a = Math.abs(s), sign = s < 0 ? '−' : '';
    if (a < 60) return sign + Math.round(a) + ' s';
    if (a < 3600) return sign + Math.floor(a / 60) + ' min' + (a % 60 >= 1 && a < 600 ? ' ' + Math.floor(a % 60) + ' s' : '');
    if (a < 86400) return sign + Math.floor(a / 3600) + ' h' + (a % 3600 >= 60 ? ' ' + Math.floor((a % 3600) / 60) + ' min' : '');
    if (a < 30 * 86400) return sign + Math.floor(a / 86400) + ' d' + (a % 86400 >= 3600 ? ' ' + Math.floor((a % 86400) / 3600) + ' h' : '');
    return sign + int(a / 86400) + ' d';
  }
  function when(iso) { return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC'); }
  const sum = (xs) => xs.reduce((a, b) => a + (b || 0), 0);

  // A figure that reads as text, with the exact value on hover.
  function figure(value, kind) {
    if (value === null || value === undefined) return el('span', { class: 'null' }, '–');
    if (kind === 'bytes') return el('span', { title: exact(value), 'data-value': value }, human(value));
    if (kind === 'share') return el('span', { title: String(value), 'data-value': value }, pct(value));
    if (kind === 'seconds') return el('span', { title: int(value) + ' seconds', 'data-value': value }, duration(value));
    if (kind === 'id') return el('span', { 'data-value': value }, String(value));
    return el('span', { 'data-value': value }, Number.isInteger(value) ? int(value) : num(value, 2));
  }
  // "1 key", "2 keys"
  function count(n, word) { return int(n) + ' ' + word + (n === 1 ? '' : 's'); }

  // ---- untrusted text ---------------------------------------------------------------------------

  // C0/C1 controls, invisible and format characters, bidi controls, line/paragraph separators.
  const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200c\u200e\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u206f\u3164\ufeff\ufff9-\ufffb]/g;
  const TIP_MAX = 2000;

  function escapeOf(ch) {
    const c = ch.charCodeAt(0);
    return c < 0x100 ? '\\x' + c.toString(16).padStart(2, '0') : '\\u' + c.toString(16).padStart(4, '0');
  }
  // The text with every invisible character written as an escape (for tooltips).
  function visible(s) { return s.replace(INVISIBLE, escapeOf); }
  function tooltip(s) {
    if (s.length <= TIP_MAX) return visible(s);
    return visible(cutAt(s, TIP_MAX)) + '… (' + int(s.length) + ' characters in all: copy to get the whole text)';
  }
  // Never split a surrogate pair.
  function cutAt(s, n) { return /[\ud800-\udbff]/.test(s.charAt(n - 1)) ? s.slice(0, n - 1) : s.slice(0, n); }
  function tailFrom(s, n) {
    let i = s.length - n;
    if (/[\udc00-\udfff]/.test(s.charAt(i))) i += 1;
    return s.slice(i);
  }
  function escaped(parent, s) {
    let last = 0;
    s.replace(INVISIBLE, (ch, at) => {
      if (at > last) add(parent, s.slice(last, at));
      add(parent, el('span', { class: 'esc' }, escapeOf(ch)));
      last = at + ch.length;
      return ch;
    });
    if (last < s.length) add(parent, s.slice(last));
  }

  // A span showing untrusted text: escapes made visible, shortened to about `max` characters in place.
  function text(s, opts) {
    const o = Object.assign({ max: 80, copy: false, mono: false }, opts || {});
    const span = el('span', { class: o.mono ? 'txt mono' : 'txt', title: tooltip(s) });
    if (s.length > o.max) {
      const tail = Math.max(8, Math.floor(o.max / 4));
      escaped(span, cutAt(s, o.max - tail - 1));
      add(span, el('span', { class: 'cut' }, '…'));
      escaped(span, tailFrom(s, tail));
    } else {
      escaped(span, s);
    }
    if (o.copy) {
      const box = el('span', { class: 'copyable' }, span, copyButton(s));
      return box;
    }
    return span;
  }

  function copyButton(s) {
    const b = el('button', { class: 'copy', type: 'button', title: 'copy the whole text (' + int(s.length) + ' characters)' }, 'copy');
    b.addEventListener('click', (ev) => {
      ev.stopPropagation();
      const done = () => {
        b.classList.add('done'); b.textContent = 'copied';
        setTimeout(() => { b.classList.remove('done'); b.textContent = 'copy'; }, 1200);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(s).then(done, () => { if (legacyCopy(s)) done(); });
      } else if (legacyCopy(s)) {
        done();
      }
    });
    return b;
  }

  function legacyCopy(s) {
    const ta = el('textarea', { 'aria-hidden': 'true' });
    ta.value = s;
    ta.style.position = 'fixed'; ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    ta.remove();
    return ok;
  }

  // ---- colours ------------------------------------------------------------------------------------

  const TYPE_COLORS = { string: '#4e79a7', hash: '#f28e2b', list: '#59a14f', set: '#b07aa1', zset: '#e15759',
                        stream: '#76b7b2' };
  const MORE_COLORS = ['#9c755f', '#d4a72c', '#ff9da7', '#8c8c8c', '#6b5b95'];
  const typeSlots = {};
  function typeColor(t) {
    if (TYPE_COLORS[t]) return TYPE_COLORS[t];
    if (!(t in typeSlots)) typeSlots[t] = MORE_COLORS[Object.keys(typeSlots).length % MORE_COLORS.length];
    return typeSlots[t];
  }
  // Mix a #rrggbb colour with white (f > 0) or black (f < 0).
  function shade(hex, f) {
    const n = parseInt(hex.slice(1), 16);
    const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => Math.round(f >= 0 ? c + (255 - c) * f : c * (1 + f)));
    return 'rgb(' + ch.join(',') + ')';
  }
  function muted(hex) {        // "(other …)" tiles: the type's colour, greyed
    const n = parseInt(hex.slice(1), 16);
    const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    const g = (ch[0] + ch[1] + ch[2]) / 3;
    return 'rgb(' + ch.map((c) => Math.round(c * 0.45 + g * 0.55)).join(',') + ')';
  }

  // ---- generic tables ---------------------------------------------------------------------------

  const SHOW_ROWS = 25;
  const COPY_COLS = /(^|_)(key|subject|pattern|source|file)$/;

  const ID_COLS = /(^|_)(db|slot|rank|step|version|index|port)$/;

  function columnKind(name, values) {
    const v = values.find((x) => x !== null && x !== undefined);
    if (typeof v === 'number') {
      if (ID_COLS.test(name)) return 'id';
      if (isShareCol(name)) return 'share';
      if (isBytesCol(name)) return 'bytes';
      if (isSecondsCol(name)) return 'seconds';
      return 'number';
    }
    if (typeof v === 'boolean') return 'bool';
    if (typeof v === 'string' && values.every((x) => x === null || x === undefined || ISO_TIME.test(x))) return 'time';
    if (v !== null && typeof v === 'object') return 'json';
    return 'text';
  }

  function cellContent(name, kind, v) {
    if (v === null || v === undefined) return '–';
    if (kind === 'bytes' || kind === 'share' || kind === 'seconds' || kind === 'number' || kind === 'id') {
      return typeof v === 'number' ? figure(v, kind) : text(String(v));
    }
    if (kind === 'bool') return v ? 'yes' : 'no';
    if (kind === 'time') return el('span', { title: v }, when(v));
    if (kind === 'json' || typeof v !== 'string') return text(JSON.stringify(v), { max: 120 });
    if (COPY_COLS.test(name)) return text(v, { max: 80, mono: true, copy: v.length > 0 });
    return text(v, { max: 600 });
  }

  function searchText(kind, v) {
    if (v === null || v === undefined) return '';
    if (kind === 'bytes') return v + ' ' + human(v);
    if (kind === 'share') return pct(v);
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function humanName(name) { return name.replace(/_/g, ' '); }

  function facts(rows, secName, tname) {
    const row = rows[0];
    const dl = el('dl', { class: 'facts', 'data-section': secName, 'data-table': tname });
    for (const name of Object.keys(row)) {
      const kind = columnKind(name, [row[name]]);
      add(dl, [el('dt', null, name), el('dd', null, cellContent(name, kind, row[name]))]);
    }
    return dl;
  }

  function dataTable(secName, tname, rows, multi) {
    const box = el('div', { class: 'tablebox' });
    const head = el('div', { class: 'tablehead' });
    if (multi) add(head, el('h3', null, humanName(tname)));
    add(box, head);
    if (!rows.length) {
      add(head, el('span', { class: 'count' }, 'none'));
      return box;
    }
    const cols = Object.keys(rows[0]);
    if (rows.length === 1 && cols.length > 4) {
      add(box, facts(rows, secName, tname));
      return box;
    }
    const kinds = cols.map((c) => columnKind(c, rows.map((r) => r[c])));
    const numeric = kinds.map((k) => k === 'bytes' || k === 'share' || k === 'seconds' || k === 'number' || k === 'id');
    // prose (notes, verdicts, details) wraps; keys, numbers and times stay on one line and the table scrolls
    const prose = cols.map((c, i) => (kinds[i] === 'text' || kinds[i] === 'json') && !COPY_COLS.test(c)
                                     && rows.some((r) => typeof r[c] === 'string' && r[c].length > 40));
    const counter = el('span', { class: 'count' }, rows.length === 1 ? '1 row' : int(rows.length) + ' rows');
    const filter = el('input', { type: 'search', placeholder: 'filter rows…', 'aria-label': 'filter ' + tname });
    add(head, [counter, filter]);
    const table = el('table', { class: 'data', 'data-section': secName, 'data-table': tname });
    const thead = el('thead');
    const tr = el('tr');
    const ths = cols.map((c, i) => {
      const th = el('th', { class: numeric[i] ? 'num' : null, 'aria-sort': 'none', 'data-column': c },
                    el('button', { type: 'button', title: 'sort by ' + c }, c));
      th.firstChild.addEventListener('click', () => sortBy(i));
      return th;
    });
    add(tr, ths); add(thead, tr); add(table, thead);
    const tbody = el('tbody');
    add(table, tbody);
    const items = rows.map((row, index) => {
      const r = el('tr');
      const cells = cols.map((c, i) => {
        const v = row[c];
        const td = el('td', { class: [numeric[i] ? 'num' : '', prose[i] ? 'wrap' : '', v === null || v === undefined ? 'null' : '']
                                .filter(Boolean).join(' ') || null },
                      cellContent(c, kinds[i], v));
        return td;
      });
      add(r, cells);
      const hay = cols.map((c, i) => searchText(kinds[i], row[c])).join('\u0001').toLowerCase();
      return { tr: r, row, index, hay };
    });
    let order = items.slice();
    let showAll = rows.length <= SHOW_ROWS;
    const more = el('button', { class: 'showall', type: 'button' });
    more.addEventListener('click', () => { showAll = !showAll; draw(); });

    function draw() {
      const q = filter.value.trim().toLowerCase();
      const shown = order.filter((it) => !q || it.hay.includes(q));
      const limit = showAll || q ? shown.length : SHOW_ROWS;
      tbody.replaceChildren(...shown.slice(0, limit).map((it) => it.tr));
      counter.textContent = (q ? int(shown.length) + ' of ' : '') + (rows.length === 1 ? '1 row' : int(rows.length) + ' rows');
      if (rows.length > SHOW_ROWS && !q) {
        more.textContent = showAll ? 'show the first ' + SHOW_ROWS : 'show all ' + int(rows.length) + ' rows';
        if (!more.isConnected) add(box, more);
      } else if (more.isConnected) {
        more.remove();
      }
    }

    let sorted = -1, dir = 0;
    function sortBy(i) {
      dir = sorted === i ? -dir : (numeric[i] ? -1 : 1);     // numbers: biggest first
      sorted = i;
      const c = cols[i];
      order = items.slice().sort((a, b) => {
        const x = a.row[c], y = b.row[c];
        if (x === null || x === undefined) return (y === null || y === undefined) ? a.index - b.index : 1;
        if (y === null || y === undefined) return -1;
        let d;
        if (typeof x === 'number' && typeof y === 'number') d = x - y;
        else if (typeof x === 'boolean') d = Number(x) - Number(y);
        else d = String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
        return d * dir || a.index - b.index;
      });
      ths.forEach((th, j) => th.setAttribute('aria-sort', j === i ? (dir > 0 ? 'ascending' : 'descending') : 'none'));
      draw();
    }
    filter.addEventListener('input', draw);
    add(box, el('div', { class: 'scroll' }, table));
    draw();
    return box;
  }

  // ---- chart pieces -------------------------------------------------------------------------------

  function chart(name, caption, hint, body) {
    return el('figure', { class: 'chart', 'data-chart': name },
              el('figcaption', null, caption, hint ? el('span', { class: 'hint' }, hint) : null), body);
  }

  function legend(entries) {
    return el('div', { class: 'legend' }, entries.map(([label, color, cls]) => {
      const sw = el('span', { class: 'sw' + (cls ? ' ' + cls : '') });
      if (color) sw.style.background = color;
      return el('span', null, sw, label);
    }));
  }

  // Bar labels: strings are data (keys, patterns: shortened, monospace); our own words come as Nodes (plain()).
  function label(v, max) { return typeof v === 'string' ? text(v, { max: max || 60, mono: true }) : v; }
  function plain(s) { return document.createTextNode(s); }

  /* Horizontal bars: items [{label, value, color, extra, overlay, title}], o.kind 'bytes' | 'number'. */
  function bars(items, o) {
    o = o || {};
    const max = o.max || Math.max(1, ...items.map((it) => Math.abs(it.value || 0)));
    const box = el('div', { class: 'bars' + (o.diverging ? ' diverging' : '') });
    for (const it of items) {
      const v = it.value || 0;
      const track = el('div', { class: 'track' });
      const mark = el('div', { class: 'mark', 'data-value': it.value === null || it.value === undefined ? '' : it.value,
                               title: it.title || null });
      const w = Math.min(100, Math.abs(v) / max * (o.diverging ? 50 : 100));
      mark.style.width = w + '%';
      if (o.diverging) mark.style.left = (v >= 0 ? 50 : 50 - w) + '%';
      mark.style.background = it.color || (o.diverging ? (v >= 0 ? 'var(--grow)' : 'var(--shrink)') : 'var(--mark)');
      add(track, mark);
      if (it.overlay) {
        const ov = el('div', { class: 'overlay', title: it.overlayTitle || null });
        ov.style.width = Math.min(100, it.overlay / max * 100) + '%';
        add(track, ov);
      }
      if (it.rule !== undefined && it.rule !== null && it.rule > 0) {
        const rule = el('div', { class: 'rule', title: it.ruleTitle || null });
        rule.style.left = Math.min(99.5, it.rule / max * 100) + '%';
        add(track, rule);
      }
      const value = o.kind === 'bytes'
        ? el('span', { title: exact(it.value) }, o.diverging ? signedHuman(v) : human(it.value))
        : el('span', null, o.diverging && v > 0 ? '+' + int(v) : int(it.value));
      add(box, [el('div', { class: 'blabel' }, label(it.label), it.sub ? [el('br'), el('small', { class: 'detail' }, it.sub)] : null),
                track,
                el('div', { class: 'bvalue' }, value, it.extra ? el('span', { class: 'extra' }, it.extra) : null)]);
    }
    return box;
  }

  /* One stacked bar: parts [{label, value, color}] of a whole. */
  function stack(parts, kind) {
    const total = sum(parts.map((p) => p.value));
    const bar = el('div', { class: 'stack' });
    for (const p of parts) {
      if (!p.value) continue;
      const seg = el('div', { class: 'mark', 'data-value': p.value,
                              title: p.label + ': ' + (kind === 'bytes' ? human(p.value) + ' (' + exact(p.value) + ')' : int(p.value))
                                     + ', ' + pct(p.value / total) });
      seg.style.width = (p.value / total * 100) + '%';
      seg.style.background = p.color;
      add(bar, seg);
    }
    return el('div', null, bar, legend(parts.filter((p) => p.value).map((p) => [
      p.label + ' ' + (kind === 'bytes' ? human(p.value) : int(p.value)) + ' (' + pct(p.value / total) + ')', p.color])));
  }

  function card(labelText, value, detail, cls) {
    return el('div', { class: 'card' + (cls ? ' ' + cls : '') },
              el('div', { class: 'label' }, labelText),
              el('div', { class: 'value', title: typeof value === 'string' ? value : null }, value),
              detail ? el('div', { class: 'detail' }, detail) : null);
  }

  function toggle(options, current, onChange) {
    const box = el('span', { class: 'toggle', role: 'group' });
    const buttons = options.map(([value, text]) => {
      const b = el('button', { type: 'button', 'aria-pressed': value === current ? 'true' : 'false', 'data-mode': value }, text);
      b.addEventListener('click', () => {
        buttons.forEach((x) => x.setAttribute('aria-pressed', x === b ? 'true' : 'false'));
        onChange(value);
      });
      return b;
    });
    add(box, buttons);
    return box;
  }

  const t = (sec, name) => (sec && sec.tables && sec.tables[name]) || [];
  const basename = (p) => String(p).split(/[\\/]/).pop();

  // ---- the treemap ----------------------------------------------------------------------------------

  function memoryTree(sec) {
    const root = { name: 'all keys', value: 0, keys: 0, children: [], kind: 'root' };
    const types = new Map(), patterns = new Map();
    for (const p of t(sec, 'patterns')) {
      let ty = types.get(p.type);
      if (!ty) {
        ty = { name: p.type, type: p.type, value: 0, keys: 0, children: [], parent: root, kind: 'type' };
        types.set(p.type, ty);
        root.children.push(ty);
      }
      const node = { name: p.pattern, type: p.type, value: p.memory_bytes || 0, keys: p.keys, parent: ty,
                     kind: p.other ? 'other' : 'pattern', children: p.other ? null : [] };
      ty.children.push(node);
      ty.value += node.value; ty.keys += p.keys || 0;
      if (!p.other) patterns.set(p.type + '\u0000' + p.pattern, node);
    }
    for (const k of t(sec, 'keys')) {
      const pn = patterns.get(k.type + '\u0000' + k.pattern);
      if (!pn) continue;
      pn.children.push({ name: k.other ? '(other ' + int(k.keys) + ' keys)' : k.key, type: k.type, db: k.db,
                         value: k.memory_bytes || 0, keys: k.keys, parent: pn, kind: k.other ? 'other' : 'key',
                         children: null });
    }
    for (const ty of root.children) { root.value += ty.value; root.keys += ty.keys; }
    for (const pn of patterns.values()) if (!pn.children.length) pn.children = null;
    return root;
  }

  // Squarified treemap layout (Bruls, Huizing, van Wijk) of nodes sorted by value, biggest first.
  function squarify(nodes, x, y, w, h) {
    const total = sum(nodes.map((n) => n.value));
    const out = [];
    if (total <= 0 || w <= 0 || h <= 0) return out;
    const scale = w * h / total;
    const items = nodes.filter((n) => n.value > 0).map((n) => ({ node: n, area: n.value * scale }));
    let row = [];
    const worst = (r, side) => {
      const s = sum(r.map((i) => i.area));
      const mx = Math.max(...r.map((i) => i.area)), mn = Math.min(...r.map((i) => i.area));
      return Math.max(side * side * mx / (s * s), (s * s) / (side * side * mn));
    };
    const place = (r) => {
      const s = sum(r.map((i) => i.area));
      if (w >= h) {
        const cw = s / h;
        let cy = y;
        for (const it of r) { const ch = it.area / cw; out.push({ node: it.node, x, y: cy, w: cw, h: ch }); cy += ch; }
        x += cw; w -= cw;
      } else {
        const ch = s / w;
        let cx = x;
        for (const it of r) { const cw = it.area / ch; out.push({ node: it.node, x: cx, y, w: cw, h: ch }); cx += cw; }
        y += ch; h -= ch;
      }
    };
    let i = 0;
    while (i < items.length) {
      const side = Math.min(w, h);
      if (!row.length || worst(row.concat([items[i]]), side) <= worst(row, side)) { row.push(items[i]); i++; }
      else { place(row); row = []; }
    }
    if (row.length) place(row);
    return out;
  }

  function nodeColor(n, i) {
    const base = typeColor(n.type || n.name);
    if (n.kind === 'other') return muted(base);
    if (n.kind === 'pattern') return shade(base, i % 2 ? 0.16 : 0);
    if (n.kind === 'key') return shade(base, i % 2 ? -0.1 : 0.08);
    return base;
  }

  function nodePath(n) { const p = []; for (let x = n; x; x = x.parent) p.unshift(x); return p; }

  function nodeTip(n) {
    const path = nodePath(n).slice(1).map((x) => {
      const s = x.kind === 'key' ? 'key ' + (x.db !== null && x.db !== undefined ? '(db ' + x.db + ') ' : '') + x.name : x.name;
      return s.length > 300 ? visible(cutAt(s, 300)) + '…' : visible(s);
    });
    const root = nodePath(n)[0];
    const lines = [path.join('  ›  ') || 'all keys', human(n.value) + ' (' + exact(n.value) + ')'];
    if (n.parent && n.parent.value) lines.push(pct(n.value / n.parent.value) + ' of ' + (n.parent.kind === 'root' ? 'all key memory' : visible(cutAt(n.parent.name, 120))));
    if (n.parent && n.parent !== root && root.value) lines.push(pct(n.value / root.value) + ' of all key memory');
    if (n.kind !== 'key') lines.push(int(n.keys) + (n.keys === 1 ? ' key' : ' keys'));
    if (n.children && n.children.length) lines.push('click to zoom in');
    return lines.join('\n');
  }

  function treemapChart(sec) {
    const root = memoryTree(sec);
    if (!root.value) return null;
    const box = el('div', { class: 'treemap', role: 'group', 'aria-label': 'memory treemap', tabindex: '-1' });
    const crumbs = el('div', { class: 'crumbs', 'aria-label': 'treemap level' });
    let current = root;
    const LABEL = 20;

    function zoom(n) { if (n) { current = n; draw(); const f = box.querySelector('.tile'); if (f) f.focus({ preventScroll: true }); } }

    function draw() {
      const W = box.clientWidth, H = box.clientHeight;
      if (!W || !H) return;
      crumbs.replaceChildren();
      nodePath(current).forEach((n, i, path) => {
        if (i) add(crumbs, el('span', { class: 'sep' }, '›'));
        const name = n.kind === 'root' ? 'all keys' : n.name;
        if (i < path.length - 1) {
          const b = el('button', { type: 'button', title: visible(cutAt(name, 500)) }, text(name, { max: 40 }));
          b.addEventListener('click', () => zoom(n));
          add(crumbs, b);
        } else {
          add(crumbs, el('span', { class: 'here' }, text(name, { max: 60 }), ' · ', el('span', { title: exact(n.value) }, human(n.value)),
                         n.kind === 'root' ? '' : ' (' + pct(root.value ? n.value / root.value : 0) + ' of all)'));
        }
      });
      box.replaceChildren();
      const kids = (current.children || []).filter((c) => c.value > 0).sort((a, b) => b.value - a.value);
      if (!kids.length) { add(box, el('div', { class: 'empty' }, 'no memory to show at this level')); return; }
      squarify(kids, 0, 0, W, H).forEach((r, i) => {
        const n = r.node;
        const zoomable = !!(n.children && n.children.length);
        const tile = el('div', { class: 'tile mark ' + (zoomable ? 'zoomable' : 'leaf'), tabindex: '0', role: 'button',
                                 'data-value': n.value, 'data-kind': n.kind, title: nodeTip(n),
                                 'aria-label': visible(cutAt(n.name, 200)) + ', ' + human(n.value) });
        tile.style.left = (r.x / W * 100) + '%'; tile.style.top = (r.y / H * 100) + '%';
        tile.style.width = (r.w / W * 100) + '%'; tile.style.height = (r.h / H * 100) + '%';
        tile.style.background = nodeColor(n, i);
        if (r.w > 34 && r.h > 16) {
          add(tile, el('div', { class: 'tlabel' }, text(n.name, { max: 240 }),
                       el('span', { class: 'v' }, human(n.value) + (r.w > 150 ? ' · ' + pct(n.value / current.value) : ''))));
        }
        if (zoomable && r.w > 60 && r.h > LABEL + 24) {
          const inner = n.children.filter((c) => c.value > 0).sort((a, b) => b.value - a.value);
          squarify(inner, 0, 0, r.w - 6, r.h - LABEL - 4).forEach((s, j) => {
            const sub = el('div', { class: 'sub', title: nodeTip(s.node) });
            sub.style.left = (3 + s.x) + 'px'; sub.style.top = (LABEL + 1 + s.y) + 'px';
            sub.style.width = Math.max(0, s.w) + 'px'; sub.style.height = Math.max(0, s.h) + 'px';
            sub.style.background = s.node.kind === 'other' ? 'rgba(0,0,0,.18)' : (j % 2 ? 'rgba(255,255,255,.14)' : 'rgba(255,255,255,.06)');
            if (s.w > 44 && s.h > 15) add(sub, el('div', { class: 'slabel' }, text(s.node.name, { max: 240 })));
            add(tile, sub);
          });
        }
        if (zoomable) {
          tile.addEventListener('click', () => zoom(n));
          tile.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); zoom(n); } });
        }
        add(box, tile);
      });
    }

    box.addEventListener('keydown', (ev) => {
      if ((ev.key === 'Escape' || ev.key === 'Backspace') && current.parent) { ev.preventDefault(); zoom(current.parent); }
    });
    let pending = 0;
    new ResizeObserver(() => { cancelAnimationFrame(pending); pending = requestAnimationFrame(draw); }).observe(box);
    const types = root.children.slice().sort((a, b) => b.value - a.value);
    return chart('treemap', 'Memory treemap', 'type › pattern › biggest keys; click a tile to zoom in, Esc or the path above to zoom out',
                 el('div', null, crumbs, box, legend(types.map((ty) => [ty.name + ' ' + human(ty.value), typeColor(ty.name)]))));
  }

  // ---- section charts -------------------------------------------------------------------------------

  function summaryCharts(sec) {
    const out = [];
    const o = t(sec, 'overview')[0];
    if (o) {
      const cards = [
        card('keys', int(o.keys), o.dbs + (o.dbs === 1 ? ' database' : ' databases') + (o.files > 1 ? ' in ' + o.files + ' files' : '')),
        card('key memory (estimate)', el('span', { title: exact(o.memory_bytes) }, human(o.memory_bytes)),
             o.keyspace_overhead_bytes !== null ? '+ ' + human(o.keyspace_overhead_bytes) + ' keyspace tables = ' + human(o.estimated_total) : null),
        card('used_mem (the dump says)', el('span', { title: exact(o.used_mem) }, o.used_mem === null ? 'unknown' : human(o.used_mem)),
             o.estimated_share_of_used_mem !== null ? 'the estimate is ' + pct(o.estimated_share_of_used_mem) + ' of it' : null),
        card('memory with a TTL', pct(o.memory_with_ttl_share), int(o.keys_with_ttl) + ' keys (' + pct(o.keys_with_ttl_share) + ')',
             o.memory_with_ttl_share !== null && o.memory_with_ttl_share < 0.1 ? 'warn' : null),
        card('server', o.server || 'unknown', (o.magic || '') + (o.rdb_version ? ', RDB ' + o.rdb_version : '')),
        card('snapshot', el('span', { title: o.snapshot_time || '' }, o.snapshot_time ? when(o.snapshot_time).slice(0, 10) : 'unknown'),
             (o.snapshot_time ? when(o.snapshot_time).slice(11) + ' · ' : '') + 'memory model: ' + (o.memory_model || '?')
             + (o.what_if ? ' (what-if)' : '')),
      ];
      if (o.partial) cards.push(card('partial', 'yes', 'a dump was cut short: keys after the fault are missing', 'bad'));
      out.push(el('div', { class: 'cards', 'data-chart': 'overview' }, cards));
    }
    const byType = t(sec, 'by_type'), byEnc = t(sec, 'by_encoding');
    if (byType.length) {
      const encodings = {};
      byEnc.forEach((r) => { (encodings[r.type] = encodings[r.type] || []).push(r); });
      const max = Math.max(1, ...byType.map((r) => r.memory_bytes));
      const box = el('div', { class: 'bars' });
      for (const r of byType) {
        const track = el('div', { class: 'track' });
        let left = 0;
        (encodings[r.type] || []).forEach((e, i) => {
          const seg = el('div', { class: 'seg mark', 'data-value': e.memory_bytes,
                                  title: r.type + ' / ' + e.encoding + ': ' + human(e.memory_bytes) + ' (' + exact(e.memory_bytes) + '), '
                                         + int(e.keys) + ' keys, ' + human(e.avg_bytes) + ' per key' });
          seg.style.left = (left / max * 100) + '%';
          seg.style.width = (e.memory_bytes / max * 100) + '%';
          seg.style.background = shade(typeColor(r.type), i % 2 ? 0.35 : 0);
          left += e.memory_bytes;
          add(track, seg);
        });
        const encs = (encodings[r.type] || []).map((e) => e.encoding + ' ' + human(e.memory_bytes)).join(', ');
        add(box, [el('div', { class: 'blabel', title: encs }, r.type, el('span', { class: 'extra' }, '  ' + count(r.keys, 'key'))),
                  track,
                  el('div', { class: 'bvalue' }, el('span', { title: exact(r.memory_bytes) }, human(r.memory_bytes)),
                     el('span', { class: 'extra' }, pct(r.memory_share)))]);
      }
      out.push(chart('by-type', 'Memory by type and encoding', 'segments: encodings (hover for each)', box));
    }
    const byDb = t(sec, 'by_db');
    if (byDb.length > 1) {
      out.push(chart('by-db', 'Memory by database', null, bars(byDb.map((r) => ({
        label: plain('db ' + r.db), value: r.memory_bytes, extra: count(r.keys, 'key') })), { kind: 'bytes' })));
    }
    return out;
  }

  // A fleet: one bar per dump (the per-shard view), and the rebalance plan's shards before and after.
  function shardsCharts(sec) {
    const out = [];
    const f = t(sec, 'fleet')[0];
    if (f) {
      out.push(el('div', { class: 'cards', 'data-chart': 'fleet' },
        card('dumps', int(f.dumps), count(f.keys, 'key')),
        card('key memory', el('span', { title: exact(f.memory_bytes) }, human(f.memory_bytes)),
             f.used_mem === null ? null : 'used_mem ' + human(f.used_mem)),
        card('mean shard', el('span', { title: exact(f.mean_shard_bytes) }, human(f.mean_shard_bytes)),
             'smallest ' + human(f.smallest_shard_bytes)),
        card('largest shard', el('span', { title: exact(f.largest_shard_bytes) }, human(f.largest_shard_bytes)),
             num(f.largest_to_mean || 0, 2) + '× the mean', f.shards_above_1_5x_mean > 0 ? 'warn' : null)));
    }
    const rows = t(sec, 'shards');
    if (rows.length) {
      const max = Math.max(1, ...rows.map((r) => Math.max(r.memory_bytes || 0, r.used_mem || 0)));
      out.push(chart('shards', 'Memory per dump', 'bar: key memory; red line: the dump\'s used_mem', bars(rows.map((r) => ({
        label: r.shard, value: r.memory_bytes, rule: r.used_mem, ruleTitle: 'used_mem ' + human(r.used_mem),
        color: r.flags ? 'var(--warn)' : 'var(--mark)',
        extra: pct(r.memory_share) + ', ' + signedPct(r.deviation_from_mean) + ' vs mean',
        sub: r.flags || (r.server || '') + ' · ' + count(r.keys, 'key'),
        title: String(r.source) + '\n' + human(r.memory_bytes) + ' (' + exact(r.memory_bytes) + ')' })), { kind: 'bytes', max })));
    }
    return out;
  }

  function rebalanceCharts(sec) {
    const out = [];
    const s = t(sec, 'summary')[0];
    if (s) {
      out.push(el('div', { class: 'cards', 'data-chart': 'rebalance-summary' },
        card('moves', int(s.moves), int(s.slots_moved) + ' slots, ' + count(s.keys_moved, 'key')),
        card('memory moved', el('span', { title: exact(s.memory_moved) }, human(s.memory_moved))),
        card('largest shard / mean', num(s.largest_to_mean_after || 0, 2) + '×', 'was ' + num(s.largest_to_mean_before || 0, 2) + '×')));
    }
    const rows = t(sec, 'shards');
    if (rows.length) {
      const max = Math.max(1, ...rows.map((r) => Math.max(r.memory_before || 0, r.memory_after || 0)));
      out.push(chart('rebalance', 'Shards after the plan', 'bar: memory after; red line: before', bars(rows.map((r) => ({
        label: r.shard, value: r.memory_after, rule: r.memory_before, ruleTitle: 'before: ' + human(r.memory_before),
        extra: signedHuman(r.memory_delta), sub: int(r.keys_before) + ' → ' + count(r.keys_after, 'key'),
        title: human(r.memory_before) + ' → ' + human(r.memory_after) + ' (' + exact(r.memory_after) + ')' })), { kind: 'bytes', max })));
    }
    return out;
  }

  function sizesCharts(sec) {
    const overall = t(sec, 'overall'), byType = t(sec, 'by_type');
    if (!overall.length) return [];
    const lo = Math.min(...overall.map((r) => r.size_from)), hi = Math.max(...overall.map((r) => r.size_from));
    const buckets = [];
    for (let b = lo; b <= hi; b *= 2) buckets.push(b);
    const types = [...new Set(byType.map((r) => r.type))];
    const cell = {};
    byType.forEach((r) => { cell[r.type + '\u0000' + r.size_from] = r; });
    const total = {};
    overall.forEach((r) => { total[r.size_from] = r; });
    const short = (b) => b < 1024 ? b + ' B' : b < 1048576 ? (b / 1024) + ' KiB' : b < 1073741824 ? (b / 1048576) + ' MiB' : (b / 1073741824) + ' GiB';
    const area = el('div');
    let mode = 'keys';
    function draw() {
      const field = mode === 'keys' ? 'keys' : 'memory_bytes';
      const max = Math.max(1, ...overall.map((r) => r[field]));
      const cols = el('div', { class: 'columns' });
      [0.25, 0.5, 0.75, 1].forEach((f) => {
        const gl = el('div', { class: 'gl' }, el('span', null, mode === 'keys' ? int(max * f) : human(max * f)));
        gl.style.bottom = (f * 100) + '%';
        add(cols, gl);
      });
      for (const b of buckets) {
        const tot = total[b];
        const col = el('div', { class: 'col', 'data-size-from': b, 'data-total': tot ? tot[field] : 0,
                                title: (tot ? tot.size : short(b)) + '\n' + (tot ? int(tot.keys) + ' keys (' + pct(tot.keys_share) + '), '
                                  + human(tot.memory_bytes) + ' (' + pct(tot.memory_share) + ' of memory)' : 'no keys') });
        for (const ty of types) {
          const r = cell[ty + '\u0000' + b];
          if (!r) continue;
          const seg = el('div', { class: 'mark', 'data-value': r[field],
                                  title: ty + ', ' + r.size + ': ' + int(r.keys) + ' keys, ' + human(r.memory_bytes) + ' (' + exact(r.memory_bytes) + ')' });
          seg.style.height = (r[field] / max * 100) + '%';
          seg.style.background = typeColor(ty);
          add(col, seg);
        }
        add(cols, col);
      }
      const step = Math.ceil(buckets.length / 16);
      const xl = el('div', { class: 'xlabels' }, buckets.map((b, i) => el('span', null, i % step ? '' : short(b))));
      area.replaceChildren(cols, xl, legend(types.map((ty) => [ty, typeColor(ty)])));
    }
    draw();
    const sw = toggle([['keys', 'keys'], ['memory', 'memory']], mode, (m) => { mode = m; draw(); });
    const fig = chart('sizes', 'Key sizes', 'keys per size bucket (each twice the one before), by type', area);
    add(fig.firstChild, sw);
    return [fig];
  }

  function bigkeysCharts(sec) {
    const rows = t(sec, 'by_memory');
    if (!rows.length) return [];
    return [chart('bigkeys', 'Biggest keys by memory', null, bars(rows.map((r) => ({
      label: r.key, value: r.memory_bytes, color: typeColor(r.type),
      extra: r.type + (r.length !== null ? ', ' + int(r.length) + (r.type === 'string' ? ' B' : ' el.') : ''),
      title: 'db ' + r.db + ' · ' + r.type + '/' + r.encoding + '\n' + human(r.memory_bytes) + ' (' + exact(r.memory_bytes) + ')' })),
      { kind: 'bytes' })), legend([...new Set(rows.map((r) => r.type))].map((ty) => [ty, typeColor(ty)]))];
  }

  function patternsCharts(sec) {
    const rows = t(sec, 'patterns');
    if (!rows.length) return [];
    return [chart('patterns', 'Memory per key pattern', 'hatched: memory in keys without a TTL', el('div', null, bars(rows.map((r) => ({
      label: r.pattern, value: r.memory_bytes,
      overlay: r.memory_no_ttl_share === null ? 0 : r.memory_bytes * r.memory_no_ttl_share,
      overlayTitle: pct(r.memory_no_ttl_share) + ' of this pattern\'s memory has no TTL',
      extra: pct(r.memory_share) + ', ' + count(r.keys, 'key'),
      title: human(r.memory_bytes) + ' (' + exact(r.memory_bytes) + ')\n' + int(r.keys) + ' keys, ' + human(r.avg_bytes) + ' each on average' })),
      { kind: 'bytes' }), legend([['memory', 'var(--mark)'], ['without TTL', null, 'hatch']])))];
  }

  function nottlCharts(sec) {
    const out = [];
    const tot = t(sec, 'totals')[0];
    if (tot) {
      out.push(el('div', { class: 'cards', 'data-chart': 'nottl-totals' },
        card('memory without TTL', el('span', { title: exact(tot.memory_no_ttl) }, human(tot.memory_no_ttl)), pct(tot.memory_no_ttl_share) + ' of key memory',
             tot.memory_no_ttl_share > 0.9 ? 'warn' : null),
        card('keys without TTL', int(tot.keys_no_ttl), pct(tot.keys_no_ttl_share) + ' of keys')));
    }
    const rows = t(sec, 'by_pattern');
    if (rows.length) {
      out.push(chart('nottl', 'Memory without TTL per pattern', 'mixed: some keys of the pattern have a TTL, some not (a missed EXPIRE?)', bars(rows.map((r) => ({
        label: r.pattern, value: r.memory_no_ttl, color: r.hint ? 'var(--warn)' : 'var(--mark)',
        extra: pct(r.share_of_no_ttl_memory) + ', ' + count(r.keys_no_ttl, 'key') + (r.hint ? ', mixed' : ''),
        title: (r.hint ? r.hint + '\n' : '') + human(r.memory_no_ttl) + ' (' + exact(r.memory_no_ttl) + ')' })), { kind: 'bytes' })));
    }
    return out;
  }

  const TTL_COLORS = { 'expired': '#c0392b', '< 1 minute': '#e8590c', '1 minute - 1 hour': '#f08c00', '1 hour - 1 day': '#e9b949',
                       '1 day - 1 week': '#82b440', '1 week - 30 days': '#2f9e44', '>= 30 days': '#1c7ed6', 'no TTL': '#868e96',
                       'TTL, snapshot time unknown': '#b8bec6' };

  function ttlCharts(sec) {
    const out = [];
    const dist = t(sec, 'distribution');
    const expiring = t(sec, 'expiring');
    if (expiring.length) {
      const total = sum(dist.map((r) => r.memory_bytes));
      const never = dist.find((r) => r.ttl === 'no TTL');
      const items = expiring.map((r) => ({ label: plain(r.within === 'already expired' ? 'already expired' : 'within ' + r.within),
                                           value: r.memory_bytes, extra: total ? pct(r.memory_bytes / total) : '',
                                           sub: count(r.keys, 'key'), color: 'var(--good)' }));
      items.push({ label: plain('never (no TTL)'), value: never ? never.memory_bytes : 0, sub: count(never ? never.keys : 0, 'key'),
                   extra: total && never ? pct(never.memory_bytes / total) : '', color: '#868e96' });
      out.push(chart('ttl-expiring', 'Memory that expiry frees', 'by the snapshot time plus the window; keys past their TTL count from the start',
                     bars(items, { kind: 'bytes', max: Math.max(1, total) })));
    }
    if (dist.length) {
      out.push(chart('ttl-distribution', 'Memory by time to live', null,
                     stack(dist.map((r) => ({ label: r.ttl, value: r.memory_bytes, color: TTL_COLORS[r.ttl] || '#999' })), 'bytes')));
    }
    return out;
  }

  function idleCharts(sec) {
    const rows = t(sec, 'idle_longer_than');
    if (!rows.length) return [];
    return [chart('idle', 'Memory idle for longer than…', 'from the LRU idle times in the dump', bars(rows.map((r) => ({
      label: plain('idle > ' + r.idle), value: r.memory_bytes, extra: pct(r.memory_share) + ', ' + count(r.keys, 'key') })), { kind: 'bytes' }))];
  }

  function hotCharts(sec) {
    const rows = t(sec, 'frequency');
    if (!rows.length) return [];
    return [chart('hot', 'Memory by LFU counter', 'the counter is logarithmic: 255 is very hot', bars(rows.map((r) => ({
      label: plain('counter ' + r.lfu_counter), value: r.memory_bytes, extra: pct(r.memory_share) + ', ' + count(r.keys, 'key') })), { kind: 'bytes' }))];
  }

  function verdictClass(v) {
    if (!v) return '';
    if (v.startsWith('can relieve')) return 'good';
    if (v.startsWith('only ')) return 'warn';
    return 'bad';
  }

  const VERDICT_COLORS = { good: 'var(--good)', warn: 'var(--warn)', bad: 'var(--bad)' };

  function evictionCharts(sec) {
    const out = [];
    const p = t(sec, 'pressure')[0];
    if (p) {
      out.push(el('div', { class: 'cards', 'data-chart': 'pressure' },
        card('maxmemory', el('span', { title: exact(p.maxmemory) }, human(p.maxmemory))),
        card('used memory', el('span', { title: exact(p.used_memory) }, human(p.used_memory))),
        card('must free', el('span', { title: exact(p.must_free) }, human(p.must_free)), p.must_free > 0 ? 'used memory is above maxmemory' : 'below the limit',
             p.must_free > 0 ? 'bad' : 'good'),
        card('key memory with a TTL', el('span', { title: exact(p.key_memory_with_ttl) }, human(p.key_memory_with_ttl)),
             pct(p.ttl_share) + ' of ' + human(p.key_memory))));
    }
    const rows = t(sec, 'policies');
    if (rows.length) {
      const max = Math.max(1, p ? p.key_memory : 0, p ? p.must_free : 0, ...rows.map((r) => r.evictable_bytes || 0));
      out.push(chart('eviction', 'What each maxmemory-policy could evict', 'bar: evictable memory; hatched: of it, cold; red line: what must be freed', bars(rows.map((r) => ({
        label: plain(r.policy), sub: r.verdict, value: r.evictable_bytes, color: VERDICT_COLORS[verdictClass(r.verdict)] || 'var(--mark)',
        overlay: r.cold_evictable_bytes || 0, overlayTitle: r.cold_evictable_bytes === null ? null : human(r.cold_evictable_bytes) + ' of it cold',
        rule: p ? p.must_free : null, ruleTitle: p ? 'must free ' + human(p.must_free) : null,
        extra: pct(r.evictable_share), title: r.verdict })), { kind: 'bytes', max })));
    }
    const shards = t(sec, 'shards');     // a fleet: each server on its own, the one that runs out first on top
    if (shards.length) {
      const max = Math.max(1, ...shards.map((r) => Math.max(r.key_memory || 0, r.must_free || 0)));
      out.push(chart('eviction-shards', 'What eviction could free on each shard',
        'bar: key memory (what allkeys-* reach); hatched: keys with a TTL (what volatile-* reach); red line: what the shard must free',
        bars(shards.map((r) => ({
          label: r.shard, value: r.key_memory, color: VERDICT_COLORS[verdictClass(r.verdict)] || 'var(--mark)',
          overlay: r.volatile_evictable_bytes, overlayTitle: human(r.volatile_evictable_bytes) + ' with a TTL (' + pct(r.volatile_share) + ')',
          rule: r.must_free, ruleTitle: 'must free ' + human(r.must_free),
          extra: 'uses ' + pct(r.used_share_of_maxmemory) + ' of ' + human(r.maxmemory), sub: r.verdict,
          title: String(r.source) + '\n' + r.verdict })), { kind: 'bytes', max })));
    }
    return out;
  }

  function whatifCharts(sec) {
    const rows = t(sec, 'scenarios');
    if (!rows.length) return [];
    const asIs = rows[0];                 // the dump as it is comes first
    const max = Math.max(1, ...rows.map((r) => r.memory_bytes || 0));
    return [chart('whatif', 'Memory under each scenario', 'bar: the estimate; green: less than as-is, red: more; line: as-is',
      bars(rows.map((r, i) => ({
        label: r.scenario, sub: r.why || null, value: r.memory_bytes,
        color: i === 0 ? 'var(--mark)' : (r.delta_bytes < 0 ? 'var(--good)' : r.delta_bytes > 0 ? 'var(--bad)' : 'var(--mark)'),
        rule: i === 0 ? null : asIs.memory_bytes, ruleTitle: 'as-is ' + human(asIs.memory_bytes),
        extra: i === 0 ? 'as-is' : signedHuman(r.delta_bytes) + ' (' + signedPct(r.delta_share) + ')',
        title: r.scenario + ': ' + int(r.keys_changing_encoding) + ' keys change encoding' })), { kind: 'bytes', max }))];
  }

  const ADVICE = { 'json-strings': 'JSON stored as strings', 'above-listpack-threshold': 'Just above a listpack limit',
                   'bucket-tiny-keys': 'Many tiny keys', 'compress-big-values': 'Big compressible values',
                   'stream-pending': 'Unacknowledged stream entries' };

  function adviceCharts(sec) {
    const rows = t(sec, 'advice');
    if (!rows.length) return [];
    const box = el('div', { class: 'advice' });
    for (const r of rows) {
      const save = r.estimated_saving;
      const bar = el('div', { class: 'savebar' });
      if (save !== null && r.memory_at_stake) {
        const m = el('div', { class: 'mark', 'data-value': save });
        m.style.width = Math.min(100, save / r.memory_at_stake * 100) + '%';
        add(bar, m);
      }
      add(box, el('div', { class: 'card mark', 'data-value': r.memory_at_stake, 'data-advice': r.advice },
        el('h3', null, ADVICE[r.advice] || r.advice),
        el('div', { class: 'subject' }, text(String(r.subject), { max: 70, copy: true, mono: true })),
        el('div', { class: 'nums' },
           el('div', null, el('div', { class: 'label' }, 'memory at stake'), el('div', { class: 'value', title: exact(r.memory_at_stake) }, human(r.memory_at_stake))),
           el('div', null, el('div', { class: 'label' }, 'estimated saving'),
              el('div', { class: 'value', title: save === null ? 'the scan cannot estimate it' : exact(save) },
                 save === null ? 'not estimated' : human(save))),
           el('div', null, el('div', { class: 'label' }, 'keys'), el('div', { class: 'value' }, int(r.keys)))),
        bar,
        el('div', { class: 'detail' }, r.detail)));
    }
    return [chart('advice', 'Memory at stake and what each change saves', 'biggest first; the green bar is the estimated saving', box)];
  }

  function streamsCharts(sec) {
    const rows = t(sec, 'biggest_pel');
    if (!rows.length) return [];
    return [chart('streams', 'Biggest pending entry lists', 'entries read but never acknowledged', bars(rows.map((r) => ({
      label: r.key, value: r.pending, extra: int(r.groups) + ' groups', color: typeColor('stream') })), { kind: 'number' }))];
  }

  function slotsCharts(sec) {
    const out = [];
    const s = t(sec, 'skew')[0];
    if (s) {
      out.push(el('div', { class: 'cards', 'data-chart': 'skew' },
        card('slots used', int(s.slots_used), 'of 16,384'),
        card('biggest slot', el('span', { title: exact(s.max_slot_bytes) }, human(s.max_slot_bytes)), num(s.max_to_avg || 0, 2) + '× the average'),
        card('average slot', el('span', { title: exact(s.avg_slot_bytes) }, human(s.avg_slot_bytes)), 'coefficient of variation ' + num(s.coefficient_of_variation || 0, 3))));
    }
    const rows = t(sec, 'top_slots');
    if (rows.length) {
      out.push(chart('slots', 'Biggest hash slots', null, bars(rows.map((r) => ({
        label: plain('slot ' + r.slot), value: r.memory_bytes, extra: pct(r.memory_share) + ', ' + count(r.keys, 'key'),
        title: r.biggest_key === null ? null : 'biggest key: ' + tooltip(r.biggest_key) })), { kind: 'bytes' })));
    }
    return out;
  }

  const DIFF_BYTES = new Set(['memory_bytes', 'memory_no_ttl_bytes', 'used_mem']);

  function diffCharts(sec) {
    const out = [];
    const totals = t(sec, 'totals');
    if (totals.length) {
      out.push(el('div', { class: 'cards', 'data-chart': 'diff-totals' }, totals.map((r) => {
        const bytes = DIFF_BYTES.has(r.metric);
        const f = (v) => bytes ? human(v) : int(v);
        const value = el('span', { title: bytes ? exact(r.after) : null, 'data-value': r.after }, r.after === null ? 'unknown' : f(r.after));
        const detail = r.before === null ? null
          : 'was ' + f(r.before) + (r.delta !== null ? ', ' + (bytes ? signedHuman(r.delta) : (r.delta > 0 ? '+' : '') + int(r.delta)) : '')
            + (r.growth !== null ? ' (' + signedPct(r.growth) + ')' : '');
        const cls = r.growth > 0.1 && bytes ? 'warn' : null;
        return card(humanName(r.metric.replace(/_bytes$/, '')), value, detail, cls);
      })));
    }
    const diverging = (rows, labelOf) => bars(rows.map((r) => ({
      label: labelOf(r), value: r.memory_delta,
      extra: r.growth === null ? (r.memory_before === 0 ? 'new' : '') : signedPct(r.growth),
      sub: human(r.memory_before) + ' → ' + human(r.memory_after) + ', keys ' + int(r.keys_before) + ' → ' + int(r.keys_after),
      title: signedHuman(r.memory_delta) + ' (' + (r.memory_delta > 0 ? '+' : '') + exact(r.memory_delta) + ')' })), { kind: 'bytes', diverging: true });
    const byPattern = t(sec, 'by_pattern');
    if (byPattern.length) {
      out.push(chart('diff-patterns', 'Growth per pattern', 'right: grew; left: shrank', diverging(byPattern, (r) => r.pattern)));
    }
    const byType = t(sec, 'by_type');
    if (byType.length) out.push(chart('diff-types', 'Growth per type', null, diverging(byType, (r) => r.type)));
    const added = t(sec, 'new_big_keys'), gone = t(sec, 'vanished_big_keys');
    const keyBars = (rows, color) => bars(rows.map((r) => ({
      label: r.key, value: r.memory_bytes, color, extra: r.type,
      title: 'db ' + r.db + ' · ' + r.type + ' · pattern ' + visible(cutAt(String(r.pattern), 200)) + '\n' + exact(r.memory_bytes) })), { kind: 'bytes' });
    if (added.length || gone.length) {
      out.push(el('div', { class: 'grid2' },
        added.length ? chart('diff-new', 'New big keys', null, keyBars(added, 'var(--grow)')) : null,
        gone.length ? chart('diff-vanished', 'Vanished big keys', null, keyBars(gone, 'var(--shrink)')) : null));
    }
    const growers = t(sec, 'top_growers');
    if (growers.length) {
      out.push(chart('diff-growers', 'Keys that grew most', null, bars(growers.map((r) => ({
        label: r.key, value: r.memory_delta, color: 'var(--grow)',
        extra: human(r.memory_before) + ' → ' + human(r.memory_after), title: '+' + exact(r.memory_delta) })), { kind: 'bytes' })));
    }
    return out;
  }

  const CHARTS = { summary: summaryCharts, memmap: (s) => [treemapChart(s)], sizes: sizesCharts, bigkeys: bigkeysCharts,
                   patterns: patternsCharts, nottl: nottlCharts, ttl: ttlCharts, idle: idleCharts, hot: hotCharts,
                   eviction: evictionCharts, whatif: whatifCharts, advice: adviceCharts, streams: streamsCharts, slots: slotsCharts,
                   shards: shardsCharts, rebalance: rebalanceCharts, diff: diffCharts };

  // ---- the page -----------------------------------------------------------------------------------

  const TITLES = { summary: 'Summary', memmap: 'Where the memory goes', bigkeys: 'Biggest keys', sizes: 'Key sizes',
                   patterns: 'Key patterns', nottl: 'Keys without a TTL', ttl: 'Time to live', idle: 'Idle keys (LRU)',
                   hot: 'Hot keys (LFU)', eviction: 'Eviction', advice: 'Advice', streams: 'Streams',
                   slots: 'Cluster hash slots', shards: 'Dumps side by side', rebalance: 'Rebalance plan',
                   diff: 'What changed', whatif: 'What if', query: 'Query' };
  const capital = (x) => x.charAt(0).toUpperCase() + x.slice(1);
  function sectionTitle(name, sec) { return TITLES[name] || capital(sec.title || name); }

  function renderSection(name, sec) {
    const box = el('section', { class: 'report', id: 's-' + name, 'data-section': name },
                   el('h2', null, sectionTitle(name, sec), el('span', { class: 'name' }, name)));
    if (sec.description) {
      const d = sec.description.startsWith(name + ':') ? sec.description.slice(name.length + 1).trim() : sec.description;
      add(box, el('p', { class: 'description' }, name === 'query' ? text(d, { max: 2000, mono: true }) : capital(d)));
    }
    if (sec.notes && sec.notes.length) add(box, el('ul', { class: 'notes' }, sec.notes.map((n) => el('li', null, text(String(n), { max: 600 })))));
    const make = CHARTS[name];
    if (make) {
      try {
        add(box, make(sec).filter(Boolean));
      } catch (e) {
        console.error('rdbscan report: the charts of section ' + name + ' failed:', e);
        add(box, el('p', { class: 'chart-error' }, 'The charts of this section could not be drawn (' + e.message + '); its tables follow.'));
      }
    }
    const tables = Object.entries(sec.tables || {});
    for (const [tname, rows] of tables) add(box, dataTable(name, tname, rows || [], tables.length > 1));
    return box;
  }

  function header() {
    const names = Object.keys(SECTIONS);
    const isDiff = names.length === 1 && names[0] === 'diff';
    const o = t(SECTIONS.summary, 'overview')[0];
    const sub = [];
    if (o && o.server) sub.push(o.server);
    if (o && o.snapshot_time) sub.push(when(o.snapshot_time));
    if (o) sub.push(count(o.keys, 'key'), human(o.memory_bytes));
    const shards = t(SECTIONS.shards, 'shards');
    const sources = shards.length ? shards.map((r) => r.source || r.shard) : (DATA.sources || []);
    let srcText = sources.length === 1 ? sources[0] : int(sources.length) + ' files: ' + sources.map(basename).join(', ');
    if (isDiff && sources.length === 2) srcText = 'before: ' + sources[0] + '   →   after: ' + sources[1];
    return [el('header', { class: 'top' },
      el('h1', null, isDiff ? 'rdbscan diff' : 'rdbscan report', sub.length ? el('span', { class: 'sub' }, sub.join(' · ')) : null),
      sources.length ? el('div', { class: 'sources', title: tooltip(sources.join('\n')) }, text(srcText, { max: 400, mono: true })) : null),
      names.length > 1 ? el('nav', { class: 'sections', 'aria-label': 'sections' },
        names.map((n) => el('a', { href: '#s-' + n, title: sectionTitle(n, SECTIONS[n] || {}) }, n))) : null];
  }

  function build() {
    const app = document.getElementById('app');
    const main = el('main');
    for (const [name, sec] of Object.entries(SECTIONS)) add(main, renderSection(name, sec || {}));
    add(main, el('footer', null, 'rdbscan ' + (DATA.rdbscan_version || '') + ' · every figure comes from the JSON document in this file '
                 + '(element #rdbscan-data), the same as --format json · sizes in decimal units (1 KB = 1000 B); hover for exact bytes'));
    app.replaceChildren(...header().filter(Boolean), main);
    document.documentElement.setAttribute('data-ready', 'true');
  }

  build();
})();
