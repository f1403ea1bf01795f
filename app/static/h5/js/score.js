// My score: the number on a gauge over the model's real range, how the parts add up (base points
// + dimensions), the trend of past scores, the tier ladder, what each benefit not yet reached
// still needs, records under dispute, reasons with tips, positives, the data I could add (and
// the most it could bring), and "how to improve" — the simulator, never stored.
import { bars, gauge, radar, trend } from './charts.js';
import {
  announce, api, ApiError, boot, categoryName, clear, colon, errorBox, getLang, h, pick, t, when,
} from './core.js';

// Categories that need a separate acknowledgement (the scoring notice says which; this is the
// fallback while the notice is loading).
let sensitive = new Set(['scenario_performance']);

const list = (items) => items.join(getLang() === 'zh' ? '、' : ', ');

function consentNeeded(root) {
  clear(root, h('section', { class: 'notice notice-warn', role: 'alert', id: 'consent-needed' },
    h('h2', {}, t('score.consent_needed')),
    h('p', {}, t('score.consent_needed_text')),
    h('a', { class: 'button primary', href: '/h5/consents?purpose=scoring' }, t('score.go_consent'))));
  announce(t('score.consent_needed'));
}

function summaryCard(score) {
  const label = t('score.gauge_label', { score: score.score, tier: score.tier_name,
    min: score.scale ? score.scale.min : '', max: score.scale ? score.scale.max : '' });
  const dims = score.dimensions || [];
  const base = score.scale ? score.scale.base_points : null;
  const parts = dims.reduce((sum, d) => sum + d.points, 0);
  return h('section', { class: 'card', 'aria-labelledby': 'summary-h' },
    h('h2', { id: 'summary-h', class: 'visually-hidden' }, t('score.gauge')),
    h('div', { class: 'gauge-wrap' }, gauge(score.score, score.tier_name, label, score.scale)),
    h('p', { class: 'visually-hidden', id: 'score-text' }, label),
    base != null ? h('p', { class: 'sum', id: 'sum' },
      t('score.sum', { base, parts, score: base + parts })) : null,
    h('dl', { class: 'facts' },
      h('dt', {}, t('score.tier')), h('dd', { id: 'tier' }, score.tier_name),
      h('dt', {}, t('score.model')), h('dd', { id: 'model', class: 'mono' }, score.model),
      h('dt', {}, t('score.computed_at')), h('dd', {}, when(score.computed_at))),
    h('p', { class: 'hint' }, t('score.privacy')));
}

function dimensionsCard(score) {
  const dims = score.dimensions || [];
  const chartLabel = `${t('score.dimension_chart')}${colon()}` +
    dims.map((d) => `${d.name} ${d.points}/${d.max_points}`).join(getLang() === 'zh' ? '；' : '; ');
  const base = score.scale ? score.scale.base_points : null;
  return h('section', { class: 'card', 'aria-labelledby': 'dims-h' },
    h('h2', { id: 'dims-h' }, t('score.dimensions')),
    base != null ? h('p', { class: 'small', id: 'base' }, t('score.base', { n: base })) : null,
    h('div', { class: 'charts' }, radar(dims, chartLabel), bars(dims, chartLabel)));
}

function trendCard(history, scale) {
  const past = history.slice(0, 24).reverse();
  if (!past.length) return null;
  const sep = getLang() === 'zh' ? '；' : '; ';
  const label = `${t('score.trend')}${colon()}` +
    past.map((p) => `${when(p.computed_at, false)} ${p.score}`).join(sep);
  return h('section', { class: 'card', 'aria-labelledby': 'trend-h', id: 'trend' },
    h('h2', { id: 'trend-h' }, t('score.trend')),
    past.length > 1 ? trend(past.map((p) => ({ score: p.score, date: when(p.computed_at, false) })), label, scale)
      : h('p', {}, t('score.trend_first')),
    h('details', {}, h('summary', {}, t('score.trend_table')),
      h('table', { class: 'table' },
        h('caption', { class: 'visually-hidden' }, t('score.trend')),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('score.computed_at')),
          h('th', { scope: 'col' }, t('app.name')))),
        h('tbody', {}, history.slice(0, 24).map((p) => h('tr', {},
          h('td', {}, when(p.computed_at)), h('td', {}, String(p.score))))))));
}

function ladderCard(score) {
  if (!score.scale) return null;
  const tiers = score.scale.tiers.slice().sort((a, b) => b.min - a.min);
  return h('section', { class: 'card', 'aria-labelledby': 'ladder-h', id: 'ladder' },
    h('h2', { id: 'ladder-h' }, t('score.ladder')),
    h('ol', { class: 'ladder' }, tiers.map((tier) => {
      const here = tier.code === score.tier;
      const short = tier.min - score.score;
      return h('li', { class: here ? 'here' : short > 0 ? 'above' : 'below',
        'aria-current': here ? 'step' : null, dataset: { tier: tier.code } },
        h('span', { class: 'ladder-name' }, tier.name),
        h('span', { class: 'ladder-min' }, tier.min > score.scale.min
          ? t('score.tier_from', { n: tier.min })
          : t('score.tier_below', { n: Math.min(...tiers.filter((x) => x.min > tier.min).map((x) => x.min)) })),
        h('span', { class: 'ladder-state' }, here ? t('score.you_are_here')
          : short > 0 ? t('score.points_short', { n: short }) : t('score.reached')));
    })));
}

/** For each benefit not usable yet, what is missing: the tier and points short, or an
 *  exclusion (the reasons the eligibility rules give); those that only wait for the resident's
 *  consent are listed together. */
function missingCard(entitlements, score) {
  const tiers = score.scale ? score.scale.tiers : [];
  const pending = entitlements.filter((e) => !e.usable);
  if (!pending.length) return null;
  const shortOf = (e) => {
    const needed = tiers.find((tier) => tier.code === e.min_tier);
    return needed && needed.min > score.score ? { tier: needed, n: needed.min - score.score } : null;
  };
  const consentOnly = pending.filter((e) => e.eligible && (e.missing_consent || []).length);
  // Benefits held back by the same things are listed together ("存在有效的失信被执行人记录" for
  // every one of them reads once).
  const groups = new Map();
  for (const e of pending.filter((x) => !consentOnly.includes(x))) {
    const short = shortOf(e);
    const lines = [];
    if (short) lines.push(t('score.missing_tier', { tier: short.tier.name, n: short.n }));
    for (const reason of e.reasons || []) lines.push(pick(reason));
    if ((e.missing_consent || []).length) lines.push(t('score.missing_consent'));
    if (!lines.length) lines.push(t('score.missing_other'));
    const key = lines.join('\n');
    if (!groups.has(key)) groups.set(key, { lines, items: [] });
    groups.get(key).items.push(e);
  }
  return h('section', { class: 'card', 'aria-labelledby': 'missing-h', id: 'missing' },
    h('h2', { id: 'missing-h' }, t('score.missing')),
    groups.size ? h('ul', { class: 'list' }, [...groups.values()].map((g) => h('li', {
      dataset: { scenarios: g.items.map((e) => e.scenario).join(' ') } },
      h('strong', {}, list(g.items.map((e) => pick(e.name)))),
      h('ul', { class: 'small' }, g.lines.map((line) => h('li', {}, line)))))) : null,
    consentOnly.length ? h('div', { id: 'consent-only' },
      h('p', {}, t('score.consent_only', { list: list(consentOnly.map((e) => pick(e.name))) })),
      h('a', { class: 'button', href: '/h5/consents' }, t('ent.authorize'))) : null);
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

/** A category not added: {category, name{zh,en}, max_points} (or the older {code, name}). */
const unusedCode = (c) => c.category || c.code;

function unusedCard(unused) {
  const items = unused || [];
  return h('section', { class: 'card', 'aria-labelledby': 'unused-h', id: 'unused' },
    h('h2', { id: 'unused-h' }, t('score.unused')),
    items.length ? [
      h('p', {}, t('score.unused_intro')),
      h('ul', { class: 'list' }, items.filter(unusedCode).map((c) => h('li', { dataset: { category: unusedCode(c) } },
        h('div', { class: 'spread' }, h('strong', {}, pick(c.name) || categoryName(unusedCode(c))),
          h('a', { class: 'button', href: '/h5/consents?purpose=scoring' },
            c.max_points != null ? t('score.add_data', { n: c.max_points }) : t('score.authorize'))),
        sensitive.has(unusedCode(c)) ? h('p', { class: 'small muted' }, t('score.unused_sensitive')) : null))),
    ] : h('p', {}, t('score.unused_none')));
}

// -- how to improve (the simulator) ---------------------------------------------------------

/** The changes a resident can try, from what the page knows: repairing a negative record,
 *  paying a bill, volunteering, months of paying on time, adding a supplement. Each is one
 *  `changes` item of the simulator (scoring/simulate.py names the kinds). */
function choices(score, credit, records) {
  const out = [];
  for (const r of records) {
    if (r.severity == null || !['active', 'disputed'].includes(r.status)) continue;
    out.push({ id: `repair-${r.id}`, change: { kind: 'repair_record', record_id: r.id },
      text: t('sim.repair', { name: recordName(r), date: when(r.occurred_at, false) }) });
  }
  for (const bill of (credit && credit.bills) || []) {
    if (bill.owed_fen > 0) {
      out.push({ id: `pay-${bill.bill_id}`, change: { kind: 'pay_bill', bill_id: bill.bill_id },
        text: t('sim.pay_bill', { date: when(bill.due_at, false) }) });
    }
  }
  out.push({ id: 'volunteer', change: { kind: 'volunteer_hours', hours: 20 }, text: t('sim.volunteer', { n: 20 }) });
  out.push({ id: 'on-time', change: { kind: 'keep_paying', months: 12 }, text: t('sim.on_time', { n: 12 }) });
  for (const c of score.unused_categories || []) {
    const code = unusedCode(c);
    if (!code) continue;
    out.push({ id: `add-${code}`, change: { kind: 'add_supplement', category: code },
      text: t('sim.add_category', { name: pick(c.name) || categoryName(code) }) });
  }
  return out;
}

function recordName(record) {
  const key = `rtype.${record.category}.${record.type}`;
  const text = t(key);
  return text === key ? categoryName(record.category) : text;
}

/** What the simulator says about a repair that cannot be applied for yet. */
function notes(answer) {
  return (answer.notes || []).filter((n) => n.kind === 'repair_record' && !n.eligible_now)
    .map((n) => h('p', { class: 'small' }, n.earliest_at
      ? t('sim.repair_from', { date: when(n.earliest_at, false) }) : t('sim.repair_not_now')));
}

function improveCard(score, credit, records) {
  const options = choices(score, credit, records);
  const result = h('div', { id: 'sim-result', 'aria-live': 'polite' });
  const form = h('form', { novalidate: true, id: 'improve-form' },
    h('fieldset', {}, h('legend', {}, t('sim.choose')),
      options.map((o) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'change', value: o.id }), h('span', {}, o.text)))),
    h('button', { type: 'submit', class: 'button primary' }, t('sim.run')), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const picked = new Set([...form.querySelectorAll('input[name="change"]:checked')].map((i) => i.value));
    const changes = options.filter((o) => picked.has(o.id)).map((o) => o.change);
    if (!changes.length) { clear(result, h('p', { role: 'alert' }, t('sim.none_chosen'))); return; }
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const answer = await api(`/api/v1/me/score/simulate?lang=${getLang()}`, { method: 'POST', body: { changes } });
      const unlocks = (answer.unlocks || []).map((u) => pick(u.name));
      const delta = answer.delta ?? (answer.score - score.score);
      clear(result, h('div', { class: 'notice notice-ok' },
        h('p', { class: 'sim-score' }, t('sim.projected', { score: answer.score,
          tier: answer.tier_name || tierName(score, answer.tier), delta: `${delta >= 0 ? '+' : ''}${delta}` })),
        unlocks.length ? h('p', {}, t('sim.unlocks', { list: list(unlocks) })) : h('p', {}, t('sim.unlocks_none')),
        notes(answer), h('p', { class: 'hint' }, t('sim.private'))));
      announce(t('sim.projected', { score: answer.score, tier: answer.tier_name || tierName(score, answer.tier),
        delta: `${delta >= 0 ? '+' : ''}${delta}` }));
    } catch (error) {
      clear(result, error instanceof ApiError && (error.status === 404 || error.status === 405)
        ? h('p', {}, t('sim.unavailable')) : errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'improve-h', id: 'improve' },
    h('h2', { id: 'improve-h' }, t('sim.title')), h('p', { class: 'small' }, t('sim.intro')), form);
}

function tierName(score, code) {
  const tier = score.scale && score.scale.tiers.find((x) => x.code === code);
  return tier ? tier.name : code;
}

async function loadSensitive() {
  try {
    const notices = await api('/api/v1/notices?purpose=scoring', { auth: null });
    if (notices.length) sensitive = new Set(notices[0].separate_consent_categories || []);
  } catch { /* keep the fallback */ }
}

async function render(root) {
  let score;
  let rest;
  try {
    [score, ...rest] = await Promise.all([
      api(`/api/v1/me/score?lang=${getLang()}`),
      api('/api/v1/me/score/history').catch(() => ({ items: [] })),
      api('/api/v1/me/entitlements').catch(() => ({ items: [] })),
      api('/api/v1/me/medical-credit').catch(() => null),
      api('/api/v1/me/records').catch(() => ({ items: [] })),
      loadSensitive()]);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'consent_required') {
      consentNeeded(root);
      return;
    }
    throw error;
  }
  const [history, entitlements, credit, records] = rest;
  clear(root, summaryCard(score), dimensionsCard(score), trendCard(history.items, score.scale),
    ladderCard(score), missingCard(entitlements.items, score), disputedCard(score.disputed),
    reasonsCard(score.reasons || []), positivesCard(score.positives),
    unusedCard(score.unused_categories), improveCard(score, credit, records.items));
  root.dataset.score = String(score.score);
  announce(t('app.loaded'));
}

boot({ render });
