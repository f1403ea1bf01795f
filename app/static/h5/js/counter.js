// Hospital counter (先诊后付): the cashier signs in with the hospital's API key, checks a
// patient's code (camera, handheld scanner or paste), holds credit for the visit, and later
// settles the bill or releases the hold. The page never sees a score or an identity.
//
// Retries are safe: each hold attempt has one `out_request_no` (and each settlement one
// `out_bill_no`), generated once and sent again unchanged when the cashier retries.
import {
  alertBox, announce, api, ApiError, boot, clear, colon, errorText, h, t, toFen, when, yuan,
} from './core.js';

const KEY = 'pc.counter.key';        // sessionStorage: this tab only
const HOLDS = 'pc.counter.holds';    // sessionStorage: this shift's holds (ids and amounts only)
const BASE = '/partner/v1/medical-credit/authorizations';

const $ = (id) => document.getElementById(id);
const key = () => sessionStorage.getItem(KEY);

let checked = null;   // {token, claims} of the last code found active
let attempt = null;   // {token, amount_fen, out_request_no}: reused until it succeeds

function requestNo(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const random = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${prefix}-${Date.now().toString(36)}-${random}`;
}

function holds() {
  try { return JSON.parse(sessionStorage.getItem(HOLDS) || '[]'); } catch { return []; }
}

function saveHolds(list) { sessionStorage.setItem(HOLDS, JSON.stringify(list)); }

function updateHold(id, changes) {
  saveHolds(holds().map((x) => (x.authorization_id === id ? { ...x, ...changes } : x)));
}

function failure(error, into) {
  const transient = error instanceof ApiError && (error.kind === 'network' || error.status >= 500);
  if (error instanceof ApiError && error.status === 401) {
    signOut();
    clear($('signin-result'), alertBox(t('counter.bad_key')));
    announce(t('counter.bad_key'));
    return;
  }
  const text = transient ? `${errorText(error)} ${t('counter.retrying')}` : errorText(error);
  clear(into, alertBox(text));
  announce(text);
}

// -- sign-in ----------------------------------------------------------------------------------

function showDesk() {
  const signedIn = Boolean(key());
  $('signin').hidden = signedIn;
  $('desk').hidden = !signedIn;
  $('signout').hidden = !signedIn;
  if (signedIn) renderHolds();
}

function signOut() {
  sessionStorage.removeItem(KEY);
  checked = null;
  attempt = null;
  showDesk();
}

async function signIn(event) {
  event.preventDefault();
  const value = $('api-key').value.trim();
  const result = $('signin-result');
  if (!value) { clear(result, alertBox(t('counter.bad_key'))); return; }
  try {
    // Introspecting a non-token answers {active: false} to a valid key and 401 otherwise.
    await api('/partner/v1/tokens/introspect', { method: 'POST', auth: value, body: { token: 'sign-in-check' } });
  } catch (error) {
    const text = error instanceof ApiError && error.status === 401 ? t('counter.bad_key') : errorText(error);
    clear(result, alertBox(text));
    announce(text);
    return;
  }
  sessionStorage.setItem(KEY, value);
  $('api-key').value = '';
  clear(result);
  showDesk();
  announce(t('counter.signed_in'));
  $('token').focus();
}

// -- check a code -----------------------------------------------------------------------------

async function check(event) {
  if (event) event.preventDefault();
  const token = $('token').value.trim();
  const result = $('check-result');
  $('hold').hidden = true;
  checked = null;
  if (!token) return;
  clear(result, h('p', { class: 'loading' }, t('app.loading')));
  let answer;
  try {
    answer = await api('/partner/v1/tokens/introspect', { method: 'POST', auth: key(), body: { token } });
  } catch (error) {
    failure(error, result);
    return;
  }
  if (!answer.active || answer.scn !== 'medical_credit' || !(answer.ent || {}).eligible) {
    const text = answer.active && answer.scn !== 'medical_credit' ? t('counter.wrong_scenario')
      : t('counter.not_eligible');
    clear(result, h('div', { class: 'notice notice-error', role: 'alert', id: 'verdict' },
      h('p', { class: 'verdict bad' }, text)));
    announce(text);
    return;
  }
  checked = { token, claims: answer };
  const ent = answer.ent;
  const available = ent.available_fen ?? ent.limit_fen;
  clear(result, h('div', { class: 'notice notice-ok', id: 'verdict' },
    h('p', { class: 'verdict ok' }, t('counter.eligible')),
    h('dl', { class: 'facts' },
      h('dt', {}, t('counter.available')), h('dd', { id: 'available' }, yuan(available)),
      h('dt', {}, t('counter.patient')), h('dd', { class: 'mono small' }, answer.sub),
      h('dt', {}, t('counter.code_expires')), h('dd', {}, when(new Date(answer.exp * 1000).toISOString())))));
  announce(`${t('counter.eligible')}${colon()}${t('counter.available')} ${yuan(available)}`);
  $('hold').hidden = false;
  clear($('hold-result'));
  $('hold-amount').focus();
}

// -- hold -------------------------------------------------------------------------------------

async function hold(event) {
  event.preventDefault();
  const result = $('hold-result');
  const amount = toFen($('hold-amount').value);
  if (!checked) return;
  if (amount == null) { clear(result, alertBox(t('counter.amount_invalid'))); return; }
  if (!attempt || attempt.token !== checked.token || attempt.amount_fen !== amount) {
    attempt = { token: checked.token, amount_fen: amount, out_request_no: requestNo('REQ') };
  }
  const button = event.submitter || $('hold-form').querySelector('button');
  button.disabled = true;
  try {
    const answer = await api(BASE, { method: 'POST', auth: key(), body: {
      token: attempt.token, out_request_no: attempt.out_request_no, amount_fen: attempt.amount_fen } });
    saveHolds([{ authorization_id: answer.authorization_id, amount_fen: answer.amount_fen,
      expires_at: answer.expires_at, available_fen: answer.available_fen, status: 'held',
      out_request_no: attempt.out_request_no }, ...holds().filter(
      (x) => x.authorization_id !== answer.authorization_id)]);
    attempt = null;
    checked = null;
    $('token').value = '';
    $('hold-amount').value = '';
    $('hold').hidden = true;
    clear($('check-result'));
    const text = `${t('counter.held')} ${yuan(answer.amount_fen)}`;
    clear(result);
    renderHolds(answer.authorization_id, h('div', { class: 'notice notice-ok', role: 'status' },
      h('p', { class: 'verdict ok' }, text),
      h('dl', { class: 'facts' },
        h('dt', {}, t('counter.available_after')), h('dd', {}, yuan(answer.available_fen)),
        h('dt', {}, t('counter.hold_expires')), h('dd', {}, when(answer.expires_at)))));
    $('holds-section').hidden = false;
    announce(text);
  } catch (error) {
    failure(error, result);
  } finally {
    button.disabled = false;
  }
}

// -- settle or release ------------------------------------------------------------------------

function holdCard(x, message) {
  const id = x.authorization_id;
  const result = h('div', {});
  const fields = h('div', {});
  if (x.status === 'held') {
    const amount = h('input', { id: `bill-${id}`, inputmode: 'decimal', autocomplete: 'off',
      value: (x.amount_fen / 100).toFixed(2) });
    const billNo = h('input', { id: `billno-${id}`, autocomplete: 'off',
      value: x.out_bill_no || requestNo('BILL') });
    const form = h('form', { novalidate: true, class: 'capture' },
      h('label', { for: `bill-${id}` }, t('counter.bill_amount')), amount,
      h('label', { for: `billno-${id}` }, t('counter.bill_no')), billNo,
      h('div', { class: 'row' },
        h('button', { type: 'submit', class: 'button primary' }, t('counter.capture_button')),
        h('button', { type: 'button', class: 'button danger', 'data-action': 'void',
          onclick: () => release(x, result) }, t('counter.void'))));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      capture(x, amount.value, billNo.value.trim(), result);
    });
    fields.append(form);
  } else if (x.bill) {
    fields.append(h('dl', { class: 'facts small' },
      h('dt', {}, t('medical.amount')), h('dd', {}, yuan(x.bill.amount_fen)),
      x.bill.due_at ? [h('dt', {}, t('counter.bill_due')), h('dd', {}, when(x.bill.due_at, false))] : null));
  }
  return h('li', { dataset: { authorization: id, status: x.status } },
    h('div', { class: 'spread' },
      h('strong', {}, `${t('counter.authorization')} ${id.slice(0, 8)}…  ${yuan(x.amount_fen)}`),
      h('span', { class: `badge ${x.status === 'held' ? 'warn' : 'ok'}` },
        t(`status.${x.status}`))),
    x.status === 'held' ? h('p', { class: 'small muted' },
      `${t('counter.hold_expires')}${colon()}${when(x.expires_at)}`) : null,
    message, fields, result);
}

function renderHolds(focusId, message) {
  const list = holds();
  $('holds-section').hidden = !list.length;
  clear($('holds'), h('ul', { class: 'list' },
    list.map((x) => holdCard(x, x.authorization_id === focusId ? message : null))));
}

async function capture(x, amountText, billNo, result) {
  const amount = toFen(amountText);
  if (amount == null) { clear(result, alertBox(t('counter.amount_invalid'))); return; }
  updateHold(x.authorization_id, { out_bill_no: billNo });  // reused if this attempt is retried
  try {
    const answer = await api(`${BASE}/${x.authorization_id}/capture`, {
      method: 'POST', auth: key(), body: { amount_fen: amount, out_bill_no: billNo } });
    const bill = answer.bill || answer;
    updateHold(x.authorization_id, { status: 'captured', bill: {
      bill_id: bill.bill_id || bill.id, amount_fen: bill.amount_fen ?? amount, due_at: bill.due_at } });
    const text = t('counter.captured');
    renderHolds(x.authorization_id, h('div', { class: 'notice notice-ok', role: 'status' },
      h('p', { class: 'verdict ok' }, text)));
    announce(text);
  } catch (error) {
    failure(error, result);
  }
}

async function release(x, result) {
  try {
    await api(`${BASE}/${x.authorization_id}/void`, { method: 'POST', auth: key() });
    updateHold(x.authorization_id, { status: 'voided' });
    const text = t('counter.voided');
    renderHolds(x.authorization_id, h('div', { class: 'notice notice-ok', role: 'status' }, h('p', {}, text)));
    announce(text);
  } catch (error) {
    failure(error, result);
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
        $('token').value = found[0].rawValue;
        stopCamera();
        check();
      } else {
        setTimeout(look, 250);
      }
    };
    look();
  } catch (error) {
    stopCamera();
    clear($('check-result'), alertBox(`${t('counter.scan_unavailable')} (${error.name || error})`));
  }
}

// -- start ------------------------------------------------------------------------------------

async function render() {
  showDesk();
}

function wire() {
  $('signin-form').addEventListener('submit', signIn);
  $('check-form').addEventListener('submit', check);
  $('hold-form').addEventListener('submit', hold);
  $('signout').addEventListener('click', () => { stopCamera(); signOut(); });
  $('token').addEventListener('keydown', (event) => {
    // A handheld scanner types the code and presses Enter.
    if (event.key === 'Enter' && !event.shiftKey) check(event);
  });
  const canScan = 'BarcodeDetector' in window && navigator.mediaDevices
    && navigator.mediaDevices.getUserMedia;
  $('scan').hidden = !canScan;
  $('scan-note').hidden = Boolean(canScan);
  $('scan').addEventListener('click', scan);
}

wire();
boot({ render, session: false });
