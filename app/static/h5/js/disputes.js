// Disputes (异议): raise one on a record (the records page links here with ?record=<id>), and
// follow each one: status, the deadline the office must keep, the outcome and the reviewer's note.
import {
  alertBox, api, boot, clear, errorBox, h, t, when, yuan,
} from './core.js';
import {
  correctionList, flashBox, label, line, recordName, remember,
} from './rights-common.js';

// Records a dispute can no longer change: they do not count anyway.
const SETTLED = new Set(['repaired', 'removed', 'expired']);

function recordFacts(record) {
  return h('p', { class: 'small muted' }, [when(record.occurred_at, false), record.source,
    record.amount_fen != null ? yuan(record.amount_fen) : null].filter(Boolean).join(' · '));
}

/** The form for a dispute on `record`, or why there can be none. */
function raiseCard(record, root) {
  const heading = h('h2', { id: 'raise-h' }, t('disputes.raise'));
  const card = (...children) => h('section', { class: 'card', id: 'raise',
    'aria-labelledby': 'raise-h' }, heading, ...children);
  if (!record) return card(alertBox(t('disputes.no_record')));
  const title = h('p', {}, h('strong', {}, recordName(record.category, record.type)));
  if (record.dispute && record.dispute.status === 'open') {
    return card(title, recordFacts(record), h('p', {}, t('disputes.already')));
  }
  if (SETTLED.has(record.status)) {
    return card(title, recordFacts(record), h('p', {}, t('disputes.not_disputable')));
  }
  const reason = h('textarea', { id: 'dispute-reason', rows: 4, maxlength: 1000, required: true,
    'aria-describedby': 'dispute-reason-hint' });
  const evidence = h('textarea', { id: 'dispute-evidence', rows: 3, maxlength: 4000 });
  const result = h('div', { id: 'raise-result' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, t('disputes.submit'));
  const form = h('form', { novalidate: true },
    h('label', { for: 'dispute-reason' }, t('disputes.reason')), reason,
    h('p', { class: 'hint', id: 'dispute-reason-hint' }, t('disputes.reason_hint')),
    h('label', { for: 'dispute-evidence' }, t('disputes.evidence')), evidence,
    h('div', { class: 'row' }, submit, h('a', { class: 'button', href: '/h5/records' }, t('app.cancel'))),
    result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (!text) { clear(result, alertBox(t('disputes.reason_needed'))); reason.focus(); return; }
    const body = { record_id: record.id, reason: text };
    if (evidence.value.trim()) body.evidence = evidence.value.trim();
    submit.disabled = true;
    try {
      const made = await api('/api/v1/me/disputes', { method: 'POST', body });
      remember(t('disputes.submitted', { date: when(made.due_at, false) }));
      history.replaceState(null, '', location.pathname);
      await render(root);
    } catch (error) {
      submit.disabled = false;
      clear(result, errorBox(error));
    }
  });
  return card(title, recordFacts(record), h('p', { class: 'small' }, t('disputes.what_happens')), form);
}

function disputeItem(d, records) {
  const record = records.get(d.record_id);
  const resolved = d.status === 'resolved';
  const badge = resolved ? 'ok' : d.overdue ? 'bad' : 'warn';
  return h('li', { dataset: { dispute: d.id, status: d.status } },
    h('div', { class: 'spread' },
      h('h3', {}, record ? recordName(record.category, record.type) : t('rights.a_record')),
      h('span', { class: `badge ${badge}` },
        t(resolved ? 'disputes.resolved' : d.overdue ? 'disputes.overdue' : 'disputes.open'))),
    line('disputes.opened_at', when(d.opened_at)),
    resolved ? line('disputes.resolved_at', when(d.resolved_at))
      : line('disputes.due', when(d.due_at, false), { 'data-due': '' }),
    line('disputes.reason_label', d.reason),
    d.evidence ? line('disputes.evidence_short', d.evidence) : null,
    resolved ? null : h('p', { class: 'small' },
      d.overdue ? t('disputes.overdue_effect') : t('disputes.counts_meanwhile')),
    resolved ? line('disputes.outcome', label('disputes.outcome', d.outcome)
      || t('disputes.resolved'), { class: 'effect' }) : null,
    resolved ? h('p', { class: 'small' }, label('disputes.outcome_effect', d.outcome) || '') : null,
    resolved && d.outcome === 'corrected' && record ? correctionList(d.correction, record.category) : null,
    resolved && d.note ? line('disputes.note', d.note) : null);
}

async function render(root) {
  const [disputes, records] = await Promise.all([
    api('/api/v1/me/disputes'), api('/api/v1/me/records')]);
  const byId = new Map(records.items.map((r) => [r.id, r]));
  const wanted = new URLSearchParams(location.search).get('record');
  const open = disputes.items.filter((d) => d.status !== 'resolved').length;
  clear(root,
    flashBox(),
    wanted ? raiseCard(byId.get(wanted), root) : null,
    h('section', { class: 'card', 'aria-labelledby': 'disputes-h' },
      h('div', { class: 'spread' }, h('h2', { id: 'disputes-h' }, t('disputes.mine')),
        disputes.items.length ? h('span', { class: 'muted small' }, t('disputes.open_count', { n: open })) : null),
      disputes.items.length
        ? h('ul', { class: 'list', id: 'disputes' }, disputes.items.map((d) => disputeItem(d, byId)))
        : h('p', {}, t('disputes.none')),
      h('p', { class: 'small' }, h('a', { href: '/h5/records' }, t('disputes.from_records')))));
}

boot({ render });
