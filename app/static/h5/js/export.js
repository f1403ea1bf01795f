// Export my data: a readable summary of everything held about me (each section, how many
// entries, from when to when) and the whole JSON document as a file to download.
import { announce, api, boot, clear, h, t, when } from './core.js';
import './rights-common.js';

let fileUrl = null;

/** "2024/01/05 — 2026/11/01" from the earliest and latest of `dates` (ISO strings). */
function span(dates) {
  const known = dates.filter(Boolean).sort();
  if (!known.length) return null;
  const first = when(known[0], false);
  const last = when(known[known.length - 1], false);
  return first === last ? first : t('export.span', { first, last });
}

/** The summary rows: [key, count, dates] for each part of the document. */
function rows(data) {
  const s = data.sections || {};
  const credit = s.credit || {};
  const points = s.points || {};
  const consents = data.consents || {};
  return [
    ['consents', (consents.records || []).length,
      span((consents.records || []).map((c) => c.given_at)),
      t('export.consent_events', { n: (consents.events || []).length })],
    ['records', data.records.length, span(data.records.map((r) => r.occurred_at))],
    ['scores', data.scores.length, span(data.scores.map((x) => x.computed_at)),
      data.scores.length ? t('export.latest_score', { score: data.scores[data.scores.length - 1].score }) : null],
    ['access_log', data.access_log.length, span(data.access_log.map((e) => e.at))],
    ['notifications', data.notifications.length, span(data.notifications.map((n) => n.created_at))],
    ['disputes', data.disputes.length, span(data.disputes.map((d) => d.opened_at))],
    ['repairs', data.repairs.length, span(data.repairs.map((r) => r.requested_at))],
    ['review_requests', data.review_requests.length, span(data.review_requests.map((r) => r.requested_at))],
    ['bills', (credit.bills || []).length, span((credit.bills || []).map((b) => b.created_at)),
      t('export.holds_payments', { holds: (credit.holds || []).length, payments: (credit.payments || []).length })],
    ['waivers', ((s.waivers || {}).waivers || []).length,
      span(((s.waivers || {}).waivers || []).map((w) => w.created_at))],
    ['points', (points.transfers || []).length, span((points.transfers || []).map((x) => x.at)),
      t('export.balance', { n: points.balance ?? 0 })],
    ['sessions', data.sessions.length, span(data.sessions.map((x) => x.created_at))],
  ];
}

function summary(data) {
  return h('dl', { class: 'export-summary', id: 'summary' }, rows(data).flatMap(([key, count, dates, extra]) => [
    h('dt', { dataset: { section: key } }, t(`export.section.${key}`)),
    h('dd', { dataset: { section: key } },
      count ? [h('span', { class: 'count' }, t(`export.count.${key}`, { n: count })),
        dates ? h('span', { class: 'muted' }, ` · ${dates}`) : null,
        extra ? h('span', { class: 'muted' }, ` · ${extra}`) : null]
        : h('span', { class: 'muted' }, t('app.none')))]));
}

/** Where a web-view blocks downloads, the file can still be read (and copied) on the page; it is
 * laid out only when opened. */
function rawView(text) {
  const body = h('pre', { class: 'mono export-raw', tabindex: '0', 'aria-label': t('export.raw') });
  const box = h('details', { class: 'export-raw-box' }, h('summary', {}, t('export.raw')), body);
  box.addEventListener('toggle', () => { if (box.open && !body.textContent) body.textContent = text; });
  return box;
}

async function render(root) {
  const data = await api('/api/v1/me/export');
  const text = JSON.stringify(data, null, 2);
  if (fileUrl) URL.revokeObjectURL(fileUrl);
  fileUrl = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const kb = Math.max(1, Math.round(new Blob([text]).size / 1024));
  const profile = data.profile || {};
  clear(root,
    h('section', { class: 'card', 'aria-labelledby': 'whose-h' },
      h('h2', { id: 'whose-h' }, t('export.whose')),
      h('dl', { class: 'facts' },
        h('dt', {}, t('export.name')), h('dd', {}, profile.name || t('app.none')),
        h('dt', {}, t('export.since')), h('dd', {}, when(profile.created_at, false)),
        h('dt', {}, t('export.generated')), h('dd', {}, when(data.generated_at))),
      data.erasure ? h('p', { class: 'small' }, t('export.erased_before', { date: when(data.erasure.erased_at, false) })) : null),
    h('section', { class: 'card', 'aria-labelledby': 'summary-h' },
      h('h2', { id: 'summary-h' }, t('export.summary')), summary(data)),
    h('section', { class: 'card', 'aria-labelledby': 'file-h' },
      h('h2', { id: 'file-h' }, t('export.file')),
      h('p', { class: 'small' }, t('export.file_intro')),
      h('a', { class: 'button primary', id: 'export-file', href: fileUrl,
        download: `pengcheng-my-data-${String(data.generated_at).slice(0, 10)}.json` },
        t('export.download', { kb })),
      h('p', { class: 'hint' }, t('export.webview_hint')),
      rawView(text)));
  announce(t('export.ready'));
}

boot({ render });
