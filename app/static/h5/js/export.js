// Export my data: everything held about me as one JSON file, offered as a download.
import { announce, api, boot, clear, errorBox, h, t } from './core.js';

async function download(result, button) {
  button.disabled = true;
  clear(result, h('p', { class: 'loading' }, t('app.loading')));
  try {
    const data = await api('/api/v1/me/export');
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const stamp = new Date().toISOString().slice(0, 10);
    const link = h('a', { href: url, download: `pengcheng-my-data-${stamp}.json`, class: 'button' },
      t('export.button'));
    clear(result, h('div', { class: 'notice notice-ok' }, h('p', {}, t('export.done')), link));
    link.click();
    announce(t('export.done'));
  } catch (error) {
    clear(result, errorBox(error));
  } finally {
    button.disabled = false;
  }
}

async function render(root) {
  const result = h('div', { id: 'export-result' });
  const button = h('button', { type: 'button', class: 'button primary', id: 'export' }, t('export.button'));
  button.addEventListener('click', () => download(result, button));
  clear(root, h('section', { class: 'card' }, button, result));
}

boot({ render });
