// Sign-in. Production: the mini-program opens pages with #token=…; development mode also offers
// the seeded demo residents (GET /api/v1/auth/demo/residents, POST /api/v1/auth/demo).
import { announce, api, ApiError, boot, clear, errorBox, h, pick, setSession, t } from './core.js';

function nextPage() {
  const next = new URLSearchParams(location.search).get('next') || '';
  // Only a path on this site: never an open redirect.
  return /^\/h5\/[\w-]*(\?[\w=&%:.-]*)?$/.test(next) ? next : '/h5/';
}

async function signIn(residentId) {
  const session = await api('/api/v1/auth/demo', {
    method: 'POST', auth: null, body: { resident_id: residentId } });
  setSession(session.token);
  announce(t('login.done'));
  location.assign(nextPage());
}

async function render(root) {
  let residents;
  try {
    residents = await api('/api/v1/auth/demo/residents', { auth: null });
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
      clear(root, h('div', { class: 'notice' }, h('p', {}, t('login.unavailable'))));
      return;
    }
    throw error;
  }
  const result = h('div', { class: 'result' });
  const list = h('ul', { class: 'list' }, residents.map((r) => h('li', { class: 'spread' },
    // a persona comes with one line saying who they are (the first is the one to try)
    h('div', {}, h('div', {}, r.label),
      r.description && h('p', { class: 'hint' }, pick(r.description))),
    h('button', {
      type: 'button', class: 'button primary', 'data-resident': r.resident_id,
      'aria-label': `${t('login.as')} ${r.label}`,
      onclick: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        try { await signIn(r.resident_id); } catch (error) {
          button.disabled = false;
          clear(result, errorBox(error));
        }
      },
    }, t('login.as')))));
  clear(root, h('section', { class: 'card', 'aria-labelledby': 'demo-h' },
    h('h2', { id: 'demo-h' }, t('login.demo')),
    h('p', { class: 'hint' }, t('login.demo_hint')),
    residents.length ? list : h('p', {}, t('app.none')), result));
}

boot({ render, session: false });
