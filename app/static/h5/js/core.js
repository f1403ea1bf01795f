// Shared by every page: texts in zh/en, the session, calls to the JSON APIs, plain-language
// errors, and a tiny DOM builder (text nodes, never HTML strings: nothing a server returns runs).

const LANG_KEY = 'pc.lang';        // localStorage: the language choice, nothing personal
const ELDER_KEY = 'pc.elder';      // localStorage: elder mode (适老化) on or off, nothing personal
const SESSION_KEY = 'pc.session';  // sessionStorage: the resident's session token
const TIMEOUT_MS = 15000;

// Elder mode before anything renders, so large text never flashes small first.
function readElder() {
  try { return localStorage.getItem(ELDER_KEY) === '1'; } catch { return false; }
}
document.documentElement.classList.toggle('elder', readElder());

let dict = null;
let lang = 'zh';

export function getLang() { return lang; }

export function t(key, vars) {
  const table = (dict && dict[lang]) || {};
  let text = table[key] ?? (dict && dict.zh && dict.zh[key]) ?? key;
  for (const [name, value] of Object.entries(vars || {})) {
    text = text.replaceAll(`{${name}}`, String(value));
  }
  return text;
}

/** Pick the text for the current language from {zh, en} (or a plain string). */
export function pick(value) {
  if (value == null) return '';
  if (typeof value === 'string') return value;
  return value[lang] ?? value.zh ?? value.en ?? '';
}

async function loadDict() {
  const response = await fetch('/static/h5/i18n.json', { headers: { Accept: 'application/json' } });
  dict = await response.json();
}

function readLang() {
  try { return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh'; } catch { return 'zh'; }
}

function saveLang(value) {
  try { localStorage.setItem(LANG_KEY, value); } catch { /* private mode: keep in memory */ }
}

/** Fill every [data-i18n] element (and aria-label / placeholder variants) in `root`. */
export function applyTexts(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  }
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  }
  if (root === document) {
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    const heading = document.querySelector('h1[data-i18n]');
    document.title = `${heading ? heading.textContent + ' · ' : ''}${t('app.name')}`;
  }
}

// -- DOM --------------------------------------------------------------------------------------

/** h('p', {class: 'x', onclick: fn}, 'text', child) -> element; strings become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let announceTimer = null;

/** Say `message` in the page's polite live region (screen readers read it). */
export function announce(message) {
  const region = document.getElementById('status');
  if (!region) return;
  region.textContent = '';
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => { region.textContent = message; }, 50);
}

// -- formatting -------------------------------------------------------------------------------

export function yuan(fen) {
  if (fen == null) return '—';
  const value = Number(fen) / 100;
  return '¥' + value.toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN',
    { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** Parse "12.5" (yuan) into 1250 fen; null when it is not a positive amount. */
export function toFen(text) {
  const value = String(text || '').trim();
  if (!/^\d{1,9}(\.\d{1,2})?$/.test(value)) return null;
  const [whole, frac = ''] = value.split('.');
  const fen = Number(whole) * 100 + Number((frac + '00').slice(0, 2));
  return fen > 0 ? fen : null;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** One date format on every page, in China Standard Time: 2026年11月1日 16:00 / 1 Nov 2026, 16:00. */
export function when(iso, withTime = true) {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit',
    minute: '2-digit', hourCycle: 'h23' }).formatToParts(date).map((p) => [p.type, p.value]));
  return dayText(parts.year, parts.month, parts.day, withTime ? `${parts.hour}:${parts.minute}` : null);
}

/** A calendar day (and a time of day, "16:00") in the pages' one format. */
export function dayText(year, month, day, time = null) {
  const text = t('date.day', { y: Number(year), m: Number(month), d: Number(day),
    mon: MONTHS[Number(month) - 1] });
  return time ? t('date.day_time', { day: text, time }) : text;
}

/** An ISO-8601 duration (P3Y, P6M, P30D, PT24H) in words; null when it is not one. */
export function duration(text) {
  const match = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/
    .exec(String(text || '').trim());
  if (!match || match.slice(1).every((v) => v == null)) return null;
  const units = ['year', 'month', 'week', 'day', 'hour', 'minute'];
  return units.map((unit, i) => (match[i + 1] == null ? null
    : t(`unit.${unit}${Number(match[i + 1]) === 1 ? '' : 's'}`, { n: Number(match[i + 1]) })))
    .filter(Boolean).join(lang === 'zh' ? '' : ' ');
}

/** A retention period ("P3Y after withdrawal") in words: 撤回后3年 / 3 years after withdrawal. */
export function retention(text) {
  const match = /^(P\S+)(?:\s+after\s+(\w+))?$/.exec(String(text || '').trim());
  const span = match && duration(match[1]);
  if (!span) return text || '—';
  if (!match[2]) return span;
  const eventKey = `retention.${match[2]}`;
  const event = t(eventKey);
  return t('retention.after', { event: event === eventKey ? match[2] : event, span });
}

/** A discount of `pct` per cent: 85折 / 9折 in Chinese (the share paid), "15% off" in English. */
export function discount(pct) {
  const pay = 100 - Number(pct);
  return t('limit.discount_off', { n: lang === 'en' ? pct : pay % 10 === 0 ? pay / 10 : pay });
}

/** A partner's name in the page's language: "演示医院 Demo Hospital" is shown as one or the
 *  other (partners register one display name, Chinese first). */
export function partnerName(name) {
  const value = String(name || '');
  const match = /^([^A-Za-z]*[\u3400-\u9fff][^A-Za-z]*?)\s+([A-Za-z].*)$/.exec(value);
  if (!match) return value;
  return lang === 'en' ? match[2] : match[1];
}

/** "：" in Chinese, ": " in English. */
export function colon() { return lang === 'zh' ? '：' : ': '; }

/** The claims of a compact JWS (tokens, receipts), read without verifying: display only. */
export function jwsPayload(compact) {
  try {
    const part = String(compact).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(part + '='.repeat((4 - part.length % 4) % 4)),
      (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

export function statusText(code) {
  const key = `status.${code}`;
  const text = t(key);
  return text === key ? String(code) : text;
}

export function categoryName(code) {
  const key = `cat.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

// -- session and API --------------------------------------------------------------------------

export function sessionToken() {
  try { return sessionStorage.getItem(SESSION_KEY); } catch { return null; }
}

export function setSession(token) { sessionStorage.setItem(SESSION_KEY, token); }

export function clearSession() {
  try { sessionStorage.removeItem(SESSION_KEY); } catch { /* nothing to clear */ }
}

/** The mini-program opens a page with #token=… (a fragment never reaches a server log). */
function adoptFragmentToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  setSession(decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

export class ApiError extends Error {
  constructor({ kind, status = 0, code = '', detail = '', detailZh = '', body = null }) {
    super(detail || code || kind);
    Object.assign(this, { kind, status, code, detail, detailZh, body });
  }
}

/**
 * Call a JSON API. `auth`: 'resident' (session token), a partner key string, or null.
 * Resolves to the parsed body (null for 204); rejects with ApiError (kind: network | http).
 */
export async function api(path, { method = 'GET', body, auth = 'resident', accept } = {}) {
  const headers = { Accept: accept || 'application/json' };
  const credential = auth === 'resident' ? sessionToken() : auth;
  if (credential) headers.Authorization = `Bearer ${credential}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal, cache: 'no-store', credentials: 'omit',
    });
  } catch (error) {
    throw new ApiError({ kind: 'network', detail: String(error && error.message) });
  } finally {
    clearTimeout(timer);
  }
  const type = response.headers.get('Content-Type') || '';
  const data = response.status === 204 ? null
    : type.includes('json') ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const problem = data && typeof data === 'object' ? data : {};
    throw new ApiError({ kind: 'http', status: response.status, code: problem.code || '',
      detail: problem.detail || '', detailZh: problem.detail_zh || '', body: problem });
  }
  return data;
}

/** The plain-language text for an error, in the current language. */
export function errorText(error) {
  if (!(error instanceof ApiError)) return t('err.generic');
  if (error.kind === 'network') return t('err.network');
  if (error.status === 401) return t('err.session');
  if (error.status >= 500) return t('err.server');
  if (error.status === 404 && !error.code) return t('err.not_found');
  const detail = lang === 'zh' ? (error.detailZh || error.detail) : (error.detail || error.detailZh);
  return detail || t('err.generic');
}

export function loginHref() {
  return `/h5/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}

/** An error box (role=alert) with a retry button or, for an ended session, a sign-in link. */
export function errorBox(error, retry) {
  const box = h('div', { class: 'notice notice-error', role: 'alert' }, h('p', {}, errorText(error)));
  if (error instanceof ApiError && error.status === 401) {
    clearSession();
    box.append(h('a', { class: 'button', href: loginHref() }, t('err.sign_in')));
  } else if (retry) {
    box.append(h('button', { type: 'button', class: 'button', onclick: retry }, t('app.retry')));
  }
  return box;
}

/** A plain-language problem the page found itself (role=alert). */
export function alertBox(text) {
  return h('div', { class: 'notice notice-error', role: 'alert' }, h('p', {}, text));
}

export function loading() {
  return h('p', { class: 'loading', 'aria-busy': 'true' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('app.loading'));
}

// -- page start -------------------------------------------------------------------------------

/**
 * Start a page: texts, language switch, session check, then `render(root)` with loading and
 * error states. `render` is called again when the language changes.
 */
export async function boot({ render, session = true }) {
  lang = readLang();
  adoptFragmentToken();
  try { await loadDict(); } catch { dict = null; }
  applyTexts();
  const root = document.getElementById('content');

  const run = async () => {
    if (!root) {  // a page with its own static markup (the counter)
      await render(null);
      return;
    }
    if (session && !sessionToken()) {
      clear(root, h('div', { class: 'notice', role: 'alert' }, h('p', {}, t('err.no_session')),
        h('a', { class: 'button', href: loginHref() }, t('err.sign_in'))));
      return;
    }
    clear(root, loading());
    try {
      await render(root);
      root.dataset.ready = 'true';
    } catch (error) {
      clear(root, errorBox(error, run));
      announce(errorText(error));
    }
  };

  const toggle = document.getElementById('lang-toggle');
  if (toggle) {
    toggle.addEventListener('click', () => {
      lang = lang === 'zh' ? 'en' : 'zh';
      saveLang(lang);
      applyTexts();
      run();
    });
  }
  const elder = document.getElementById('elder-toggle');
  if (elder) {
    elder.setAttribute('aria-pressed', String(readElder()));
    elder.addEventListener('click', () => {
      const on = !readElder();
      try { localStorage.setItem(ELDER_KEY, on ? '1' : '0'); } catch { /* private mode */ }
      document.documentElement.classList.toggle('elder', on);
      elder.setAttribute('aria-pressed', String(on));
      announce(t(on ? 'app.elder_on' : 'app.elder_off'));
    });
  }
  const logout = document.getElementById('logout');
  if (logout) {
    logout.hidden = !sessionToken();
    logout.addEventListener('click', async () => {
      try { await api('/api/v1/auth/session', { method: 'DELETE' }); } catch { /* ended anyway */ }
      clearSession();
      location.assign('/h5/login');
    });
  }
  await run();
}
