// Access log (查询记录): who checked or used my codes or read my data, when, and what they learned.
import {
  announce, api, boot, clear, colon, getLang, h, partnerName, pick, t, when, yuan,
} from './core.js';

function label(prefix, code) {
  const text = t(`${prefix}.${code}`);
  return text === `${prefix}.${code}` ? String(code) : text;
}

function shown(key, value) {
  if (typeof value === 'boolean') return value ? t('app.yes') : t('app.no');
  if (key === 'seen' && Array.isArray(value)) {
    return value.map((code) => label('seen', code)).join(getLang() === 'zh' ? '、' : ', ');
  }
  if (key === 'subject') return label('subject', value);
  if (key.endsWith('_fen') && typeof value === 'number') return yuan(value);
  // Codes the other side was told (a report's kind, a verification's result, sections) in words.
  if (Array.isArray(value)) return value.map((v) => label(`value.${key}`, v)).join(getLang() === 'zh' ? '、' : ', ');
  if (typeof value === 'string') return label(`value.${key}`, value);
  if (value && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Exactly what the other side was told, in words: the entitlement, amounts, the pseudonym.
 *  Reference numbers (a report's, a dispute's) and the pseudonym are codes, shown as codes
 *  (they break anywhere on a narrow screen). */
function learnedText(learned) {
  if (!learned || !Object.keys(learned).length) return t('app.none');
  const parts = [];
  for (const [key, value] of Object.entries(learned.ent || {})) {
    const name = key === 'eligible' ? t('ent.usable') : label('limit', key);
    parts.push([`${name}${colon()}`, shown(key, value)]);
  }
  for (const [key, value] of Object.entries(learned)) {
    if (['ent', 'scn', 'sub'].includes(key)) continue;
    parts.push([`${label('learned', key)}${colon()}`,
      key.endsWith('_id') ? h('span', { class: 'mono' }, String(value)) : shown(key, value)]);
  }
  if (learned.sub) parts.push([`${t('access.pseudonym')}${colon()}`, h('span', { class: 'mono' }, learned.sub)]);
  const sep = getLang() === 'zh' ? '；' : '; ';
  return parts.flatMap((part, i) => (i ? [sep, ...part] : part));
}

async function render(root) {
  const [log, scenarios] = await Promise.all([
    api('/api/v1/me/access-log?limit=100'),
    api('/api/v1/scenarios', { auth: null }).catch(() => ({ items: [] })),
  ]);
  const names = new Map(scenarios.items.map((s) => [s.code, pick(s.name)]));
  if (!log.items.length) {
    clear(root, h('section', { class: 'card' }, h('p', {}, t('app.none'))));
    return;
  }
  clear(root, h('section', { class: 'card' }, h('ol', { class: 'list', id: 'access-log' },
    log.items.map((e) => h('li', { dataset: { action: e.action, actor: e.actor.client_id || '' } },
      h('div', { class: 'spread' },
        h('strong', {}, `${partnerName(e.actor.name) || e.actor.client_id} ${label('action', e.action)}`),
        h('span', { class: 'muted small' }, when(e.at))),
      h('p', { class: 'small' },
        e.scenario ? `${names.get(e.scenario) || e.scenario} · ` : '', label('outcome', e.outcome)),
      h('p', { class: 'small' }, `${t('access.learned')}${colon()}`, learnedText(e.learned)))))));
  announce(t('app.loaded'));
}

boot({ render });
