// Human review (人工复核, PIPL art. 24): ask a person to look at my score or a scenario's
// decision, follow each request, and read the outcome with its effect in words, newest first.
import {
  alertBox, api, boot, clear, errorBox, h, pick, t, when,
} from './core.js';
import {
  correctionList, flashBox, label, line, recordName, remember,
} from './rights-common.js';

function scenarioName(scenarios, code) {
  return scenarios.has(code) ? pick(scenarios.get(code)) : t('reviews.a_scenario');
}

/** What a decided review did, in words. */
function effectText(effect, scenarios) {
  const kind = effect && effect.kind;
  if (kind === 'confirmed') return t('reviews.effect.confirmed');
  if (kind === 'eligibility_override') {
    return t('reviews.effect.override', { scenario: scenarioName(scenarios, effect.scenario),
      date: when(effect.ends_at, false) });
  }
  if (kind === 'record_removed' || kind === 'record_corrected') {
    const vars = { record: recordName(effect.category, effect.type),
      source: effect.source || t('reviews.a_source') };
    return t(kind === 'record_removed' ? 'reviews.effect.removed' : 'reviews.effect.corrected', vars);
  }
  return t('reviews.effect.unrecorded');
}

/** The form to ask for a review: of the score, or of one scenario's decision. */
function askCard(scenarios, root) {
  const result = h('div', { id: 'ask-result' });
  const subject = (value, checked) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: 'subject', value, checked }),
    h('span', {}, t(`reviews.ask.${value}`)));
  const select = h('select', { id: 'ask-scenario' },
    [...scenarios].map(([code, name]) => h('option', { value: code }, pick(name))));
  const which = h('div', { hidden: true }, h('label', { for: 'ask-scenario' }, t('reviews.ask.which')), select);
  const reason = h('textarea', { id: 'ask-reason', rows: 4, maxlength: 1000, required: true,
    'aria-describedby': 'ask-reason-hint' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, t('reviews.ask.submit'));
  const form = h('form', { novalidate: true, id: 'ask' },
    h('fieldset', {}, h('legend', {}, t('reviews.ask.subject')),
      subject('score', true), subject('eligibility', false)),
    which,
    h('label', { for: 'ask-reason' }, t('reviews.ask.reason')), reason,
    h('p', { class: 'hint', id: 'ask-reason-hint' }, t('reviews.ask.reason_hint')),
    submit, result);
  const showWhich = () => { which.hidden = form.elements.subject.value !== 'eligibility'; };
  form.addEventListener('change', showWhich);
  // A deep link (?subject=eligibility&scenario=<code>, e.g. from a benefit not granted) opens
  // the form with that decision chosen.
  const wanted = new URLSearchParams(location.search);
  const subjectWanted = wanted.get('subject');
  if (subjectWanted === 'score' || subjectWanted === 'eligibility') {
    form.elements.subject.value = subjectWanted;
    if (scenarios.has(wanted.get('scenario'))) select.value = wanted.get('scenario');
    showWhich();
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (!text) { clear(result, alertBox(t('reviews.ask.reason_needed'))); reason.focus(); return; }
    const body = { subject: form.elements.subject.value, reason: text };
    if (body.subject === 'eligibility') body.scenario = select.value;
    submit.disabled = true;
    try {
      await api('/api/v1/me/review-requests', { method: 'POST', body });
      remember(t('reviews.ask.sent'));
      history.replaceState(null, '', location.pathname);
      await render(root);
    } catch (error) {
      submit.disabled = false;
      clear(result, errorBox(error));
    }
  });
  return h('details', { class: 'card', id: 'ask-card', open: Boolean(subjectWanted) },
    h('summary', {}, h('span', { class: 'summary-title' }, t('reviews.ask.title'))),
    h('p', { class: 'small' }, t('reviews.ask.intro')), form);
}

function reviewItem(r, scenarios) {
  const subject = label('reviews.subject', r.subject) || '';
  const heading = r.subject === 'eligibility' && r.scenario
    ? `${subject} · ${scenarioName(scenarios, r.scenario)}` : subject;
  const decided = r.status === 'decided';
  const effect = r.effect || {};
  return h('li', { dataset: { review: r.id, status: r.status, effect: effect.kind || '' } },
    h('div', { class: 'spread' }, h('h3', {}, heading),
      h('span', { class: `badge ${decided ? 'ok' : 'warn'}` },
        decided ? label('reviews.outcome', r.outcome) || t('reviews.decided') : t('reviews.open'))),
    line('reviews.asked_at', when(r.requested_at)),
    decided ? line('reviews.decided_at', when(r.decided_at)) : null,
    line('reviews.reason', r.reason),
    decided ? h('p', { class: 'effect', 'data-effect-text': '' }, effectText(r.effect, scenarios)) : null,
    decided && effect.kind === 'record_corrected' ? correctionList(effect.correction, effect.category) : null,
    decided && r.note ? line('reviews.note', r.note) : null,
    decided ? null : h('p', { class: 'small' }, t('reviews.waiting')));
}

async function render(root) {
  const [reviews, catalogue] = await Promise.all([
    api('/api/v1/me/review-requests'), api('/api/v1/scenarios', { auth: null })]);
  const scenarios = new Map(catalogue.items.map((s) => [s.code, s.name]));
  clear(root,
    flashBox(),
    askCard(scenarios, root),
    h('section', { class: 'card', 'aria-labelledby': 'reviews-h' },
      h('h2', { id: 'reviews-h' }, t('reviews.reviews')),
      reviews.items.length
        ? h('ul', { class: 'list', id: 'reviews' }, reviews.items.map((r) => reviewItem(r, scenarios)))
        : h('p', {}, t('reviews.no_reviews')),
      h('p', { class: 'small' }, t('reviews.disputes_elsewhere'), ' ',
        h('a', { href: '/h5/disputes' }, t('nav.disputes')))));
}

boot({ render });
