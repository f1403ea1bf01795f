// Charts drawn here in SVG (no library, no network): the score gauge, dimension bars, a radar.
// Colours come from CSS classes; every chart has a text equivalent for screen readers.

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value != null) el.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child == null) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function svg(width, height, label) {
  return s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label,
    class: 'chart', preserveAspectRatio: 'xMidYMid meet' }, s('title', {}, label));
}

const round = (n) => Math.round(n * 100) / 100;

/** Split a label into short lines: at spaces (about `width` characters), or a long run of
 *  Chinese characters in two halves. */
function wrap(text, width) {
  const value = String(text);
  if (!value.includes(' ') && /[\u4e00-\u9fff]/.test(value) && value.length > 5) {
    const half = Math.ceil(value.length / 2);
    return [value.slice(0, half), value.slice(half)];
  }
  const lines = [];
  for (const word of value.split(' ')) {
    const last = lines[lines.length - 1];
    if (last && (last + ' ' + word).length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

// Tier bands on the gauge (DESIGN §5.4 default tiers), drawn from LOW to HIGH.
const LOW = 350;
const HIGH = 950;
const BANDS = [
  ['building', LOW, 550], ['fair', 550, 600], ['good', 600, 700],
  ['very_good', 700, 750], ['excellent', 750, HIGH],
];

function polar(cx, cy, r, value) {
  const share = (Math.min(Math.max(value, LOW), HIGH) - LOW) / (HIGH - LOW);
  const angle = Math.PI * (1 - share);
  return [round(cx + r * Math.cos(angle)), round(cy - r * Math.sin(angle))];
}

function arc(cx, cy, r, from, to) {
  const [x1, y1] = polar(cx, cy, r, from);
  const [x2, y2] = polar(cx, cy, r, to);
  return `M ${x1} ${y1} A ${r} ${r} 0 0 1 ${x2} ${y2}`;
}

/** A half-circle gauge with the tier bands, a marker at `score`, the number and tier name. */
export function gauge(score, tierName, label) {
  const width = 260; const height = 160; const cx = 130; const cy = 135; const r = 105;
  const root = svg(width, height, label);
  for (const [tier, from, to] of BANDS) {
    root.append(s('path', { d: arc(cx, cy, r, from, to), class: `band band-${tier}` }));
  }
  const [mx, my] = polar(cx, cy, r, score);
  root.append(s('path', { d: arc(cx, cy, r - 16, LOW, score), class: 'gauge-progress' }));
  root.append(s('circle', { cx: mx, cy: my, r: 9, class: 'gauge-marker' }));
  root.append(s('text', { x: cx, y: cy - 28, 'text-anchor': 'middle', class: 'gauge-score' }, score));
  root.append(s('text', { x: cx, y: cy - 2, 'text-anchor': 'middle', class: 'gauge-tier' }, tierName));
  const [lx, ly] = polar(cx, cy, r, LOW);
  const [hx, hy] = polar(cx, cy, r, HIGH);
  root.append(s('text', { x: lx, y: ly + 18, 'text-anchor': 'middle', class: 'gauge-end' }, LOW));
  root.append(s('text', { x: hx, y: hy + 18, 'text-anchor': 'middle', class: 'gauge-end' }, HIGH));
  return root;
}

/** Horizontal bars: points out of max per dimension, with the numbers written out. */
export function bars(dimensions, label) {
  const rowHeight = 44; const width = 320; const labelWidth = 0;
  const height = dimensions.length * rowHeight + 4;
  const root = svg(width, height, label);
  dimensions.forEach((d, i) => {
    const y = i * rowHeight;
    const share = d.max_points > 0 ? Math.max(0, Math.min(1, d.points / d.max_points)) : 0;
    const barWidth = width - labelWidth;
    root.append(s('text', { x: 0, y: y + 16, class: 'bar-label' }, d.name));
    root.append(s('text', { x: width, y: y + 16, 'text-anchor': 'end', class: 'bar-value' },
      `${d.points} / ${d.max_points}`));
    root.append(s('rect', { x: labelWidth, y: y + 24, width: barWidth, height: 12, rx: 6,
      class: 'bar-track' }));
    root.append(s('rect', { x: labelWidth, y: y + 24, width: round(barWidth * share), height: 12,
      rx: 6, class: 'bar-fill' }));
  });
  return root;
}

/** A radar of the dimensions' shares of their maximum (a picture; the bars carry the numbers). */
export function radar(dimensions, label) {
  const width = 440; const height = 330; const cx = width / 2; const cy = 170; const r = 100;
  const n = dimensions.length;
  const root = svg(width, height, label);
  if (n < 3) return root;
  const point = (i, share) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / n;
    return [round(cx + r * share * Math.cos(angle)), round(cy + r * share * Math.sin(angle))];
  };
  for (const ring of [0.25, 0.5, 0.75, 1]) {
    const pts = dimensions.map((_, i) => point(i, ring).join(',')).join(' ');
    root.append(s('polygon', { points: pts, class: 'radar-grid' }));
  }
  dimensions.forEach((d, i) => {
    const [x, y] = point(i, 1);
    root.append(s('line', { x1: cx, y1: cy, x2: x, y2: y, class: 'radar-axis' }));
    const [tx, ty] = point(i, 1.16);
    const anchor = Math.abs(tx - cx) < 4 ? 'middle' : tx > cx ? 'start' : 'end';
    const lines = wrap(d.name, 12);
    const top = ty < cy - 4 ? ty - (lines.length - 1) * 17 : ty;  // grow away from the chart
    const label = s('text', { x: tx, y: round(top + 5), 'text-anchor': anchor, class: 'radar-label' });
    lines.forEach((line, n) => label.append(s('tspan', { x: tx, dy: n ? 17 : 0 }, line)));
    root.append(label);
  });
  const shares = dimensions.map((d) => (d.max_points > 0 ? Math.max(0, d.points / d.max_points) : 0));
  const pts = shares.map((share, i) => point(i, Math.min(share, 1)).join(',')).join(' ');
  root.append(s('polygon', { points: pts, class: 'radar-area' }));
  shares.forEach((share, i) => {
    const [x, y] = point(i, Math.min(share, 1));
    root.append(s('circle', { cx: x, cy: y, r: 3.5, class: 'radar-dot' }));
  });
  return root;
}
