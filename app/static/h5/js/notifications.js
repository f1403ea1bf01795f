// Notifications: bill reminders, dispute outcomes, consent renewals, points expiring.
import { announce, api, boot, clear, dayText, errorBox, h, pick, t, when } from './core.js';

/** A message's dates ("请于 2026-11-08 前还款", "2026-11-08 16:00", as the services write them, in
 *  China Standard Time) in the pages' one date format. */
function localDates(text) {
  return String(text).replace(/\b(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}))?\b/g,
    (_all, y, m, d, hh, mm) => dayText(y, m, d, hh ? `${hh}:${mm}` : null));
}

async function render(root) {
  const answer = await api('/api/v1/me/notifications?limit=100');
  if (!answer.items.length) {
    clear(root, h('section', { class: 'card' }, h('p', {}, t('app.none'))));
    return;
  }
  const result = h('div', {});
  const unread = answer.items.filter((n) => !n.read_at).map((n) => n.id);
  clear(root, h('section', { class: 'card' },
    unread.length ? h('button', {
      type: 'button', class: 'button',
      onclick: async () => {
        try {
          await api('/api/v1/me/notifications/read', { method: 'POST', body: { ids: unread } });
          await render(root);
        } catch (error) { clear(result, errorBox(error)); }
      },
    }, t('notifications.mark_read')) : null, result,
    h('ul', { class: 'list', id: 'notifications' }, answer.items.map((n) => h('li', {},
      h('div', { class: 'spread' },
        h('strong', {}, pick(n.title), n.read_at ? null : [' ', h('span', { class: 'badge warn' },
          t('notifications.unread'))]),
        h('span', { class: 'muted small' }, when(n.created_at))),
      h('p', {}, localDates(pick(n.body))))))));
  announce(t('app.loaded'));
}

boot({ render });
