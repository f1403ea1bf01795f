// Deposit waivers (免押): what was lent without a deposit, until when, and how it ended.
import { announce, api, boot, clear, h, partnerName, statusText, t, when, yuan } from './core.js';

const TONE = { active: 'warn', completed: 'ok', settled: 'ok', defaulted: 'bad' };

async function render(root) {
  const answer = await api('/api/v1/me/deposit-waivers');
  if (!answer.items.length) {
    clear(root, h('section', { class: 'card' }, h('p', {}, t('app.none'))));
    return;
  }
  clear(root, h('section', { class: 'card' }, h('ul', { class: 'list', id: 'waivers' },
    answer.items.map((w) => h('li', { dataset: { status: w.status } },
      h('div', { class: 'spread' },
        h('strong', {}, `${partnerName(w.partner && w.partner.name)} · ${w.item}`),
        h('span', { class: `badge ${TONE[w.status] || 'plain'}` }, statusText(w.status))),
      h('dl', { class: 'facts small' },
        h('dt', {}, t('waivers.deposit')), h('dd', {}, yuan(w.deposit_fen)),
        h('dt', {}, t('waivers.due')), h('dd', {}, when(w.due_at))))))));
  announce(t('app.loaded'));
}

boot({ render });
