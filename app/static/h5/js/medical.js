// 先诊后付: my line (held, owed, available), open holds, bills with a pay button (the demo
// payment channel in development), and what was closed.
import {
  alertBox, announce, api, boot, clear, colon, errorBox, h, partnerName, pick, statusText, t, toFen,
  when, yuan,
} from './core.js';

let flash = null;

function billStatus(code) {
  const text = t(`bill.${code}`);
  return text === `bill.${code}` ? statusText(code) : text;
}
const TONE = { open: 'warn', overdue: 'bad', paid: 'ok', held: 'warn' };

function payForm(bill, root) {
  const id = `pay-${bill.bill_id}`;
  const amount = h('input', { id, inputmode: 'decimal', autocomplete: 'off',
    value: (bill.owed_fen / 100).toFixed(2) });
  const result = h('div', {});
  const form = h('form', { novalidate: true, class: 'pay' },
    h('label', { for: id }, t('medical.pay_amount')), amount,
    h('p', { class: 'hint' }, t('medical.pay_demo')),
    h('button', { type: 'submit', class: 'button primary' }, t('medical.pay')), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const fen = toFen(amount.value);
    if (fen == null) { clear(result, alertBox(t('counter.amount_invalid'))); return; }
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      await api(`/api/v1/me/medical-credit/bills/${bill.bill_id}/demo-payment`, {
        method: 'POST', body: { amount_fen: fen } });
      flash = `${t('medical.paid')} ${yuan(fen)}`;
      await render(root);
    } catch (error) {
      button.disabled = false;
      clear(result, errorBox(error));
    }
  });
  return form;
}

function billItem(bill, root) {
  return h('li', { dataset: { bill: bill.bill_id, status: bill.status } },
    h('div', { class: 'spread' },
      h('strong', {}, `${partnerName(bill.hospital && bill.hospital.name)} ${yuan(bill.amount_fen)}`),
      h('span', { class: `badge ${TONE[bill.status] || 'plain'}` }, billStatus(bill.status))),
    h('dl', { class: 'facts small' },
      h('dt', {}, t('medical.outstanding')), h('dd', { class: 'owed' }, yuan(bill.owed_fen)),
      h('dt', {}, t('medical.due')), h('dd', {}, when(bill.due_at, false))),
    bill.owed_fen > 0 ? payForm(bill, root) : null);
}

async function render(root) {
  const credit = await api('/api/v1/me/medical-credit');
  const parts = [];
  if (flash) {
    parts.push(h('div', { class: 'notice notice-ok', role: 'status', id: 'flash' }, h('p', {}, flash)));
    announce(flash);
    flash = null;
  }
  parts.push(h('section', { class: 'card', 'aria-labelledby': 'line-h' },
    h('h2', { id: 'line-h' }, t('medical.available')),
    h('p', { class: 'big', id: 'available' }, yuan(credit.available_fen)),
    h('dl', { class: 'facts' },
      h('dt', {}, t('medical.line')), h('dd', { id: 'line' }, yuan(credit.line_fen)),
      h('dt', {}, t('medical.held')), h('dd', { id: 'held' }, yuan(credit.held_fen)),
      h('dt', {}, t('medical.owed')), h('dd', { id: 'owed' }, yuan(credit.owed_fen))),
    (credit.reasons || []).length ? h('div', { class: 'small' },
      h('strong', {}, t('ent.why_not') + colon()),
      h('ul', {}, credit.reasons.map((r) => h('li', {}, pick(r))))) : null));
  parts.push(h('section', { class: 'card', 'aria-labelledby': 'bills-h' },
    h('h2', { id: 'bills-h' }, t('medical.bills')),
    (credit.bills || []).length ? h('ul', { class: 'list', id: 'bills' },
      credit.bills.map((b) => billItem(b, root))) : h('p', {}, t('app.none'))));
  if ((credit.holds || []).length) {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'holds-h' },
      h('h2', { id: 'holds-h' }, t('medical.holds')),
      h('ul', { class: 'list', id: 'holds' }, credit.holds.map((x) => h('li', { class: 'spread' },
        h('span', {}, `${partnerName(x.hospital && x.hospital.name)} ${yuan(x.amount_fen)}`),
        h('span', { class: 'muted small' }, `${t('counter.hold_expires')}${colon()}${when(x.expires_at)}`))))));
  }
  const history = credit.history || [];
  if (history.length) {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'history-h' },
      h('h2', { id: 'history-h' }, t('medical.history')),
      h('ul', { class: 'list', id: 'medical-history' }, history.map((x) => h('li', { class: 'spread' },
        h('span', {}, `${partnerName(x.hospital && x.hospital.name)} ${yuan(x.amount_fen)}`),
        h('span', { class: `badge ${TONE[x.status] || 'plain'}` },
          x.kind === 'bill' ? billStatus(x.status) : statusText(x.status)))))));
  }
  clear(root, parts);
  announce(t('app.loaded'));
}

boot({ render });
