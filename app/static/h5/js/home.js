// Home: my score with its tier and trend, the points to the next tier, the benefits I can use
// now, what needs my action (a bill due, a dispute answered, a consent to renew, unread
// messages); the grid to every section is the page's menu. Signed out, it opens the sign-in page.
import { trend } from './charts.js';
import {
  announce, api, ApiError, boot, clear, getLang, h, loginHref, pick, sessionToken, t, when, yuan,
} from './core.js';

const DAY_MS = 86400000;
const SOON_DAYS = 30;

/** The next tier above `score` on the model's ladder and the points to it (null at the top). */
export function nextTier(score, scale) {
  const above = (scale.tiers || []).filter((tier) => tier.min > score).sort((a, b) => a.min - b.min);
  return above.length ? { tier: above[0], points: above[0].min - score } : null;
}

/** The change since the last different score (history newest first), or null. */
export function change(items) {
  const previous = items.slice(1).find((item) => item.score !== items[0].score);
  if (!previous) return items.length > 1 ? 0 : null;
  return items[0].score - previous.score;
}

function scoreCard(score, history) {
  const scale = score.scale || { tiers: [] };
  const next = nextTier(score.score, scale);
  const delta = change(history);
  const past = history.slice(0, 12).reverse();
  const trendLabel = `${t('score.trend')}${getLang() === 'zh' ? '：' : ': '}` +
    past.map((p) => `${when(p.computed_at, false)} ${p.score}`).join(getLang() === 'zh' ? '；' : '; ');
  return h('section', { class: 'card home-score', id: 'home-score', 'aria-labelledby': 'home-score-h' },
    h('h2', { id: 'home-score-h' }, t('home.my_score')),
    h('div', { class: 'spread' },
      h('p', { class: 'home-number' }, h('span', { class: 'big', id: 'home-number' }, String(score.score)),
        ' ', h('span', { class: 'badge ok', id: 'home-tier' }, score.tier_name)),
      delta == null ? null : h('p', { class: delta > 0 ? 'plus' : delta < 0 ? 'lost' : 'muted', id: 'home-trend' },
        delta === 0 ? t('home.trend_same') : t(delta > 0 ? 'home.trend_up' : 'home.trend_down', { n: Math.abs(delta) }))),
    past.length > 1 ? h('div', { class: 'sparkline' }, trend(past, trendLabel, score.scale, true)) : null,
    h('p', { id: 'home-next' }, next ? t('home.next_tier', { n: next.points, tier: next.tier.name })
      : t('home.top_tier')),
    h('a', { class: 'button primary', href: '/h5/score' }, t('home.score_details')));
}

function consentCard() {
  return h('section', { class: 'card notice-warn', id: 'home-score', 'aria-labelledby': 'home-score-h' },
    h('h2', { id: 'home-score-h' }, t('score.consent_needed')),
    h('p', {}, t('score.consent_needed_text')),
    h('a', { class: 'button primary', href: '/h5/consents?purpose=scoring' }, t('score.go_consent')));
}

function usableCard(entitlements) {
  const usable = entitlements.filter((e) => e.usable);
  return h('section', { class: 'card', id: 'home-usable', 'aria-labelledby': 'home-usable-h' },
    h('h2', { id: 'home-usable-h' }, t('home.usable')),
    usable.length ? h('ul', { class: 'list' }, usable.map((e) => h('li', { class: 'spread' },
      h('span', {}, pick(e.name)),
      h('a', { href: `/h5/entitlements?scenario=${encodeURIComponent(e.scenario)}` }, t('ent.show_code')))))
      : h('p', {}, t('home.usable_none')),
    h('a', { href: '/h5/entitlements' }, t('home.all_benefits')));
}

/** What needs the resident: bills to pay, disputes answered lately, consents to renew or
 *  ending soon, unread messages. */
function actions({ credit, disputes, consents, notes }) {
  const items = [];
  const now = Date.now();
  for (const bill of (credit && credit.bills) || []) {
    if (bill.owed_fen <= 0) continue;
    items.push({ tone: bill.status === 'overdue' ? 'bad' : 'warn', href: '/h5/medical',
      text: t(bill.status === 'overdue' ? 'home.bill_overdue' : 'home.bill_due',
        { amount: yuan(bill.owed_fen), date: when(bill.due_at, false) }) });
  }
  for (const d of (disputes && disputes.items) || []) {
    if (d.status !== 'resolved' || !d.resolved_at) continue;
    if (now - new Date(d.resolved_at).getTime() > SOON_DAYS * DAY_MS) continue;
    items.push({ tone: 'ok', href: '/h5/disputes', text: t('home.dispute_answered',
      { date: when(d.resolved_at, false) }) });
  }
  for (const r of (consents && consents.reconsent) || []) {
    items.push({ tone: 'warn', href: `/h5/consents?purpose=${encodeURIComponent(r.purpose)}`,
      text: t('home.consent_renew') });
  }
  for (const c of (consents && consents.items) || []) {
    if (c.status !== 'active' || !c.expires_at) continue;
    const left = new Date(c.expires_at).getTime() - now;
    if (left > SOON_DAYS * DAY_MS) continue;
    items.push({ tone: 'warn', href: `/h5/consents?purpose=${encodeURIComponent(c.purpose)}`,
      text: t('home.consent_ending', { date: when(c.expires_at, false) }) });
  }
  if (notes && notes.unread) {
    items.push({ tone: 'plain', href: '/h5/notifications', text: t('home.unread', { n: notes.unread }) });
  }
  return h('section', { class: 'card', id: 'home-actions', 'aria-labelledby': 'home-actions-h' },
    h('h2', { id: 'home-actions-h' }, t('home.actions')),
    items.length ? h('ul', { class: 'list' }, items.map((item) => h('li', { dataset: { tone: item.tone } },
      h('a', { class: `action action-${item.tone}`, href: item.href }, item.text))))
      : h('p', {}, t('home.actions_none')));
}

const optional = (promise) => promise.catch(() => null);

async function render(root) {
  const [score, history, entitlements, credit, disputes, consents, notes] = await Promise.all([
    api(`/api/v1/me/score?lang=${getLang()}`).catch((error) => {
      if (error instanceof ApiError && error.code === 'consent_required') return null;
      throw error;
    }),
    optional(api('/api/v1/me/score/history')),
    api('/api/v1/me/entitlements'),
    optional(api('/api/v1/me/medical-credit')),
    optional(api('/api/v1/me/disputes')),
    optional(api('/api/v1/me/consents')),
    optional(api('/api/v1/me/notifications?limit=1')),
  ]);
  clear(root,
    score ? scoreCard(score, (history && history.items) || []) : consentCard(),
    actions({ credit, disputes, consents, notes }),
    usableCard(entitlements.items || []));
  if (score) root.dataset.score = String(score.score);
  announce(t('app.loaded'));
}

if (!sessionToken() && !/(?:^#|&)token=/.test(location.hash)) {
  location.replace(loginHref());
} else {
  boot({ render });
}
