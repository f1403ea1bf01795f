// Charts drawn here in SVG (no library, no network): the score gauge, the score's trend,
// dimension bars, a radar.
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

// The gauge runs over the model's own range with its tiers as bands (the score API's `scale`);
// this default is the built-in model's, for an answer without one.
const DEFAULT_SCALE = { min: 220, max: 965, tiers: [
  { code: 'building', min: 0 }, { code: 'fair', min: 550 }, { code: 'good', min: 600 },
  { code: 'very_good', min: 700 }, { code: 'excellent', min: 750 }] };

function bands(scale) {
  const tiers = scale.tiers.slice().sort((a, b) => a.min - b.min);
  return tiers.map((tier, i) => [tier.code, Math.max(tier.min, scale.min),
    i + 1 < tiers.length ? tiers[i + 1].min : scale.max]).filter(([, from, to]) => to > from);
}

function polar(cx, cy, r, value, scale) {
  const share = (Math.min(Math.max(value, scale.min), scale.max) - scale.min) / (scale.max - scale.min);
  const angle = Math.PI * (1 - share);
  return [round(cx + r * Math.cos(angle)), round(cy - r * Math.sin(angle))];
}

function arc(cx, cy, r, from, to, scale) {
  const [x1, y1] = polar(cx, cy, r, from, scale);
  const [x2, y2] = polar(cx, cy, r, to, scale);
  return `M ${x1} ${y1} A ${r} ${r} 0 0 1 ${x2} ${y2}`;
}

/** A half-circle gauge over the model's range, its tiers as bands, a marker at `score`, the
 *  number and tier name. */
export function gauge(score, tierName, label, scale = DEFAULT_SCALE) {
  const width = 260; const height = 160; const cx = 130; const cy = 135; const r = 105;
  const root = svg(width, height, label);
  for (const [tier, from, to] of bands(scale)) {
    root.append(s('path', { d: arc(cx, cy, r, from, to, scale), class: `band band-${tier}` }));
  }
  const [mx, my] = polar(cx, cy, r, score, scale);
  root.append(s('path', { d: arc(cx, cy, r - 16, scale.min, Math.max(score, scale.min), scale),
    class: 'gauge-progress' }));
  root.append(s('circle', { cx: mx, cy: my, r: 9, class: 'gauge-marker' }));
  root.append(s('text', { x: cx, y: cy - 28, 'text-anchor': 'middle', class: 'gauge-score' }, score));
  root.append(s('text', { x: cx, y: cy - 2, 'text-anchor': 'middle', class: 'gauge-tier' }, tierName));
  const [lx, ly] = polar(cx, cy, r, scale.min, scale);
  const [hx, hy] = polar(cx, cy, r, scale.max, scale);
  root.append(s('text', { x: lx, y: ly + 18, 'text-anchor': 'middle', class: 'gauge-end' }, scale.min));
  root.append(s('text', { x: hx, y: hy + 18, 'text-anchor': 'middle', class: 'gauge-end' }, scale.max));
  return root;
}

/** Past scores as a line, oldest on the left, with the tier thresholds as dashed lines.
 *  `points`: [{score, date}] oldest first; the numbers are also in `label` (the text
 *  alternative) and in the table the page shows next to it. */
export function trend(points, label, scale = DEFAULT_SCALE, compact = false) {
  const width = 320; const height = compact ? 70 : 160; const pad = compact ? 6 : 28;
  const root = svg(width, height, label);
  if (!points.length) return root;
  const values = points.map((p) => p.score);
  const lo = Math.max(scale.min, Math.min(...values) - 40);
  const hi = Math.min(scale.max, Math.max(...values) + 40);
  const x = (i) => round(points.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (points.length - 1));
  const y = (v) => round(height - pad - ((v - lo) / Math.max(1, hi - lo)) * (height - 2 * pad));
  if (!compact) {
    for (const tier of scale.tiers) {
      if (tier.min <= lo || tier.min >= hi) continue;
      root.append(s('line', { x1: 0, x2: width, y1: y(tier.min), y2: y(tier.min), class: 'trend-tier' }));
      root.append(s('text', { x: width, y: y(tier.min) - 3, 'text-anchor': 'end', class: 'trend-tier-label' },
        tier.name || tier.code));
    }
  }
  root.append(s('polyline', { points: values.map((v, i) => `${x(i)},${y(v)}`).join(' '),
    class: 'trend-line' }));
  if (!compact && points.length > 1) {  // the first and last dates under the line
    root.append(s('text', { x: x(0), y: height - 6, 'text-anchor': 'start', class: 'trend-tier-label' }, points[0].date));
    root.append(s('text', { x: x(points.length - 1), y: height - 6, 'text-anchor': 'end', class: 'trend-tier-label' },
      points[points.length - 1].date));
  }
  values.forEach((v, i) => {
    root.append(s('circle', { cx: x(i), cy: y(v), r: compact ? 3 : 4, class: 'trend-dot' }));
    if (!compact && (i === values.length - 1 || values.length <= 6)) {
      root.append(s('text', { x: x(i), y: y(v) - 9, 'text-anchor': 'middle', class: 'trend-value' }, v));
    }
  });
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
