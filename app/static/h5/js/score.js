// My score: number, tier, gauge, dimension charts, records under dispute, reasons with tips,
// positives, categories not used (and what authorising them would mean), model version and date.
import { bars, gauge, radar } from './charts.js';
import {
  announce, api, ApiError, boot, categoryName, clear, colon, getLang, h, t, when,
} from './core.js';

// Categories that need a separate acknowledgement (the scoring notice says which; this is the
// fallback while the notice is loading).
let sensitive = new Set(['scenario_performance']);

function consentNeeded(root) {
  clear(root, h('section', { class: 'notice notice-warn', role: 'alert', id: 'consent-needed' },
    h('h2', {}, t('score.consent_needed')),
    h('p', {}, t('score.consent_needed_text')),
    h('a', { class: 'button primary', href: '/h5/consents?purpose=scoring' }, t('score.go_consent'))));
  announce(t('score.consent_needed'));
}

function reasonsCard(reasons) {
  return h('section', { class: 'card', 'aria-labelledby': 'reasons-h' },
    h('h2', { id: 'reasons-h' }, t('score.reasons')),
    reasons.length ? h('ol', { class: 'list', id: 'reasons' }, reasons.map((r) => h('li', { class: 'reason' },
      h('div', { class: 'spread' }, h('strong', {}, r.text),
        h('span', { class: 'lost' }, t('score.points_lost', { n: r.points_lost }))),
      h('p', { class: 'tip' }, `${t('score.tip')}${colon()}${r.tip}`))))
      : h('p', {}, t('score.reasons_none')));
}

function positivesCard(positives) {
  if (!positives || !positives.length) return null;
  return h('section', { class: 'card', 'aria-labelledby': 'positives-h' },
    h('h2', { id: 'positives-h' }, t('score.positives')),
    h('ul', { class: 'list' }, positives.map((p) => h('li', { class: 'spread' },
      h('span', {}, p.text), h('span', { class: 'plus' }, `+${p.points}`)))));
}

// Records under dispute (异议标注): marked, never described as absent.
function disputedCard(disputed) {
  if (!disputed || !disputed.length) return null;
  return h('section', { class: 'card', 'aria-labelledby': 'disputed-h', id: 'disputed' },
    h('h2', { id: 'disputed-h' }, t('score.disputed')),
    h('ul', { class: 'list' }, disputed.map((d) => h('li', {},
      h('span', { class: 'badge warn' }, t('status.disputed')), ' ',
      h('span', {}, d.text)))));
}

function unusedCard(unused) {
  const items = unused || [];
  return h('section', { class: 'card', 'aria-labelledby': 'unused-h', id: 'unused' },
    h('h2', { id: 'unused-h' }, t('score.unused')),
    items.length ? [
      h('p', {}, t('score.unused_intro')),
      h('ul', { class: 'list' }, items.map((c) => h('li', {},
        h('div', { class: 'spread' }, h('strong', {}, c.name || categoryName(c.code)),
          h('a', { class: 'button', href: '/h5/consents?purpose=scoring' }, t('score.authorize'))),
        h('p', { class: 'small' }, t('score.unused_meaning')),
        sensitive.has(c.code) ? h('p', { class: 'small muted' }, t('score.unused_sensitive')) : null))),
    ] : h('p', {}, t('score.unused_none')));
}

async function loadSensitive() {
  try {
    const notices = await api('/api/v1/notices?purpose=scoring', { auth: null });
    if (notices.length) sensitive = new Set(notices[0].separate_consent_categories || []);
  } catch { /* keep the fallback */ }
}

async function render(root) {
  let score;
  try {
    [score] = await Promise.all([api(`/api/v1/me/score?lang=${getLang()}`), loadSensitive()]);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'consent_required') {
      consentNeeded(root);
      return;
    }
    throw error;
  }
  const label = `${t('app.name')} ${score.score}，${t('score.tier')} ${score.tier_name}`;
  const summary = h('section', { class: 'card', 'aria-labelledby': 'summary-h' },
    h('h2', { id: 'summary-h', class: 'visually-hidden' }, t('score.gauge')),
    h('div', { class: 'gauge-wrap' }, gauge(score.score, score.tier_name, label)),
    h('p', { class: 'visually-hidden', id: 'score-text' }, label),
    h('dl', { class: 'facts' },
      h('dt', {}, t('score.tier')), h('dd', { id: 'tier' }, score.tier_name),
      h('dt', {}, t('score.model')), h('dd', { id: 'model' }, score.model),
      h('dt', {}, t('score.computed_at')), h('dd', {}, when(score.computed_at))),
    h('p', { class: 'hint' }, t('score.privacy')));
  const dims = score.dimensions || [];
  const chartLabel = `${t('score.dimension_chart')}: ` +
    dims.map((d) => `${d.name} ${d.points}/${d.max_points}`).join('; ');
  const dimensions = h('section', { class: 'card', 'aria-labelledby': 'dims-h' },
    h('h2', { id: 'dims-h' }, t('score.dimensions')),
    h('div', { class: 'charts' }, radar(dims, chartLabel), bars(dims, chartLabel)));
  clear(root, summary, dimensions, disputedCard(score.disputed), reasonsCard(score.reasons || []),
    positivesCard(score.positives), unusedCard(score.unused_categories));
  root.dataset.score = String(score.score);
  announce(t('app.loaded'));
}

boot({ render });
