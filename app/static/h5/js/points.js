// Points: balance, what expires soon, and the history of earning, redeeming, refunds, expiry.
import { announce, api, boot, clear, h, partnerName, pick, t, when } from './core.js';

function kind(code) {
  const key = `points.kind.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

async function render(root) {
  const points = await api('/api/v1/me/points');
  const expiring = points.expiring || [];
  clear(root,
    h('section', { class: 'card', 'aria-labelledby': 'balance-h' },
      h('h2', { id: 'balance-h' }, t('points.balance')),
      h('p', { class: 'big', id: 'balance' }, String(points.balance))),
    h('section', { class: 'card', 'aria-labelledby': 'expiring-h' },
      h('h2', { id: 'expiring-h' }, t('points.expiring')),
      expiring.length ? h('ul', { class: 'list', id: 'expiring' }, expiring.map((x) =>
        h('li', { class: 'spread' }, h('strong', {}, String(x.points)),
          h('span', {}, t('points.expires_on', { d: when(x.expires_at, false) })))))
        : h('p', {}, t('points.expiring_none'))),
    h('section', { class: 'card', 'aria-labelledby': 'history-h' },
      h('h2', { id: 'history-h' }, t('points.history')),
      (points.history || []).length ? h('ul', { class: 'list', id: 'history' }, points.history.map((x) =>
        h('li', { class: 'spread' },
          h('span', {}, h('strong', {}, kind(x.kind)), ' ',
            pick(x.title) || partnerName(x.partner) || '',
            h('br'), h('span', { class: 'muted small' }, when(x.at))),
          h('span', { class: x.points >= 0 ? 'plus' : 'lost' }, `${x.points > 0 ? '+' : ''}${x.points}`))))
        : h('p', {}, t('app.none'))));
  announce(t('app.loaded'));
}

boot({ render });
