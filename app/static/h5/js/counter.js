// Hospital counter (先诊后付): a cashier signs in with their own account (never the hospital's
// API key), takes the patient's code (handheld scanner, camera, or the 18 digits typed), holds
// credit for the visit under the hospital's own visit number, and later settles the bill or
// releases the hold after confirming it. The page never sees a score or an identity: a hold is
// told apart by its time, the last 4 characters of the patient's pseudonym at this hospital,
// the amount and the visit number.
//
// Retries are safe: the visit number is the hold's `out_request_no` and the bill number the
// capture's `out_bill_no`, so sending the same again after a lost answer is answered once.
import {
  alertBox, announce, api, ApiError, boot, clear, colon, errorText, h, t, toFen, when, yuan,
} from './core.js';

const SESSION = 'pc.counter.session';  // sessionStorage: this tab only, ends with it
const BASE = '/partner/v1/medical-credit/authorizations';
const SESSIONS = '/partner/v1/staff/sessions';

const $ = (id) => document.getElementById(id);
const session = () => sessionStorage.getItem(SESSION);
const call = (path, options = {}) => api(path, { ...options, auth: session() });

// The refusal codes the API answers, as the cashier should read them.
const REFUSALS = {
  token_malformed: 'unreadable', token_too_large: 'unreadable', token_bad_signature: 'unreadable',
  token_alg_not_allowed: 'unreadable', token_unknown_key: 'unreadable',
  code_unknown: 'code_unknown',
  token_wrong_audience: 'other_hospital',
  token_wrong_scenario: 'other_scenario',
  token_replayed: 'used',
  token_expired: 'expired', token_not_yet_valid: 'expired',
  token_revoked: 'withdrawn',
  limit_exceeded: 'limit',
  credit_declined: 'declined',
  unknown_scenario: 'unavailable', scenario_not_available: 'unavailable',
  idempotency_conflict: 'visit_used',
  authorization_closed: 'closed',
  authorization_not_found: 'closed',
  amount_exceeds_hold: 'above_hold',
  rate_limited: 'rate_limited',
};

let me = null;        // {staff, partner} of this session
let done = {};        // authorization_id -> the bill this tab captured (amount, number, due)

function tail(sub) { return sub ? sub.slice(-4) : '————'; }

/** A code as the API takes it: 18 digits (spaces and dashes dropped) or a compact JWS. */
function normalized(text) {
  const value = String(text || '').trim();
  const digits = value.replace(/[\s-]/g, '');
  if (/^\d{18}$/.test(digits)) return digits;
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(value)) return value;
  return null;
}

function refusal(error) {
  const key = error instanceof ApiError ? REFUSALS[error.code] : null;
  if (!key) return errorText(error);
  return t(`counter.err.${key}`);
}

function show(into, text, ok = false) {
  clear(into, ok ? h('div', { class: 'notice notice-ok', role: 'status' }, h('p', {}, text))
    : h('div', { class: 'notice notice-error', role: 'alert', 'data-code': '' }, h('p', {}, text)));
  announce(text);
}

function failure(error, into) {
  if (error instanceof ApiError && error.status === 401) {
    ended(t('counter.session_ended'));
    return;
  }
  const transient = error instanceof ApiError && (error.kind === 'network' || error.status >= 500);
  const text = transient ? `${errorText(error)} ${t('counter.retrying')}` : refusal(error);
  show(into, text);
  const box = into.firstElementChild;
  if (box && error instanceof ApiError) box.dataset.code = error.code || error.kind;
}

// -- sign-in ----------------------------------------------------------------------------------

function showDesk() {
  const signedIn = Boolean(session() && me);
  $('signin').hidden = signedIn;
  $('desk').hidden = !signedIn;
  $('signout').hidden = !signedIn;
  if (signedIn) {
    clear($('whoami'), h('span', {}, t('counter.on_duty')), colon(),
      h('strong', {}, me.staff.name), ` · ${me.partner.name}`);
  }
}

function ended(message) {
  sessionStorage.removeItem(SESSION);
  me = null;
  done = {};
  stopCamera();
  showDesk();
  if (message) show($('signin-result'), message);
  $('staff-password').focus();
}

async function signIn(event) {
  event.preventDefault();
  const result = $('signin-result');
  const body = { client_id: $('staff-client').value.trim(),
    username: $('staff-username').value.trim().toLowerCase(), password: $('staff-password').value };
  if (!body.client_id || !body.username || !body.password) {
    show(result, t('counter.signin_missing'));
    return;
  }
  try {
    const opened = await api(SESSIONS, { method: 'POST', auth: null, body });
    sessionStorage.setItem(SESSION, opened.token);
    me = { staff: opened.staff, partner: opened.partner };
  } catch (error) {
    show(result, error instanceof ApiError && error.status === 401 ? t('counter.bad_sign_in')
      : error instanceof ApiError && error.status === 429 ? t('counter.err.rate_limited')
        : errorText(error));
    return;
  } finally {
    $('staff-password').value = '';
  }
  clear(result);
  showDesk();
  announce(t('counter.signed_in'));
  $('code').focus();
  await renderHolds();
}

async function signOut() {
  try { await call(`${SESSIONS}/current`, { method: 'DELETE' }); } catch { /* ended anyway */ }
  ended(null);
  show($('signin-result'), t('counter.signed_out'), true);
}

// -- hold -------------------------------------------------------------------------------------

function nextEmpty() {
  return ['code', 'visit', 'hold-amount'].map($).find((input) => !input.value.trim());
}

async function hold(event) {
  event.preventDefault();
  const result = $('hold-result');
  const token = normalized($('code').value);
  const visit = $('visit').value.trim();
  const amount = toFen($('hold-amount').value);
  if (token == null) { show(result, t('counter.err.unreadable')); $('code').select(); return; }
  if (!visit) { show(result, t('counter.visit_missing')); $('visit').focus(); return; }
  if (amount == null) { show(result, t('counter.amount_invalid')); $('hold-amount').focus(); return; }
  const button = $('hold-form').querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const answer = await call(BASE, { method: 'POST',
      body: { token, out_request_no: visit, amount_fen: amount } });
    ['code', 'visit', 'hold-amount'].forEach((id) => { $(id).value = ''; });
    const text = t('counter.held_line', { amount: yuan(answer.amount_fen), tail: tail(answer.sub),
      visit: answer.out_request_no });
    show(result, text, true);
    await renderHolds(answer.authorization_id);
    $('code').focus();
  } catch (error) {
    failure(error, result);
  } finally {
    button.disabled = false;
  }
}

// -- the list: settle or release --------------------------------------------------------------

function facts(x) {
  return h('p', { class: 'hold-meta small' },
    h('span', {}, `${t('counter.visit_no_short')}${colon()}`, h('strong', { class: 'mono' }, x.out_request_no)),
    x.placed_by ? h('span', {}, `${t('counter.placed_by')}${colon()}${x.placed_by}`) : null,
    x.status === 'held' ? h('span', {}, `${t('counter.hold_expires')}${colon()}${when(x.expires_at)}`) : null);
}

function holdCard(x) {
  const id = x.authorization_id;
  const result = h('div', { class: 'hold-result' });
  const body = h('div', {});
  const bill = x.bill || done[id];
  if (x.status === 'held') body.append(settleForm(x, result));
  else if (bill) {
    body.append(h('dl', { class: 'facts small' },
      h('dt', {}, t('counter.bill_amount_short')), h('dd', {}, yuan(bill.amount_fen)),
      h('dt', {}, t('counter.bill_no')), h('dd', { class: 'mono' }, bill.out_bill_no),
      h('dt', {}, t('counter.bill_due')), h('dd', {}, when(bill.due_at, false))));
  }
  const badge = { held: 'warn', captured: 'ok', voided: 'plain', expired: 'plain' }[x.status] || 'plain';
  return h('li', { class: 'hold', dataset: { authorization: id, status: x.status } },
    h('div', { class: 'hold-head' },
      h('span', { class: 'hold-time' }, when(x.created_at)),
      h('span', { class: 'hold-tail' }, h('span', { class: 'small muted' }, t('counter.patient_tail')),
        ' ', h('strong', { class: 'mono' }, tail(x.sub))),
      h('strong', { class: 'hold-amount' }, yuan(x.amount_fen)),
      h('span', { class: `badge ${badge}` }, t(`counter.status.${x.status}`))),
    facts(x), body, result);
}

function settleForm(x, result) {
  const id = x.authorization_id;
  const amount = h('input', { id: `bill-${id}`, inputmode: 'decimal', autocomplete: 'off',
    'aria-describedby': `bill-hint-${id}` });
  const billNo = h('input', { id: `billno-${id}`, autocomplete: 'off', spellcheck: 'false', maxlength: '64' });
  const actions = h('div', { class: 'row' },
    h('button', { type: 'submit', class: 'button primary' }, t('counter.capture_button')),
    h('button', { type: 'button', class: 'button danger', 'data-action': 'void',
      onclick: () => confirmRelease(x, actions, result) }, t('counter.void')));
  const form = h('form', { novalidate: true, class: 'capture' },
    h('label', { for: `bill-${id}` }, t('counter.bill_amount')), amount,
    h('p', { class: 'hint', id: `bill-hint-${id}` }, t('counter.bill_at_most', { amount: yuan(x.amount_fen) })),
    h('label', { for: `billno-${id}` }, t('counter.bill_no')), billNo, actions);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    capture(x, amount, billNo, result);
  });
  return form;
}

function confirmRelease(x, actions, result) {
  const question = t('counter.void_confirm', { amount: yuan(x.amount_fen), visit: x.out_request_no,
    tail: tail(x.sub) });
  const cancel = h('button', { type: 'button', class: 'button' }, t('counter.void_cancel'));
  const box = h('div', { class: 'notice notice-warn confirm', role: 'alertdialog',
    'aria-label': t('counter.void'), 'aria-describedby': `confirm-${x.authorization_id}` },
  h('p', { id: `confirm-${x.authorization_id}` }, question),
  h('div', { class: 'row' },
    h('button', { type: 'button', class: 'button danger solid',
      onclick: () => release(x, result) }, t('counter.void_yes')), cancel));
  cancel.addEventListener('click', () => {
    box.remove();
    actions.hidden = false;
    actions.querySelector('[data-action=void]').focus();
  });
  actions.hidden = true;
  clear(result, box);
  announce(question);
  cancel.focus();
}

async function capture(x, amountInput, billNoInput, result) {
  const amount = toFen(amountInput.value);
  const billNo = billNoInput.value.trim();
  if (amount == null) { show(result, t('counter.amount_invalid')); amountInput.focus(); return; }
  if (amount > x.amount_fen) { show(result, t('counter.err.above_hold')); amountInput.focus(); return; }
  if (!billNo) { show(result, t('counter.bill_no_missing')); billNoInput.focus(); return; }
  try {
    const bill = await call(`${BASE}/${x.authorization_id}/capture`, { method: 'POST',
      body: { amount_fen: amount, out_bill_no: billNo } });
    done[x.authorization_id] = bill;
    await renderHolds(x.authorization_id, t('counter.captured_line', { amount: yuan(bill.amount_fen) }));
  } catch (error) {
    failure(error, result);
  }
}

async function release(x, result) {
  try {
    await call(`${BASE}/${x.authorization_id}/void`, { method: 'POST' });
    await renderHolds(x.authorization_id, t('counter.voided_line', { amount: yuan(x.amount_fen) }));
  } catch (error) {
    failure(error, result);
  }
}

async function renderHolds(focusId, message) {
  const into = $('holds');
  let answer;
  try {
    answer = await call(`${BASE}?hours=24`);
  } catch (error) {
    failure(error, into);
    return;
  }
  const list = answer.items;
  clear(into, list.length ? h('ul', { class: 'list holds' }, list.map(holdCard))
    : h('p', { class: 'muted' }, t('counter.no_holds')));
  if (focusId && message) {
    const item = into.querySelector(`li[data-authorization="${focusId}"] .hold-result`);
    if (item) show(item, message, true);
  }
}

// -- camera -----------------------------------------------------------------------------------

let stream = null;

function stopCamera() {
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  $('camera').hidden = true;
  $('scan').textContent = t('counter.scan');
}

async function scan() {
  if (stream) { stopCamera(); return; }
  try {
    const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    const video = $('camera');
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    $('scan').textContent = t('counter.scan_stop');
    const look = async () => {
      if (!stream) return;
      const found = await detector.detect(video).catch(() => []);
      if (found.length) {
        $('code').value = found[0].rawValue;
        stopCamera();
        (nextEmpty() || $('hold-amount')).focus();
      } else {
        setTimeout(look, 250);
      }
    };
    look();
  } catch (error) {
    stopCamera();
    show($('hold-result'), `${t('counter.scan_unavailable')} (${error.name || error})`);
  }
}

// -- start ------------------------------------------------------------------------------------

async function render() {
  // Called again when the language changes: texts built here follow it.
  clear($('hold-result'));
  if (session() && !me) {
    try {
      me = await call(`${SESSIONS}/current`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) ended(t('counter.session_ended'));
      else show($('signin-result'), errorText(error));
      return;
    }
  }
  showDesk();
  if (me) await renderHolds();
  else if (!$('staff-client').value) {
    // A bookmark of /counter/?hospital=<client id> fills it in (nothing is kept in the browser).
    $('staff-client').value = new URLSearchParams(location.search).get('hospital') || '';
  }
}

function wire() {
  $('signin-form').addEventListener('submit', signIn);
  $('hold-form').addEventListener('submit', hold);
  $('signout').addEventListener('click', signOut);
  $('refresh').addEventListener('click', () => renderHolds());
  for (const id of ['code', 'visit']) {
    // A handheld scanner types the code and presses Enter: go on to what is still empty.
    $(id).addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return;
      const empty = nextEmpty();
      if (empty) { event.preventDefault(); empty.focus(); }
    });
  }
  const canScan = 'BarcodeDetector' in window && navigator.mediaDevices
    && navigator.mediaDevices.getUserMedia;
  $('scan').hidden = !canScan;
  $('scan-note').hidden = Boolean(canScan);
  $('scan').addEventListener('click', scan);
}

wire();
boot({ render, session: false });
