// Entitlements: every scenario, eligible or why not; a QR code for the chosen scenario and
// partner that refreshes itself before it expires.
//
// Timing uses the server's own clock: a token's lifetime is its `exp - iat` (both set by the
// server), and the browser only measures how long ago it received the token. A phone whose
// clock is wrong still refreshes on time.
import {
  alertBox, announce, api, ApiError, boot, clear, colon, discount, errorBox, errorText, h, jwsPayload,
  partnerName, pick, t, when, yuan,
} from './core.js';

const TICK_MS = 1000;
const RETRY_MS = 5000;

let catalogue = [];
let panel = null;   // the open QR panel's state: {scenario, partner, timer, ...}

function limitText(key, value) {
  if (key.endsWith('_fen')) return yuan(value);
  if (key === 'discount_pct') return discount(value);
  if (key.endsWith('_pct')) return `${value}%`;
  if (typeof value === 'boolean') return value ? t('app.yes') : t('app.no');
  return String(value);
}

function limits(entitlement) {
  const entries = Object.entries(entitlement.limits || {});
  if (!entries.length) return null;
  return h('dl', { class: 'facts small' }, entries.map(([key, value]) => {
    const label = t(`limit.${key}`);
    return [h('dt', {}, label === `limit.${key}` ? key : label), h('dd', {}, limitText(key, value))];
  }));
}

function badge(e) {
  if (e.usable) return h('span', { class: 'badge ok' }, t('ent.usable'));
  if (e.eligible) return h('span', { class: 'badge warn' }, t('ent.needs_consent'));
  return h('span', { class: 'badge plain' }, t('ent.not_eligible'));
}

function card(e) {
  const consentPurpose = (e.missing_consent || [])[0];
  return h('section', { class: 'card', id: `ent-${e.scenario}`, 'aria-labelledby': `ent-${e.scenario}-h`,
    dataset: { scenario: e.scenario, usable: String(e.usable) } },
    h('div', { class: 'spread' }, h('h2', { id: `ent-${e.scenario}-h` }, pick(e.name)), badge(e)),
    limits(e),
    // An eligibility override a human review granted: shown with its end date.
    e.override ? h('p', { class: 'small', 'data-override': e.override.review_id },
      t('ent.override', { date: when(e.override.ends_at) })) : null,
    e.reasons && e.reasons.length ? h('div', { class: 'small' },
      h('strong', {}, t('ent.why_not') + colon()),
      h('ul', {}, e.reasons.map((r) => h('li', {}, pick(r))))) : null,
    h('div', { class: 'row' },
      e.usable ? h('button', { type: 'button', class: 'button primary', 'data-action': 'show-code',
        onclick: () => openPanel(e) }, t('ent.show_code')) : null,
      consentPurpose ? h('a', { class: 'button', href: `/h5/consents?purpose=${encodeURIComponent(consentPurpose)}` },
        t('ent.authorize')) : null));
}

// -- the QR panel -----------------------------------------------------------------------------

function stopPanel() {
  if (panel) clearInterval(panel.timer);
  panel = null;
  const old = document.getElementById('qr-panel');
  if (old) old.remove();
}

function formatSeconds(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// The code's digits as a cashier types them: "28 1234 5678 9012 3456".
function grouped(code) {
  return [code.slice(0, 2), ...(code.slice(2).match(/.{1,4}/g) || [])].join(' ');
}

function showQr(state, issued) {
  // Parsed as HTML so the <svg> lands in the SVG namespace (the API's SVG has no xmlns); a
  // parsed document never runs scripts, and only the <svg> element is taken from it.
  const parsed = new DOMParser().parseFromString(issued.qr_svg, 'text/html');
  const svgEl = parsed.body.firstElementChild;
  if (!svgEl || svgEl.namespaceURI !== 'http://www.w3.org/2000/svg') throw new Error('not an svg');
  const width = svgEl.getAttribute('width');
  const height = svgEl.getAttribute('height');
  if (width && height && !svgEl.getAttribute('viewBox')) {
    svgEl.setAttribute('viewBox', `0 0 ${width} ${height}`);
  }
  svgEl.removeAttribute('width');
  svgEl.removeAttribute('height');
  svgEl.setAttribute('role', 'img');
  svgEl.setAttribute('aria-label', t('ent.qr_alt'));
  state.generation += 1;
  clear(state.qr, document.importNode(svgEl, true),
    h('p', { class: 'mono code-digits', id: 'code-digits', translate: 'no' }, grouped(issued.code)));
  state.qr.classList.remove('stale');
  state.qr.dataset.generation = String(state.generation);
}

async function issue(state) {
  if (state.inFlight) return;
  state.inFlight = true;
  try {
    const issued = await api('/api/v1/me/tokens', {
      method: 'POST', body: { scenario: state.scenario.scenario, partner: state.partner } });
    const claims = jwsPayload(issued.token) || {};
    const lifetime = claims.exp && claims.iat ? claims.exp - claims.iat
      : state.scenario.token_ttl_seconds || 60;
    state.lifetime = lifetime;
    state.refreshAfter = lifetime - Math.min(30, Math.max(5, lifetime * 0.2));
    state.receivedAt = Date.now();
    state.retryAt = null;
    showQr(state, issued);
    clear(state.problem);
    if (state.generation > 1) announce(t('ent.refreshed'));
  } catch (error) {
    // Retry by itself only when trying again can help (network, server); not after a refusal.
    const transient = !(error instanceof ApiError) || error.kind === 'network' || error.status >= 500;
    state.retryAt = transient ? Date.now() + RETRY_MS : Infinity;
    clear(state.problem, errorBox(error));
    announce(errorText(error));
  } finally {
    state.inFlight = false;
    tick(state);
  }
}

function tick(state) {
  if (panel !== state || state.receivedAt == null) {
    if (panel === state && state.retryAt && Date.now() >= state.retryAt) issue(state);
    return;
  }
  const elapsed = (Date.now() - state.receivedAt) / 1000;
  const expired = elapsed >= state.lifetime;
  const due = elapsed >= state.refreshAfter && (!state.retryAt || Date.now() >= state.retryAt);
  if (expired) {
    state.qr.classList.add('stale');
    state.countdown.textContent = t('ent.expired');
  } else {
    state.countdown.textContent = t('ent.expires_in', { t: formatSeconds(state.refreshAfter - elapsed) });
  }
  if (due && !state.inFlight && document.visibilityState !== 'hidden') issue(state);
}

async function openPanel(e) {
  stopPanel();
  const qr = h('div', { class: 'qr', id: 'qr', 'data-generation': '0' });
  const countdown = h('p', { class: 'countdown', id: 'countdown' });
  const problem = h('div', {});
  const picker = h('div', {});
  const state = { scenario: e, partner: null, qr, countdown, problem, generation: 0,
    receivedAt: null, timer: null, inFlight: false };
  const section = h('section', { class: 'card qr-panel', id: 'qr-panel', 'aria-labelledby': 'qr-h',
    tabindex: '-1' },
    h('h2', { id: 'qr-h' }, `${t('ent.qr_title')} · ${pick(e.name)}`),
    picker, qr, countdown, h('p', { class: 'hint' }, t('ent.qr_hint')), problem,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'button', 'data-action': 'refresh',
        onclick: () => { if (state.partner) issue(state); } }, t('ent.refresh')),
      h('button', { type: 'button', class: 'button primary', 'data-action': 'done',
        onclick: () => { stopPanel(); document.getElementById(`ent-${e.scenario}`)?.focus(); } },
      t('ent.done'))));
  const root = document.getElementById('content');
  root.prepend(section);
  panel = state;
  state.timer = setInterval(() => tick(state), TICK_MS);
  section.focus();

  let partners;
  try {
    partners = (await api(`/api/v1/scenarios/${encodeURIComponent(e.scenario)}/partners`, { auth: null })).items;
  } catch (error) {
    clear(problem, errorBox(error, () => openPanel(e)));
    return;
  }
  if (!partners.length) {
    clear(picker, alertBox(t('ent.no_partners')));
    return;
  }
  const wanted = new URLSearchParams(location.search).get('partner');
  const select = h('select', { id: 'partner', name: 'partner' }, partners.map((p) =>
    h('option', { value: p.client_id, selected: p.client_id === wanted }, partnerName(p.name))));
  select.addEventListener('change', () => { state.partner = select.value; state.generation = 0; issue(state); });
  clear(picker, h('label', { for: 'partner' }, t('ent.partner')), select);
  state.partner = select.value;
  issue(state);
}

document.addEventListener('visibilitychange', () => { if (panel) tick(panel); });

async function render(root) {
  stopPanel();
  const answer = await api('/api/v1/me/entitlements');
  catalogue = answer.items;
  const order = (e) => (e.usable ? 0 : e.eligible ? 1 : 2);
  const items = catalogue.slice().sort((a, b) => order(a) - order(b));
  clear(root, items.map(card));
  const wanted = new URLSearchParams(location.search).get('scenario');
  const chosen = wanted && catalogue.find((e) => e.scenario === wanted && e.usable);
  if (chosen) openPanel(chosen);
  announce(t('app.loaded'));
}

boot({ render });
