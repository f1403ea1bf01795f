// Erase my account (注销账户): what will be deleted, what the law makes the service keep (until
// when and why), what happens if I sign in again — and a confirmation one accidental tap cannot
// give (a box to tick and a word to type before the button works).
import {
  announce, api, boot, clear, clearSession, errorBox, getLang, h, pick, t, when,
} from './core.js';
import { recordName } from './rights-common.js';

// What erasure deletes, in the order the page lists it (the API's `deleted` counts).
const DELETED = ['records', 'scores', 'notifications', 'disputes', 'repairs', 'review_requests'];
// Retained items the service names by a code prefix (`what` of a provider's item).
const KEPT = [['medical_credit_hold:', 'hold'], ['medical_credit_bill:', 'bill'],
  ['deposit_waiver:', 'waiver'], ['points ledger', 'points_ledger'],
  ['redemptions', 'points_redemptions']];

function keptTitle(item, records) {
  if (item.section === 'records') {
    const record = records.get((item.record_ids || [])[0]);
    if (record) {
      return t('erasure.kept.record', { record: recordName(record.category, record.type),
        date: when(record.occurred_at, false) });
    }
  }
  const known = KEPT.find(([prefix]) => String(item.what).startsWith(prefix));
  if (known) return t(`erasure.kept.${known[1]}`);
  if (getLang() === 'zh') return item.what_zh || t('erasure.kept.other');
  return item.what;
}

function keptUntil(item) {
  if (item.until) return t('erasure.until', { date: when(item.until, false) });
  if (String(item.what).startsWith('medical_credit_bill:')) return t('erasure.until_paid');
  if (String(item.what).startsWith('deposit_waiver:')) return t('erasure.until_settled');
  return t('erasure.until_open');
}

/** The service's English texts start in lower case (they are also read mid-sentence). */
const sentence = (text) => (text ? text.charAt(0).toUpperCase() + text.slice(1) : '');

function keptItem(item, records) {
  const zh = getLang() === 'zh';
  return h('li', { dataset: { section: item.section || 'service' } },
    h('h3', {}, sentence(keptTitle(item, records))),
    h('p', { class: 'small kept-until' }, keptUntil(item)),
    h('p', { class: 'small' }, zh ? item.why_zh || '' : sentence(item.why_en || item.why)),
    !zh && item.basis ? h('p', { class: 'small muted' }, `${t('erasure.basis')}: ${item.basis}`) : null);
}

function deletedList(preview) {
  const rows = DELETED.map((name) => h('li', { dataset: { deleted: name } },
    t(`erasure.deleted.${name}`, { n: preview.deleted[name] ?? 0 })));
  rows.unshift(h('li', { dataset: { deleted: 'profile' } }, t('erasure.shredded')));
  rows.push(h('li', { dataset: { deleted: 'consents' } },
    t('erasure.consents', { n: preview.consents_in_force })));
  rows.push(h('li', { dataset: { deleted: 'sessions' } }, t('erasure.sessions')));
  return h('ul', { class: 'checklist', id: 'deleted' }, rows);
}

/** The deliberate confirmation: tick that you understand, type the word, then press. */
function confirmCard(root) {
  const word = t('erasure.word');
  const understood = h('input', { type: 'checkbox', id: 'erase-understood' });
  const typed = h('input', { type: 'text', id: 'erase-word', autocomplete: 'off',
    autocapitalize: 'off', spellcheck: 'false', 'aria-describedby': 'erase-word-hint' });
  const go = h('button', { type: 'submit', class: 'button danger', id: 'erase', disabled: true },
    t('erasure.button'));
  const result = h('div', { id: 'erase-result' });
  const ready = () => understood.checked && typed.value.trim().toUpperCase() === word.toUpperCase();
  const update = () => { go.disabled = !ready(); };
  understood.addEventListener('change', update);
  typed.addEventListener('input', update);
  const form = h('form', { novalidate: true, id: 'erase-form' },
    h('label', { class: 'check', for: 'erase-understood' }, understood,
      h('span', {}, t('erasure.understand'))),
    h('label', { for: 'erase-word' }, t('erasure.type_word', { word })), typed,
    h('p', { class: 'hint', id: 'erase-word-hint' }, t('erasure.type_hint')),
    go, result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!ready()) return;
    go.disabled = true;
    try {
      const done = await api('/api/v1/me', { method: 'DELETE' });
      clearSession();
      const logout = document.getElementById('logout');
      if (logout) logout.hidden = true;
      clear(root, h('section', { class: 'card', id: 'erased' },
        h('h2', {}, t('erasure.done_title')),
        h('div', { class: 'notice notice-ok', role: 'status' }, h('p', {}, pick(done.summary))),
        h('p', {}, pick(done.login_again)),
        h('a', { class: 'button', href: '/h5/login' }, t('erasure.to_login'))));
      announce(t('erasure.done_title'));
    } catch (error) {
      update();
      clear(result, errorBox(error));
    }
  });
  return h('section', { class: 'card danger-zone', 'aria-labelledby': 'confirm-h' },
    h('h2', { id: 'confirm-h' }, t('erasure.confirm_title')),
    h('p', {}, t('erasure.confirm_intro')), form);
}

async function render(root) {
  const [preview, records] = await Promise.all([
    api('/api/v1/me/erasure'), api('/api/v1/me/records')]);
  const byId = new Map(records.items.map((r) => [r.id, r]));
  clear(root,
    h('div', { class: 'notice notice-warn' }, h('p', {}, t('erasure.export_first'), ' ',
      h('a', { href: '/h5/export' }, t('erasure.export_link')))),
    h('section', { class: 'card', 'aria-labelledby': 'deleted-h' },
      h('h2', { id: 'deleted-h' }, t('erasure.deleted_title')), deletedList(preview)),
    h('section', { class: 'card', 'aria-labelledby': 'kept-h' },
      h('h2', { id: 'kept-h' }, t('erasure.kept_title')),
      h('p', { class: 'small' }, t('erasure.kept_intro')),
      h('ul', { class: 'list', id: 'kept' }, preview.retained.map((item) => keptItem(item, byId)))),
    h('section', { class: 'card', 'aria-labelledby': 'again-h' },
      h('h2', { id: 'again-h' }, t('erasure.again_title')),
      h('p', { id: 'login-again' }, pick(preview.login_again))),
    confirmCard(root));
}

boot({ render });
