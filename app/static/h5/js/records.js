// My records by category, negatives first and marked, with filters (category, status, period);
// whether each counts toward my score, and a link to dispute (异议) one where a wrong record
// could hurt (the disputes page takes it from there).
import {
  announce, api, boot, categoryName, clear, colon, h, partnerName, statusText,
  t, when, yuan,
} from './core.js';

function recordType(category, code) {
  const key = `rtype.${category}.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

/** A negative record (it carries a severity) lowers a score: shown first and marked. */
const negative = (record) => record.severity != null;

/** Disputing makes sense where a wrong record can hurt: a negative record, or a count or
 *  quantity that could be too low (volunteer hours). Never on an on-time payment. */
const disputable = (record) => negative(record) || record.quantity != null;

function recordItem(record) {
  const tone = record.counts && !negative(record) ? 'ok' : 'plain';
  const d = record.dispute;
  return h('li', { class: negative(record) ? 'record negative' : 'record',
    dataset: { record: record.id, status: record.status, negative: String(negative(record)) } },
    h('div', { class: 'spread' },
      h('strong', {}, negative(record) ? h('span', { class: 'badge bad' }, t('records.negative')) : null,
        negative(record) ? ' ' : null, recordType(record.category, record.type)),
      h('span', { class: `badge ${record.status === 'disputed' ? 'warn' : tone}` },
        statusText(record.status))),
    h('p', { class: 'small muted' }, [when(record.occurred_at, false), partnerName(record.source),
      record.amount_fen != null ? yuan(record.amount_fen) : null,
      record.quantity != null ? String(record.quantity) : null,
      record.severity ? t(`severity.${record.severity}`) : null].filter(Boolean).join(' · ')),
    h('p', { class: 'small' }, record.counts ? t('records.counts') : t('records.not_counted')),
    d ? h('p', { class: 'small' }, `${t('records.dispute_state')}${colon()}${statusText(d.status)}` +
      (d.outcome ? ` · ${statusText(d.outcome)}` : '') +
      (d.due_at && d.status !== 'resolved' ? ` · ${t('records.due')} ${when(d.due_at, false)}` : '')) : null,
    disputable(record) && (!d || d.status === 'resolved') ? h('a', { class: 'button', 'data-action': 'dispute',
      href: `/h5/disputes?record=${encodeURIComponent(record.id)}` }, t('records.dispute')) : null);
}

const filters = { category: '', status: '', years: '' };

function keep(record) {
  if (filters.category && record.category !== filters.category) return false;
  if (filters.status === 'negative' && !negative(record)) return false;
  if (filters.status && filters.status !== 'negative' && record.status !== filters.status) return false;
  if (filters.years) {
    const since = Date.now() - Number(filters.years) * 365.25 * 86400000;
    if (new Date(record.occurred_at).getTime() < since) return false;
  }
  return true;
}

function select(id, label, value, options, onChange) {
  const el = h('select', { id, name: id }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  el.addEventListener('change', () => onChange(el.value));
  return h('div', { class: 'filter' }, h('label', { for: id }, label), el);
}

function filterBar(items, rerender) {
  const categories = [...new Set(items.map((r) => r.category))];
  const statuses = [...new Set(items.map((r) => r.status))];
  return h('form', { class: 'card filters', id: 'filters', 'aria-label': t('records.filters'),
    onsubmit: (e) => e.preventDefault() },
    select('f-category', t('records.f_category'), filters.category,
      [['', t('records.all')], ...categories.map((c) => [c, categoryName(c)])],
      (v) => { filters.category = v; rerender(); }),
    select('f-status', t('records.f_status'), filters.status,
      [['', t('records.all')], ['negative', t('records.only_negative')],
        ...statuses.map((c) => [c, statusText(c)])],
      (v) => { filters.status = v; rerender(); }),
    select('f-period', t('records.f_period'), filters.years,
      [['', t('records.all')], ['1', t('records.years', { n: 1 })], ['2', t('records.years', { n: 2 })],
        ['3', t('records.years', { n: 3 })]],
      (v) => { filters.years = v; rerender(); }));
}

/** Records by category: categories with a negative record first, negatives first within one,
 *  then newest first. A category with no negative record starts folded. */
function groups(items) {
  const byCategory = new Map();
  for (const record of items) {
    if (!byCategory.has(record.category)) byCategory.set(record.category, []);
    byCategory.get(record.category).push(record);
  }
  const ordered = [...byCategory.entries()].map(([category, records]) => {
    records.sort((a, b) => Number(negative(b)) - Number(negative(a)) ||
      String(b.occurred_at).localeCompare(String(a.occurred_at)));
    return { category, records, bad: records.filter(negative).length };
  }).sort((a, b) => b.bad - a.bad || b.records.length - a.records.length);
  return h('div', { id: 'records' }, ordered.map((g) => h('details', {
    class: `card group${g.bad ? ' has-negative' : ''}`, open: g.bad > 0 || ordered.length === 1,
    dataset: { category: g.category } },
    h('summary', {}, h('span', { class: 'group-name' }, categoryName(g.category)), ' ',
      h('span', { class: 'small muted' }, t('records.count', { n: g.records.length })),
      g.bad ? [' ', h('span', { class: 'badge bad' }, t('records.negative_count', { n: g.bad }))] : null),
    h('ul', { class: 'list' }, g.records.map(recordItem)))));
}

async function render(root) {
  const answer = await api('/api/v1/me/records');
  const parts = [];
  const bad = answer.items.filter(negative).length;
  parts.push(h('p', { class: bad ? 'notice notice-warn' : 'notice notice-ok', id: 'negatives' },
    bad ? t('records.negatives_some', { n: bad }) : t('records.negatives_none')));
  const place = h('div', {});
  const draw = () => {
    const shown = answer.items.filter(keep);
    clear(place, shown.length ? groups(shown) : h('p', { class: 'card' }, t('records.none_match')));
  };
  parts.push(filterBar(answer.items, draw), place);
  draw();
  clear(root, parts);
  announce(t('app.loaded'));
}

boot({ render });
