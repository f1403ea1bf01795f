// Credit reports and no-violation certificates: issue one, read what it says, share its
// verification link with whoever needs it (a landlord, an employer), download the PDF, revoke it.
import {
  alertBox, announce, api, boot, clear, colon, errorBox, getLang, h, sessionToken, t, when,
} from './core.js';
import { confirmStep, flashBox, label, line, remember } from './rights-common.js';

const SECTIONS = ['records', 'commendations', 'score', 'scenario_performance'];
const DEFAULT_SECTIONS = new Set(['records', 'commendations']);
// What a certificate can cover (categories with negative records): 违法违规 by default, late
// utility and rent payments and 先诊后付/免押 defaults when the resident adds them.
const SCOPE = ['public_credit', 'judicial', 'tax', 'traffic', 'utilities', 'rental', 'scenario_performance'];
const DEFAULT_SCOPE = new Set(['public_credit', 'judicial', 'tax', 'traffic']);

const local = (item, base) => (getLang() === 'en' ? item[`${base}_en`] : item[`${base}_zh`]);

function periodText(period) {
  return period && period.from ? t('reports.period_span', {
    first: when(period.from, false), last: when(period.to, false) }) : null;
}

/** The form that issues a report or a certificate. */
function issueCard(root) {
  const result = h('div', { id: 'issue-result' });
  const kind = (value, checked) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: 'kind', value, checked }),
    h('span', {}, h('strong', {}, t(`reports.kind.${value}`)), h('br', {}),
      h('span', { class: 'small muted' }, t(`reports.kind_hint.${value}`))));
  const sections = h('fieldset', { id: 'issue-sections' }, h('legend', {}, t('reports.sections')),
    SECTIONS.map((s) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'section', value: s, checked: DEFAULT_SECTIONS.has(s) }),
      h('span', {}, t(`reports.section.${s}`)))),
    h('p', { class: 'hint' }, t('reports.sections_hint')));
  const scope = h('fieldset', { id: 'issue-scope', hidden: true }, h('legend', {}, t('reports.scope')),
    SCOPE.map((c) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'category', value: c, checked: DEFAULT_SCOPE.has(c) }),
      h('span', {}, t(`cat.${c}`)))),
    h('p', { class: 'hint' }, t('reports.scope_hint')));
  const submit = h('button', { type: 'submit', class: 'button primary' }, t('reports.issue'));
  const form = h('form', { novalidate: true, id: 'issue' },
    h('fieldset', {}, h('legend', {}, t('reports.kind')), kind('credit_report', true), kind('no_violation', false)),
    sections, scope,
    h('p', { class: 'hint' }, t('reports.period_default')),
    submit, result);
  form.addEventListener('change', () => {
    sections.hidden = form.elements.kind.value !== 'credit_report';
    scope.hidden = !sections.hidden;
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { kind: form.elements.kind.value, lang: getLang() };
    if (body.kind === 'credit_report') {
      body.sections = [...form.querySelectorAll('input[name="section"]:checked')].map((i) => i.value);
      if (!body.sections.length) { clear(result, alertBox(t('reports.sections_needed'))); return; }
    } else {
      body.categories = [...form.querySelectorAll('input[name="category"]:checked')].map((i) => i.value);
      if (!body.categories.length) { clear(result, alertBox(t('reports.scope_needed'))); return; }
    }
    submit.disabled = true;
    try {
      const made = await api('/api/v1/me/reports', { method: 'POST', body });
      remember(t('reports.issued', { date: when(made.expires_at, false) }));
      await render(root, made.report_id);
    } catch (error) {
      submit.disabled = false;
      clear(result, errorBox(error));
    }
  });
  return h('details', { class: 'card', id: 'issue-card' },
    h('summary', {}, h('span', { class: 'summary-title' }, t('reports.new'))), form);
}

/** "水电气：共37条，其中负面1条" — a category's records in a report. */
function categoryLine(cat) {
  const vars = { name: local(cat, 'name'), n: cat.total, bad: cat.negatives.length };
  if (!cat.total) return t('reports.category_empty', vars);
  return t(cat.negatives.length ? 'reports.category_line' : 'reports.category_clean', vars);
}

/** What the report says, briefly, in the page's language. */
function contentView(detail) {
  const c = detail.content || {};
  const parts = [];
  if (c.subject) parts.push(line('reports.subject', `${c.subject.name} · ${c.subject.id_number}`));
  if (c.no_violation) {
    const nv = c.no_violation;
    const found = nv.categories.reduce((n, cat) => n + cat.negatives.length, 0);
    parts.push(h('p', { class: `report-statement ${nv.clean ? 'ok' : 'warn'}` },
      t(nv.clean ? 'reports.nv_clean' : 'reports.nv_found', {
        period: periodText(nv.period), n: found,
        categories: nv.categories.map((cat) => local(cat, 'name')).join(t('reports.list_sep')) })));
    parts.push(h('ul', { class: 'small' }, nv.categories.map((cat) => h('li', {},
      `${local(cat, 'name')}${colon()}`,
      cat.clean ? t('reports.clean') : cat.negatives.map((n) =>
        `${local(n, 'name')} ${when(n.occurred_on, false)}`).join(t('reports.list_sep'))))));
  }
  if (c.score) parts.push(line('reports.section.score', `${c.score.score} · ${c.score.tier_name || ''}`));
  if (c.records) {
    parts.push(h('p', { class: 'small' }, h('strong', {}, t('reports.section.records'))));
    parts.push(h('ul', { class: 'small' }, c.records.categories.map((cat) => h('li', {}, categoryLine(cat)))));
  }
  if (c.scenario_performance) {
    parts.push(line('reports.section.scenario_performance', categoryLine(c.scenario_performance)));
  }
  if (c.commendations) {
    parts.push(line('reports.section.commendations', t('reports.commendations_line', {
      n: c.commendations.commendations.length, hours: c.commendations.volunteer_hours,
      blood: c.commendations.blood_donations })));
  }
  return h('div', { class: 'report-content' }, parts);
}

/** The verification QR code from the API's SVG: parsed as HTML (a parsed document never runs
 * scripts) and only its <svg> element adopted, named for screen readers. */
function qrImage(svgText) {
  const svg = new DOMParser().parseFromString(svgText || '', 'text/html').body.firstElementChild;
  if (!svg || svg.namespaceURI !== 'http://www.w3.org/2000/svg') return null;
  const [width, height] = [svg.getAttribute('width'), svg.getAttribute('height')];
  if (width && height && !svg.getAttribute('viewBox')) svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  svg.querySelector('title')?.remove();
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('reports.qr_alt'));
  return h('div', { class: 'qr report-qr' }, document.importNode(svg, true));
}

async function sharePanel(report, place) {
  clear(place, h('p', { class: 'loading' }, t('app.loading')));
  try {
    const detail = await api(`/api/v1/me/reports/${encodeURIComponent(report.report_id)}`);
    const inputId = `link-${report.report_id}`;
    const link = h('input', { type: 'text', id: inputId, readonly: true, value: detail.verify_url,
      class: 'mono small' });
    const copied = h('span', { class: 'small', role: 'status' });
    const copy = h('button', { type: 'button', class: 'button' }, t('reports.copy'));
    copy.addEventListener('click', async () => {
      link.select();
      try { await navigator.clipboard.writeText(detail.verify_url); copied.textContent = t('reports.copied'); } catch {
        copied.textContent = t('reports.copy_by_hand');
      }
    });
    const share = navigator.share ? h('button', { type: 'button', class: 'button primary' }, t('reports.share')) : null;
    if (share) {
      share.addEventListener('click', () => navigator.share({ title: t(`reports.kind.${report.kind}`),
        text: t('reports.share_text'), url: detail.verify_url }).catch(() => {}));
    }
    clear(place,
      contentView(detail),
      h('label', { for: inputId }, t('reports.verify_link')), link,
      h('p', { class: 'hint' }, t('reports.verify_hint')),
      qrImage(detail.qr_svg),
      h('p', { class: 'hint' }, t('reports.qr_hint')),
      h('div', { class: 'row' }, share, copy, copied));
  } catch (error) {
    clear(place, errorBox(error));
  }
}

/** The PDF as issued, fetched with the session and handed over as a file. */
async function downloadPdf(report, place) {
  try {
    const response = await fetch(report.pdf_url, { headers: { Authorization: `Bearer ${sessionToken()}` },
      cache: 'no-store', credentials: 'omit' });
    if (!response.ok) throw new Error(String(response.status));
    const url = URL.createObjectURL(await response.blob());
    const link = h('a', { href: url, download: `pengcheng-${report.kind}-${report.report_id.slice(0, 8)}.pdf`,
      class: 'button' }, t('reports.pdf_ready'));
    clear(place, link);
    link.click();
  } catch {
    clear(place, alertBox(t('reports.pdf_failed')));
  }
}

function reportItem(report, root, open) {
  const active = report.status === 'active';
  const tone = { active: 'ok', revoked: 'bad', expired: 'plain' }[report.status] || 'plain';
  const place = h('div', { class: 'report-detail' });
  const pdfPlace = h('span', {});
  const view = h('button', { type: 'button', class: 'button', 'aria-expanded': 'false' }, t('reports.view'));
  view.addEventListener('click', () => {
    const opening = view.getAttribute('aria-expanded') !== 'true';
    view.setAttribute('aria-expanded', String(opening));
    if (opening) sharePanel(report, place); else place.replaceChildren();
  });
  const pdf = h('button', { type: 'button', class: 'button' }, t('reports.pdf'));
  pdf.addEventListener('click', () => downloadPdf(report, pdfPlace));
  const item = h('li', { dataset: { report: report.report_id, status: report.status } },
    h('div', { class: 'spread' }, h('h3', {}, t(`reports.kind.${report.kind}`)),
      h('span', { class: `badge ${tone}` }, label('reports.status', report.status) || report.status)),
    line('reports.issued_at', when(report.issued_at, false)),
    line(active ? 'reports.valid_until' : 'reports.was_valid_until', when(report.expires_at, false)),
    report.revoked_at ? line('reports.revoked_at', when(report.revoked_at, false)) : null,
    report.kind === 'credit_report'
      ? line('reports.sections', report.sections.map((s) => t(`reports.section.${s}`)).join(t('reports.list_sep')))
      : line('reports.scope', report.categories.map((c) => t(`cat.${c}`)).join(t('reports.list_sep'))),
    periodText(report.period) ? line('reports.period', periodText(report.period)) : null,
    active ? h('div', { class: 'row' }, view, report.available ? pdf : null, pdfPlace) : null,
    active ? place : null,
    active ? confirmStep({
      trigger: t('reports.revoke'), question: t('reports.revoke_question'),
      confirm: t('reports.revoke_confirm'),
      onConfirm: async () => {
        try {
          await api(`/api/v1/me/reports/${encodeURIComponent(report.report_id)}/revoke`, { method: 'POST' });
          remember(t('reports.revoked'));
          await render(root);
        } catch (error) {
          clear(place, errorBox(error));
        }
      } }) : null);
  if (open && active) {
    view.setAttribute('aria-expanded', 'true');
    sharePanel(report, place);
  }
  return item;
}

async function render(root, opened = null) {
  const reports = await api('/api/v1/me/reports');
  clear(root,
    flashBox(),
    issueCard(root),
    h('section', { class: 'card', 'aria-labelledby': 'reports-h' },
      h('h2', { id: 'reports-h' }, t('reports.mine')),
      reports.items.length
        ? h('ul', { class: 'list', id: 'reports' }, reports.items.map((r) => reportItem(r, root, r.report_id === opened)))
        : h('p', {}, t('reports.none'))));
  if (opened) announce(t('reports.issued_short'));
}

boot({ render });
