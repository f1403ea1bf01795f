// Reviews and disputes: my requests for human review with their outcome and its effect, and my
// disputes with their deadline and outcome — every code said in words, newest first.
import { announce, api, boot, categoryName, clear, colon, h, pick, statusText, t, when, yuan } from './core.js';

function label(prefix, code) {
  const key = `${prefix}.${code}`;
  const text = t(key);
  return text === key ? null : text;
}

function recordName(category, type) {
  const kind = label(`rtype.${category}`, type) || t('reviews.record');
  return category ? `${categoryName(category)} · ${kind}` : kind;
}

function scenarioName(scenarios, code) {
  return scenarios.has(code) ? pick(scenarios.get(code)) : t('reviews.a_scenario');
}

/** One corrected field, before → after, in words. */
function fieldValue(field, value, category) {
  if (value == null) return t('reviews.empty');
  if (field === 'amount_fen') return yuan(value);
  if (field === 'occurred_at' || field === 'publicity_ends_at') return when(value, false);
  if (field === 'type') return label(`rtype.${category}`, value) || t('reviews.record');
  if (field === 'severity') return label('reviews.severity', value) || t('reviews.empty');
  return String(value);
}

// The fields a correction may change, in the order they are shown.
const FIELDS = ['type', 'severity', 'amount_fen', 'quantity', 'occurred_at', 'publicity_ends_at'];

function correctionList(correction, category) {
  if (!correction || !correction.before || !correction.after) return null;
  const rows = FIELDS.filter((field) => field in correction.after)
    .filter((field) => JSON.stringify(correction.before[field]) !== JSON.stringify(correction.after[field]))
    .map((field) => h('li', { dataset: { field } },
      `${t(`reviews.field.${field}`)}${colon()}`
      + `${fieldValue(field, correction.before[field], category)} → `
      + `${fieldValue(field, correction.after[field], category)}`));
  return rows.length ? h('ul', { class: 'small' }, rows) : null;
}

/** What a decided review did, in words. */
function effectText(effect, scenarios) {
  const kind = effect && effect.kind;
  if (kind === 'confirmed') return t('reviews.effect.confirmed');
  if (kind === 'eligibility_override') {
    return t('reviews.effect.override', { scenario: scenarioName(scenarios, effect.scenario),
      date: when(effect.ends_at) });
  }
  if (kind === 'record_removed' || kind === 'record_corrected') {
    const vars = { record: recordName(effect.category, effect.type),
      source: effect.source || t('reviews.a_source') };
    return t(kind === 'record_removed' ? 'reviews.effect.removed' : 'reviews.effect.corrected', vars);
  }
  return t('reviews.effect.unrecorded');
}

function line(key, value) {
  return h('p', { class: 'small' }, `${t(key)}${colon()}`, value);
}

function reviewItem(r, scenarios) {
  const subject = label('reviews.subject', r.subject) || label('subject', r.subject) || '';
  const heading = r.subject === 'eligibility' && r.scenario
    ? `${subject} · ${scenarioName(scenarios, r.scenario)}` : subject;
  const decided = r.status === 'decided';
  const effect = r.effect || {};
  return h('li', { dataset: { review: r.id, status: r.status, effect: effect.kind || '' } },
    h('div', { class: 'spread' }, h('strong', {}, heading),
      h('span', { class: `badge ${decided ? 'ok' : 'warn'}` },
        decided ? label('reviews.outcome', r.outcome) || t('reviews.decided') : statusText('open'))),
    h('p', { class: 'small muted' }, `${t('reviews.asked_at')} ${when(r.requested_at)}`
      + (decided ? ` · ${t('reviews.decided_at')} ${when(r.decided_at)}` : '')),
    line('reviews.reason', r.reason),
    decided ? h('p', { class: 'effect', 'data-effect-text': '' }, effectText(r.effect, scenarios)) : null,
    decided && effect.kind === 'record_corrected' ? correctionList(effect.correction, effect.category) : null,
    decided && r.note ? line('reviews.note', r.note) : null,
    decided ? null : h('p', { class: 'small' }, t('reviews.waiting')));
}

function disputeItem(d, records) {
  const record = records.get(d.record_id);
  const resolved = d.status === 'resolved';
  return h('li', { dataset: { dispute: d.id, status: d.status } },
    h('div', { class: 'spread' },
      h('strong', {}, record ? recordName(record.category, record.type) : t('reviews.record')),
      h('span', { class: `badge ${resolved ? 'ok' : 'warn'}` }, statusText(d.status))),
    h('p', { class: 'small muted' }, `${t('reviews.opened_at')} ${when(d.opened_at)}`
      + (resolved ? ` · ${t('reviews.decided_at')} ${when(d.resolved_at)}`
        : ` · ${t('records.due')} ${when(d.due_at, false)}`)),
    line('reviews.dispute_reason', d.reason),
    !resolved ? h('p', { class: 'small' },
      d.overdue ? t('reviews.dispute_overdue') : t('reviews.dispute_counts')) : null,
    resolved ? h('p', { class: 'effect' }, `${t('reviews.dispute_outcome')}${colon()}`,
      label('reviews.dispute', d.outcome) || statusText('resolved')) : null,
    resolved && d.outcome === 'corrected' && record
      ? correctionList(d.correction, record.category) : null,
    resolved && d.note ? line('reviews.note', d.note) : null);
}

async function render(root) {
  const [reviews, disputes, records, catalogue] = await Promise.all([
    api('/api/v1/me/review-requests'), api('/api/v1/me/disputes'), api('/api/v1/me/records'),
    api('/api/v1/scenarios', { auth: null })]);
  const scenarios = new Map(catalogue.items.map((s) => [s.code, s.name]));
  const byId = new Map(records.items.map((r) => [r.id, r]));
  clear(root,
    h('section', { class: 'card', 'aria-labelledby': 'reviews-h' },
      h('h2', { id: 'reviews-h' }, t('reviews.reviews')),
      reviews.items.length
        ? h('ul', { class: 'list', id: 'reviews' }, reviews.items.map((r) => reviewItem(r, scenarios)))
        : h('p', {}, t('reviews.no_reviews'))),
    h('section', { class: 'card', 'aria-labelledby': 'disputes-h' },
      h('h2', { id: 'disputes-h' }, t('reviews.disputes')),
      disputes.items.length
        ? h('ul', { class: 'list', id: 'disputes' }, disputes.items.map((d) => disputeItem(d, byId)))
        : h('p', {}, t('reviews.no_disputes'))));
  announce(t('app.loaded'));
}

boot({ render });
