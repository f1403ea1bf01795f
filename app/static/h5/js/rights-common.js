// What the rights pages (reports, repair, reviews, disputes, erasure, export) share: codes said in
// words from the catalogue, a record's name, a flash message kept across a re-render, a
// correction's fields, and a second step before what cannot be undone.
import { announce, categoryName, colon, h, t, when, yuan } from './core.js';

// The rights pages' shared look (app.css, `/* rights pages */`) hangs off this class.
document.body.classList.add('rights-page');

/** The catalogue text for `prefix.code`, or null when the catalogue has none. */
export function label(prefix, code) {
  const key = `${prefix}.${code}`;
  const text = t(key);
  return text === key ? null : text;
}

/** "公共信用 · 行政处罚": a record's category and type in words (never the codes). */
export function recordName(category, type) {
  const kind = label(`rtype.${category}`, type) || t('rights.a_record');
  return category ? `${categoryName(category)} · ${kind}` : kind;
}

/** A labelled line: "复核人员说明：…". */
export function line(key, value, attrs = {}) {
  return h('p', { class: 'small', ...attrs }, `${t(key)}${colon()}`, value);
}

let pending = null;

/** Keep a message to show after the page renders again (the answer to what was just done). */
export function remember(message) { pending = message; }

/** The remembered message as a status box (announced), or null. */
export function flashBox() {
  if (!pending) return null;
  const box = h('div', { class: 'notice notice-ok', role: 'status', id: 'flash' },
    h('p', {}, pending));
  announce(pending);
  pending = null;
  return box;
}


/** One field's value in words: amounts in yuan, dates as dates, types and severities named. */
function fieldValue(field, value, category) {
  if (value == null) return t('rights.empty');
  if (field === 'amount_fen') return yuan(value);
  if (field === 'occurred_at' || field === 'publicity_ends_at') return when(value, false);
  if (field === 'type') return label(`rtype.${category}`, value) || t('rights.a_record');
  if (field === 'severity') return label('rights.severity', value) || t('rights.empty');
  return String(value);
}

// The fields a correction may change, in the order they are shown.
const FIELDS = ['type', 'severity', 'amount_fen', 'quantity', 'occurred_at', 'publicity_ends_at'];

/** A correction's changed fields, before → after, or null when nothing changed. */
export function correctionList(correction, category) {
  if (!correction || !correction.before || !correction.after) return null;
  const rows = FIELDS.filter((field) => field in correction.after)
    .filter((field) => JSON.stringify(correction.before[field]) !== JSON.stringify(correction.after[field]))
    .map((field) => h('li', { dataset: { field } },
      `${t(`rights.field.${field}`)}${colon()}`
      + `${fieldValue(field, correction.before[field], category)} → `
      + `${fieldValue(field, correction.after[field], category)}`));
  return rows.length ? h('ul', { class: 'small' }, rows) : null;
}

/** A second, deliberate step before something that cannot be undone: the first button only
 * reveals the question, which says what will happen, and the button that does it. */
export function confirmStep({ trigger, question, confirm, onConfirm }) {
  const place = h('div', { class: 'confirm-step' });
  const first = h('button', { type: 'button', class: 'button danger', 'aria-expanded': 'false' }, trigger);
  const close = () => { place.replaceChildren(); first.setAttribute('aria-expanded', 'false'); first.focus(); };
  first.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'button danger' }, confirm);
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try { await onConfirm(); } finally { yes.disabled = false; }
    });
    place.replaceChildren(h('div', { class: 'notice notice-warn', role: 'group', 'aria-label': trigger },
      h('p', {}, question),
      h('div', { class: 'row' }, yes, h('button', { type: 'button', class: 'button', onclick: close }, t('app.cancel')))));
    first.setAttribute('aria-expanded', 'true');
    yes.focus();
  });
  return h('div', {}, first, place);
}
