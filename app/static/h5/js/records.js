// My records, whether each counts toward my score, and a dispute (异议) action.
import {
  alertBox, announce, api, boot, categoryName, clear, colon, errorBox, h, statusText, t, when,
  yuan,
} from './core.js';

let flash = null;

function recordType(category, code) {
  const key = `rtype.${category}.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

function disputeForm(record, root, place) {
  const reasonId = `reason-${record.id}`;
  const evidenceId = `evidence-${record.id}`;
  const reason = h('textarea', { id: reasonId, rows: 3, maxlength: 2000, required: true });
  const evidence = h('textarea', { id: evidenceId, rows: 2, maxlength: 4000 });
  const result = h('div', {});
  const form = h('form', { novalidate: true, class: 'dispute' },
    h('label', { for: reasonId }, t('records.reason')), reason,
    h('label', { for: evidenceId }, t('records.evidence')), evidence,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'button primary' }, t('records.submit')),
      h('button', { type: 'button', class: 'button', onclick: () => form.remove() }, t('app.cancel'))),
    result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (!text) { clear(result, alertBox(t('records.reason_needed'))); reason.focus(); return; }
    const body = { record_id: record.id, reason: text };
    if (evidence.value.trim()) body.evidence = evidence.value.trim();
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await api('/api/v1/me/disputes', { method: 'POST', body });
      flash = t('records.submitted');
      await render(root);
    } catch (error) {
      button.disabled = false;
      clear(result, errorBox(error));
    }
  });
  place.replaceChildren(form);
  reason.focus();
}

function recordItem(record, root) {
  const place = h('div', {});
  const tone = record.counts ? 'ok' : 'plain';
  const d = record.dispute;
  return h('li', { dataset: { record: record.id, status: record.status } },
    h('div', { class: 'spread' },
      h('strong', {}, `${categoryName(record.category)} · ${recordType(record.category, record.type)}`),
      h('span', { class: `badge ${record.status === 'disputed' ? 'warn' : tone}` },
        statusText(record.status))),
    h('p', { class: 'small muted' }, [when(record.occurred_at, false), record.source,
      record.amount_fen != null ? yuan(record.amount_fen) : null,
      record.quantity != null ? String(record.quantity) : null].filter(Boolean).join(' · ')),
    h('p', { class: 'small' }, record.counts ? t('records.counts') : t('records.not_counted')),
    d ? h('p', { class: 'small' }, `${t('records.dispute_state')}${colon()}${statusText(d.status)}` +
      (d.outcome ? ` · ${statusText(d.outcome)}` : '') +
      (d.due_at && d.status !== 'resolved' ? ` · ${t('records.due')} ${when(d.due_at, false)}` : '')) : null,
    !d || d.status === 'resolved' ? h('button', { type: 'button', class: 'button', 'data-action': 'dispute',
      onclick: () => disputeForm(record, root, place) }, t('records.dispute')) : null,
    place);
}

async function render(root) {
  const answer = await api('/api/v1/me/records');
  const parts = [];
  if (flash) {
    parts.push(h('div', { class: 'notice notice-ok', role: 'status', id: 'flash' }, h('p', {}, flash)));
    announce(flash);
    flash = null;
  }
  parts.push(h('section', { class: 'card' }, answer.items.length
    ? h('ul', { class: 'list', id: 'records' }, answer.items.map((r) => recordItem(r, root)))
    : h('p', {}, t('app.none'))));
  clear(root, parts);
}

boot({ render });
