// Credit repair (信用修复): which of my negative records can be repaired now, which from when and
// why not yet, applying with the credit pledge, and what became of each application.
import {
  alertBox, api, boot, clear, errorBox, h, pick, statusText, t, when,
} from './core.js';
import { flashBox, label, line, recordName, remember } from './rights-common.js';

// Statuses in which a negative record may still be put right (the others no longer count).
const OPEN = new Set(['active', 'disputed']);

/** Why a record cannot be repaired yet, each reason in words from the catalogue. */
function reasonText(reason, check) {
  const known = label('repair.reason', reason.code);
  return known ? known.replaceAll('{date}', when(check.earliest_at, false)) : pick(reason);
}

function applyForm(record, check, root, place, opener) {
  const pledge = h('input', { type: 'checkbox', id: `pledge-${record.id}`, required: true });
  const statement = h('textarea', { id: `statement-${record.id}`, rows: 3, maxlength: 2000 });
  const result = h('div', {});
  const submit = h('button', { type: 'submit', class: 'button primary' }, t('repair.submit'));
  const form = h('form', { novalidate: true, class: 'repair-form' },
    h('h4', {}, t('repair.pledge_title')),
    h('blockquote', { class: 'pledge' }, pick(check.pledge)),
    h('label', { class: 'check', for: pledge.id }, pledge, h('span', {}, t('repair.pledge_accept'))),
    h('label', { for: statement.id }, t('repair.statement')), statement,
    h('div', { class: 'row' }, submit,
      h('button', { type: 'button', class: 'button', onclick: () => { place.replaceChildren(); opener.focus(); } },
        t('app.cancel'))),
    result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!pledge.checked) { clear(result, alertBox(t('repair.pledge_needed'))); pledge.focus(); return; }
    const body = { record_id: record.id, pledge: true };
    if (statement.value.trim()) body.statement = statement.value.trim();
    submit.disabled = true;
    try {
      await api('/api/v1/me/repairs', { method: 'POST', body });
      remember(t('repair.submitted'));
      history.replaceState(null, '', location.pathname);
      await render(root);
    } catch (error) {
      submit.disabled = false;
      clear(result, errorBox(error));
    }
  });
  place.replaceChildren(form);
  pledge.focus();
}

/** One negative record: whether and when it can be repaired, and the way to apply. */
function recordItem(record, check, root) {
  const place = h('div', {});
  const severity = label('rights.severity', record.severity);
  let state;
  let badge;
  let action = null;
  if (record.status === 'repaired') {
    badge = h('span', { class: 'badge ok' }, t('repair.repaired'));
    state = h('p', { class: 'small' }, t('repair.done', {
      date: when(record.repair && record.repair.decided_at, false) }));
  } else if (record.repair && record.repair.status === 'pending') {
    badge = h('span', { class: 'badge warn' }, t('repair.pending'));
    state = h('p', { class: 'small' }, t('repair.pending_text', { date: when(record.repair.requested_at, false) }));
  } else if (check && check.eligible) {
    badge = h('span', { class: 'badge ok' }, t('repair.can'));
    state = h('p', { class: 'small' }, t(`repair.obligation.${check.obligation}`));
    action = h('button', { type: 'button', class: 'button primary', 'data-action': 'apply' }, t('repair.apply'));
    action.addEventListener('click', () => applyForm(record, check, root, place, action));
  } else if (check) {
    badge = h('span', { class: 'badge plain' }, check.obligation === 'automatic'
      ? t('repair.automatic') : t('repair.not_yet'));
    state = h('ul', { class: 'small reasons' }, check.reasons.map((r) =>
      h('li', { dataset: { reason: r.code } }, reasonText(r, check))));
  }
  const item = h('li', { dataset: { record: record.id, status: record.status } },
    h('div', { class: 'spread' }, h('h3', {}, recordName(record.category, record.type)), badge),
    h('p', { class: 'small muted' }, [when(record.occurred_at, false), record.source,
      severity ? t('repair.severity', { severity }) : null].filter(Boolean).join(' · ')),
    record.publicity_ends_at && record.status !== 'repaired'
      ? line('repair.publicity_ends', when(record.publicity_ends_at, false)) : null,
    state, action, place);
  // A deep link (?record=<id>, e.g. from the records page) opens that record's application.
  if (action && new URLSearchParams(location.search).get('record') === record.id) {
    queueMicrotask(() => { applyForm(record, check, root, place, action); item.scrollIntoView(); });
  }
  return item;
}

function applicationItem(a, records) {
  const record = records.get(a.record_id);
  const tone = { approved: 'ok', rejected: 'bad', pending: 'warn' }[a.status] || 'plain';
  return h('li', { dataset: { repair: a.id, status: a.status } },
    h('div', { class: 'spread' },
      h('h3', {}, record ? recordName(record.category, record.type) : t('rights.a_record')),
      h('span', { class: `badge ${tone}` }, label('repair.status', a.status) || statusText(a.status))),
    line('repair.applied_at', when(a.requested_at)),
    a.decided_at ? line('repair.decided_at', when(a.decided_at)) : null,
    a.statement ? line('repair.statement_short', a.statement) : null,
    h('p', { class: 'small' }, label('repair.outcome', a.status) || ''),
    a.note ? line('repair.note', a.note) : null);
}

async function render(root) {
  const [records, applications] = await Promise.all([
    api('/api/v1/me/records'), api('/api/v1/me/repairs')]);
  const negatives = records.items.filter((r) => r.severity
    && (OPEN.has(r.status) || r.status === 'repaired'));
  const checks = await Promise.all(negatives.map((r) => (OPEN.has(r.status)
    ? api(`/api/v1/me/records/${encodeURIComponent(r.id)}/repair`) : Promise.resolve(null))));
  const byId = new Map(records.items.map((r) => [r.id, r]));
  clear(root,
    flashBox(),
    h('section', { class: 'card', 'aria-labelledby': 'periods-h' },
      h('h2', { id: 'periods-h' }, t('repair.periods')),
      h('dl', { class: 'facts' }, ['minor', 'general', 'serious'].flatMap((s) => [
        h('dt', {}, label('rights.severity', s)), h('dd', {}, t(`repair.period.${s}`))]))),
    h('section', { class: 'card', 'aria-labelledby': 'negatives-h' },
      h('h2', { id: 'negatives-h' }, t('repair.records')),
      negatives.length
        ? h('ul', { class: 'list', id: 'repairable' }, negatives.map((r, i) => recordItem(r, checks[i], root)))
        : h('p', {}, t('repair.no_negatives'))),
    h('section', { class: 'card', 'aria-labelledby': 'apps-h' },
      h('h2', { id: 'apps-h' }, t('repair.applications')),
      applications.items.length
        ? h('ul', { class: 'list', id: 'applications' }, applications.items.map((a) => applicationItem(a, byId)))
        : h('p', {}, t('repair.no_applications'))));
}

boot({ render });
