// Consent centre: every notice with its full text, grant (with the separate acknowledgement where
// required), withdraw, and the signed receipts.
import {
  alertBox, announce, api, boot, categoryName, clear, errorBox, getLang, h, jwsPayload, retention,
  statusText, t, when,
} from './core.js';

let flash = null;        // the outcome of the last action, shown above the list after reloading
let rerender = null;

const anchor = (purpose) => `notice-${purpose.replace(/[^\w-]/g, '-')}`;

function badge(state) {
  const [cls, key] = {
    active: ['ok', 'consents.active'], reconsent: ['warn', 'consents.reconsent'],
    inactive: ['plain', 'consents.inactive'],
  }[state];
  return h('span', { class: `badge ${cls}` }, t(key));
}

function receiptView(receipt) {
  const claims = jwsPayload(receipt) || {};
  const result = h('div', { class: 'small' });
  // What the receipt says, in words; the signed code itself only folded away, for verifying.
  return h('div', { class: 'receipt' },
    h('dl', { class: 'facts small' },
      h('dt', {}, t('consents.receipt_event')), h('dd', {}, statusText(claims.event || '')),
      h('dt', {}, t('consents.receipt_time')), h('dd', {}, when(claims.time))),
    h('details', {}, h('summary', {}, t('consents.receipt_code')),
      h('textarea', { class: 'mono small', rows: 3, readonly: true,
        'aria-label': t('consents.receipt_code') }, receipt)),
    h('button', {
      type: 'button', class: 'button',
      onclick: async () => {
        try {
          const answer = await api('/api/v1/receipts/verify', {
            method: 'POST', auth: null, body: { receipt } });
          const text = answer.valid ? t('consents.verified', { kid: answer.kid })
            : t('consents.unverified', { reason: answer.reason });
          clear(result, h('p', { class: answer.valid ? 'plus' : 'lost' }, text));
          announce(text);
        } catch (error) { clear(result, errorBox(error)); }
      },
    }, t('consents.verify')), result);
}

async function showReceipts(consentId, into) {
  try {
    const answer = await api(`/api/v1/me/consents/${consentId}/receipt`);
    clear(into, (answer.receipts || []).slice().reverse().map((r) => receiptView(r.receipt)));
  } catch (error) { clear(into, errorBox(error)); }
}

function categoryPicker(notice, active, onChange) {
  const chosen = new Set(active ? active.categories : []);
  const sensitive = new Set(notice.separate_consent_categories || []);
  const core = new Set(notice.core_categories || []);
  // The core always counts (records public by law, 鹏城分's own scenarios): shown, not chosen.
  const coreList = core.size ? h('div', { class: 'core-categories' },
    h('p', {}, t('consents.core_always')),
    h('ul', {}, [...core].map((code) => h('li', {}, categoryName(code))))) : null;
  const boxes = notice.categories.filter((code) => !core.has(code)).map((code) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'category', value: code, checked: chosen.has(code),
      onchange: onChange }),
    h('span', {}, categoryName(code),
      sensitive.has(code) ? h('span', { class: 'badge warn' }, t('consents.sensitive')) : null)));
  const selectAll = h('button', {
    type: 'button', class: 'button', 'data-action': 'select-ordinary',
    onclick: () => {
      for (const box of boxes.map((label) => label.querySelector('input'))) {
        if (!sensitive.has(box.value)) box.checked = true;
      }
      onChange();
    },
  }, t('consents.select_all'));
  return h('fieldset', {}, h('legend', {}, t('consents.choose_categories')), coreList,
    h('p', { class: 'muted' }, t('consents.supplements_help')),
    h('div', { class: 'categories' }, boxes), selectAll);
}

function noticeCard(notice, active, needsReconsent) {
  const state = needsReconsent ? 'reconsent' : active ? 'active' : 'inactive';
  const result = h('div', { class: 'result' });
  const receipts = h('div', {});
  const isScoring = notice.purpose === 'scoring';
  const sensitive = new Set(notice.separate_consent_categories || []);
  const separateBox = h('input', { type: 'checkbox', name: 'separate_consent' });
  const separate = h('label', { class: 'check separate' }, separateBox,
    h('span', {}, t('consents.separate')));

  const chosen = () => [...form.querySelectorAll('input[name="category"]:checked')].map((i) => i.value);
  const needsSeparate = () => notice.requires_separate_consent ||
    chosen().some((code) => sensitive.has(code));
  const syncSeparate = () => { separate.hidden = !needsSeparate(); };

  const form = h('form', { novalidate: true },
    isScoring ? categoryPicker(notice, active, syncSeparate) : null,
    separate,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'button primary' },
        t(active ? 'consents.update' : 'consents.grant'))));
  syncSeparate();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { notice_id: notice.id, language: getLang(), channel: 'h5' };
    if (isScoring) {
      body.categories = chosen();  // supplements only; none is fine (the core always counts)
    }
    if (needsSeparate()) {
      if (!separateBox.checked) {
        clear(result, alertBox(t('consents.separate_needed')));
        separateBox.focus();
        return;
      }
      body.separate_consent = true;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const answer = await api('/api/v1/me/consents', { method: 'POST', body });
      flash = { purpose: notice.purpose, text: t('consents.granted'), receipt: answer.receipt };
      await rerender();
    } catch (error) {
      button.disabled = false;
      clear(result, errorBox(error));
    }
  });

  const actions = h('div', { class: 'row' });
  if (active) {
    const confirmBox = h('div', { class: 'notice notice-warn', hidden: true, role: 'alert' },
      h('p', {}, t('consents.withdraw_confirm')),
      h('div', { class: 'row' },
        h('button', {
          type: 'button', class: 'button danger', 'data-action': 'confirm-withdraw',
          onclick: async (event) => {
            event.currentTarget.disabled = true;
            try {
              const answer = await api(`/api/v1/me/consents/${active.consent_id}/withdraw`, {
                method: 'POST', body: { language: getLang(), channel: 'h5' } });
              flash = { purpose: notice.purpose, text: t('consents.withdrawn'), receipt: answer.receipt };
              await rerender();
            } catch (error) { clear(result, errorBox(error)); }
          },
        }, t('app.confirm')),
        h('button', { type: 'button', class: 'button', onclick: () => { confirmBox.hidden = true; } },
          t('app.cancel'))));
    actions.append(
      h('button', { type: 'button', class: 'button danger', 'data-action': 'withdraw',
        onclick: () => { confirmBox.hidden = false; } }, t('consents.withdraw')),
      h('button', { type: 'button', class: 'button',
        onclick: () => showReceipts(active.consent_id, receipts) }, t('consents.receipts')),
      confirmBox);
  }

  const recipients = (notice.recipients || []).map((r) => (getLang() === 'en' ? r.name_en : r.name_zh));
  const id = anchor(notice.purpose);
  return h('section', { class: 'card notice-card', id, 'aria-labelledby': `${id}-h`,
    dataset: { purpose: notice.purpose, state } },
    h('div', { class: 'spread' }, h('h2', { id: `${id}-h` }, notice.title), badge(state)),
    active ? h('dl', { class: 'facts small' },
      h('dt', {}, t('consents.given_at')), h('dd', {}, when(active.given_at)),
      h('dt', {}, t('consents.expires_at')), h('dd', {}, when(active.expires_at, false)),
      active.categories.length ? [h('dt', {}, t('consents.categories')),
        h('dd', {}, active.categories.map(categoryName).join(getLang() === 'zh' ? '、' : ', '))] : null)
      : null,
    h('details', {}, h('summary', {}, t('consents.full_text')),
      h('div', { class: 'notice-text' }, notice.text),
      h('dl', { class: 'facts small' },
        !isScoring && notice.categories.length ? [h('dt', {}, t('consents.categories')),
          h('dd', {}, notice.categories.map(categoryName).join(getLang() === 'zh' ? '、' : ', '))] : null,
        recipients.length ? [h('dt', {}, t('consents.recipients')), h('dd', {}, recipients.join(getLang() === 'zh' ? '，' : ', '))] : null,
        h('dt', {}, t('consents.retention')), h('dd', {}, retention(notice.retention)),
        notice.validity_days ? [h('dt', {}, t('consents.validity')),
          h('dd', {}, t('consents.days', { n: notice.validity_days }))] : null)),
    form, actions, result, receipts);
}

async function render(root) {
  const [notices, consents] = await Promise.all([
    api(`/api/v1/notices?language=${getLang()}`, { auth: null }),
    api('/api/v1/me/consents'),
  ]);
  const active = new Map(consents.items.filter((c) => c.status === 'active')
    .map((c) => [c.purpose, c]));
  const reconsent = new Set((consents.reconsent || []).map((r) => r.purpose));
  const ordered = notices.slice().sort((a, b) =>
    (a.purpose === 'scoring' ? -1 : 0) - (b.purpose === 'scoring' ? -1 : 0));
  const parts = [];
  if (flash) {
    parts.push(h('div', { class: 'notice notice-ok', role: 'status', id: 'flash' },
      h('p', {}, flash.text), flash.receipt ? h('details', {},
        h('summary', {}, t('consents.receipt')), receiptView(flash.receipt)) : null));
    announce(flash.text);
  }
  if (reconsent.size) {
    parts.push(h('div', { class: 'notice notice-warn' }, h('p', {}, t('consents.reconsent_banner')),
      h('ul', {}, ordered.filter((n) => reconsent.has(n.purpose)).map((n) =>
        h('li', {}, h('a', { href: `#${anchor(n.purpose)}` }, n.title))))));
  }
  parts.push(...ordered.map((n) => noticeCard(n, active.get(n.purpose), reconsent.has(n.purpose))));
  clear(root, parts);
  const wanted = flash ? flash.purpose : new URLSearchParams(location.search).get('purpose');
  flash = null;
  const target = wanted && document.getElementById(anchor(wanted));
  if (target) {
    target.classList.add('highlight');
    target.scrollIntoView({ block: 'start' });
  }
}

rerender = () => render(document.getElementById('content'));
boot({ render });
