// @ts-check
// The add-a-passkey wizard: choose the authenticator (attached keys polled live), name the
// passkey, watch it being created and registered (with the key's prompts), or, for the
// platform authenticator or a phone, the registration link in the browser.
import { $, $input, busy, copyText, el, svgDataUrl } from '../lib/dom.js';
import { ERROR_TEXTS, t } from '../lib/i18n.js';
import { answerPin, call, cancelRunning, channel, describe, hasCode } from '../lib/ipc.js';
import { go, register, showSection } from '../lib/router.js';
import { session } from '../lib/session.js';
import { showError, showText } from '../components/error-box.js';
import { dismissPin, pinOpen, requestPin } from '../components/pin-dialog.js';
import { practicePanel } from '../components/practice-key.js';
import { sessionLost } from './signin.js';

/** @typedef {import('../types/ipc').AuthenticatorChoice} AuthenticatorChoice */
/** @typedef {import('../types/ipc').KeySummary} KeySummary */
/** @typedef {import('../types/ipc').EnrollEvent} EnrollEvent */
/** @typedef {import('../types/ipc').PromptEvent} PromptEvent */
/** @typedef {import('../types/ipc').LinkView} LinkView */
/** @typedef {'choose' | 'name' | 'progress' | 'platform' | 'done' | 'error'} Step */
/** @typedef {'starting' | 'optionsChecked' | 'waitingForAuthenticator' | 'created' | 'registering'} ProgressStep */
/** @typedef {{ id: string, model: string, hint: string, rank?: number }} Choice */

const wizard = {
  backup: false,
  /** @type {string | null} */
  authenticator: null,
  running: false,
  viaLink: false,
  /** @type {AuthenticatorChoice[]} the choices other than attached keys */
  others: [],
  /** @type {AuthenticatorChoice[]} attached keys (list_keys) */
  keys: [],
  /** @type {string | null} */
  keysError: null,
  /** @type {import('../types/ipc').ApiGeneration | null} the passkey API in use, once known */
  api: null,
};

const keyPoll = {
  gen: 0,
  /** @type {ReturnType<typeof setTimeout> | null} */
  timer: null,
  /** @type {Promise<void>} */
  inFlight: Promise.resolve(),
};

function profile() {
  if (!session.profile) throw new Error('no instance is open');
  return session.profile;
}

/** @type {Step[]} */
const wizardSteps = ['choose', 'name', 'progress', 'platform', 'done', 'error'];

/**
 * @param {Step} step
 * @param {HTMLElement | null} [focus]
 */
function wizardStep(step, focus) {
  wizardSteps.forEach((s) => { $(`wiz-${s}`).hidden = s !== step; });
  $('wiz-progress-card').hidden = !['progress', 'done', 'error'].includes(step) || wizard.viaLink;
  $('view-wizard').dataset.step = step;
  const order = ['choose', 'name', 'progress', 'done'];
  const at = order.indexOf(['error', 'platform'].includes(step) ? 'progress' : step);
  document.querySelectorAll('#wizard-steps li').forEach((li, i) => {
    li.classList.toggle('done', i < at || step === 'done');
    li.classList.toggle('current', i === at);
    if (i === at) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
  });
  if (step === 'choose') startKeyPoll(); else stopKeyPoll();
  if (focus) focus.focus();
}

// Attached security keys, polled while the chooser is open, so keys appear and disappear
// within a second. In demo mode only the practice key (nothing there touches a real key).
function startKeyPoll() {
  if (!session.profile || keyPoll.timer !== null) return;
  const demo = session.profile.demo;
  const gen = ++keyPoll.gen;
  const tick = () => {
    keyPoll.inFlight = (async () => {
      try {
        const keys = await call('list_keys');
        wizard.keys = demo ? keys.filter((k) => k.id === 'practice') : keys;
        wizard.keysError = null;
      } catch (e) {
        wizard.keys = [];
        wizard.keysError = describe(e).detail;
      }
    })();
    keyPoll.inFlight.then(() => {
      if (gen !== keyPoll.gen) return;
      // Not before the first full list (authenticators): the first choice is checked then.
      if (wizard.others.length) renderChoices(false);
      keyPoll.timer = setTimeout(tick, 700);
    });
  };
  keyPoll.timer = setTimeout(tick, 0);
}

function stopKeyPoll() {
  keyPoll.gen += 1;
  if (keyPoll.timer !== null) clearTimeout(keyPoll.timer);
  keyPoll.timer = null;
}

/** @param {KeySummary | Partial<KeySummary>} summary */
function keyHint(summary) {
  const transport = (summary.transport || '').toUpperCase();
  // The key's own transports (getInfo), e.g. "works over USB, NFC", after the state.
  const all = summary.transports && summary.transports.length
    ? ` · ${t('wizard.keyTransports', { list: summary.transports.map((x) => x.toUpperCase()).join(', ') })}` : '';
  if (summary.builtInVerification) return t('wizard.keyHintFingerprint', { transport }) + all;
  if (summary.pin === 'set') return t('wizard.keyHintPin', { transport }) + all;
  if (summary.pin === 'not set') return t('wizard.keyHintNoPin', { transport }) + all;
  return t('wizard.keyHint', { transport }) + all;
}

/**
 * The choices in order: attached keys (and "the key you touch" when several), the software
 * authenticator (demo), the platform authenticator or a phone.
 * @returns {Choice[]}
 */
function currentChoices() {
  /** @type {Choice[]} */
  const keys = wizard.keys.filter((k) => k.id !== 'practice')
    .map((k) => ({ id: k.id, model: k.info.model, hint: keyHint(k.key || {}) }));
  // The practice key (demo) comes last: the software authenticator stays the demo's first
  // choice, the phone its second.
  const practice = wizard.keys.filter((k) => k.id === 'practice').map((k) => ({
    id: k.id, model: k.info.model, hint: `${keyHint(k.key || {})} ${t('practice.hint')}`, rank: 1.5,
  }));
  if (keys.length > 1) keys.unshift({ id: 'key', model: t('wizard.anyKey'), hint: t('wizard.anyKeyHint') });
  const others = wizard.others.map((c) => {
    if (c.info.kind === 'software') return { id: c.id, model: c.info.model, hint: t('wizard.softwareHint'), rank: 0 };
    if (c.info.kind === 'platform') {
      return {
        id: c.id, rank: 1, hint: t('wizard.platformExplanation'),
        model: t(profile().demo ? 'wizard.platformModelDemo' : 'wizard.platformModel'),
      };
    }
    return { id: c.id, model: c.info.model, hint: c.info.notice || '', rank: 2 };
  }).concat(practice).sort((a, b) => a.rank - b.rank);
  return keys.concat(others);
}

let renderedChoices = '';

/** @param {boolean} initial */
function renderChoices(initial) {
  const choices = currentChoices();
  const signature = JSON.stringify(choices);
  const box = $('auth-choices');
  if (!profile().demo) {
    $('auth-keys').textContent = wizard.keysError
      ? t('wizard.keysError', { detail: wizard.keysError })
      : t(wizard.keys.length ? 'wizard.keysOne' : 'wizard.keysNone');
  } else {
    $('auth-keys').textContent = '';
  }
  if (!initial && signature === renderedChoices) return;
  renderedChoices = signature;
  const before = checkedChoice();
  const checkedId = before ? before.value : null;
  const hadFocus = box.contains(document.activeElement);
  box.replaceChildren();
  const keep = choices.some((c) => c.id === checkedId) ? checkedId : (choices[0] && choices[0].id);
  choices.forEach((c) => {
    const id = `auth-${c.id.replace(/[^a-z0-9-]/gi, '-')}`;
    box.append(el('div', { class: 'choice', dataset: { id: c.id } },
      el('input', { type: 'radio', name: 'authenticator', id, value: c.id, checked: c.id === keep, 'aria-describedby': `${id}-hint` }),
      el('label', { for: id },
        el('span', { class: 'strong', text: c.model }),
        el('span', { class: 'muted small', id: `${id}-hint`, text: c.hint }))));
  });
  $('auth-none').hidden = choices.length > 0;
  nextButton.disabled = choices.length === 0;
  const checked = /** @type {HTMLElement | null} */ (box.querySelector('input:checked'));
  if (initial) (checked || $('wiz-choose-cancel')).focus();
  else if (hadFocus) (checked || nextButton).focus();
}

/** @returns {HTMLInputElement | null} */
function checkedChoice() {
  return document.querySelector('input[name="authenticator"]:checked');
}

/**
 * Opens the wizard at its first step.
 * @param {boolean} backup a second passkey (the title says "backup")
 */
async function enter(backup) {
  stopKeyPoll();
  Object.assign(wizard, { backup, authenticator: null, running: false, viaLink: false, others: [], keys: [], api: null });
  // Who chooses the RP ID differs per passkey API (issue 14): ZITADEL on v1, the app on v2.
  call('passkey_api').then((api) => { wizard.api = api.generation; }, () => {});
  renderedChoices = '';
  $('wizard-title').textContent = t(backup ? 'wizard.backupTitle' : 'wizard.title');
  showSection('wizard');
  $('auth-choices').replaceChildren();
  $('auth-keys').textContent = '';
  wizardStep('choose');
  wizardPractice.show();
  try {
    wizard.others = await call('authenticators');
  } catch (e) {
    if (sessionLost(e)) return;
    wizardError(e);
    return;
  }
  renderChoices(true);
}

const wizardPractice = practicePanel($('wiz-practice'), 'wiz');

const nextButton = /** @type {HTMLButtonElement} */ ($('wiz-choose-next'));
nextButton.addEventListener('click', () => busy(nextButton, async () => {
  const picked = checkedChoice();
  if (!picked) return;
  stopKeyPoll();
  await keyPoll.inFlight; // no key is opened twice at once
  wizard.authenticator = picked.value;
  if (picked.value === 'platform') { runPlatform(); return; }
  let name = '';
  try {
    name = await call('suggest_name', { authenticator: picked.value });
  } catch (e) {
    if (sessionLost(e)) return;
    wizardError(e);
    return;
  }
  $input('passkey-name').value = name;
  wizardStep('name', $('passkey-name'));
  $input('passkey-name').select();
}));

$('wiz-choose-cancel').addEventListener('click', () => go('passkeys'));
$('wiz-name-back').addEventListener('click', () => wizardStep('choose', checkedChoice()));

/** @type {ProgressStep[]} */
const progressOrder = ['starting', 'optionsChecked', 'waitingForAuthenticator', 'created', 'registering'];

/**
 * Draws the live steps; `outcome` is 'done' (all finished) or 'failed' (at `reached`).
 * @param {ProgressStep} reached
 * @param {Partial<Record<ProgressStep, string>>} texts
 * @param {'done' | 'failed'} [outcome]
 */
function renderProgress(reached, texts, outcome) {
  const list = $('progress-list');
  list.replaceChildren();
  const at = outcome === 'done' ? progressOrder.length : progressOrder.indexOf(reached);
  progressOrder.forEach((step, i) => {
    let status = i < at ? 'done' : (i === at ? 'current' : 'todo');
    if (status === 'current' && outcome === 'failed') status = 'failed';
    list.append(el('li', { class: status, dataset: { step }, 'aria-current': status === 'current' ? 'step' : null },
      el('span', { class: 'mark', 'aria-hidden': 'true' }),
      el('span', { text: texts[step] || t(`wizard.progress.${step}`) })));
  });
}

/** @param {string} step @returns {step is ProgressStep} */
const isProgressStep = (step) => /** @type {string[]} */ (progressOrder).includes(step);

$('wiz-name').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $input('passkey-name').value.trim();
  if (!name) { $('passkey-name').focus(); return; }
  const authenticator = wizard.authenticator;
  if (!authenticator) return;
  wizard.running = true;
  /** @type {Partial<Record<ProgressStep, string>>} */
  // The name as typed until the registering step names it (never a bare "{name}").
  const texts = { registering: t('wizard.progress.registering', { name }) };
  /** @type {ProgressStep} */
  let reached = 'starting';
  renderProgress(reached, texts);
  $('wiz-notice').hidden = true;
  hidePrompt();
  wizardStep('progress', $('wiz-cancel-run'));
  let finished = false;
  const onPrompt = channel((/** @type {PromptEvent} */ p) => { if (!finished) handlePrompt(p, () => finished); });
  const onEvent = channel((/** @type {EnrollEvent} */ e) => {
    if (finished) return;
    if (e.step === 'optionsChecked') {
      const key = wizard.api === null ? 'optionsCheckedDone' : wizard.api === 'v1' ? 'optionsCheckedV1' : 'optionsCheckedV2';
      texts.optionsChecked = t(`wizard.progress.${key}`, { rpId: e.rp_id });
    }
    if (e.step === 'waitingForAuthenticator') {
      const a = e.authenticator;
      texts.waitingForAuthenticator = a.hardware
        ? t('wizard.progress.waitingKey', { model: a.model })
        : t('wizard.progress.waitingSoftware');
      // The software authenticator was explained when it was chosen.
      if (a.notice && a.hardware) { $('wiz-notice').textContent = a.notice; $('wiz-notice').hidden = false; }
    }
    if (e.step === 'created') hidePrompt();
    if (e.step === 'registering') texts.registering = t('wizard.progress.registering', { name: e.name });
    if (isProgressStep(e.step)) reached = e.step;
    renderProgress(reached, texts);
  });
  try {
    const added = await call('add_passkey', { authenticator, name, onEvent, onPrompt });
    finished = true;
    endPrompts();
    renderProgress(reached, texts, 'done');
    $('wiz-done-title').textContent = t('wizard.doneTitle', { name: added.name });
    const test = added.selfTest;
    const failed = test && 'message' in test ? test : null; // SelfTestOutcome's Failed form
    $('wiz-selftest').textContent = !test ? ''
      : failed ? (ERROR_TEXTS[failed.code] || t('wizard.selfTestFailed', { message: failed.message, advice: failed.advice }))
        : t('wizard.selfTestPassed');
    $('wiz-selftest').classList.toggle('warning', !!failed);
    wizardStep('done', $('wiz-backup'));
  } catch (e) {
    finished = true;
    endPrompts();
    if (sessionLost(e)) return;
    renderProgress(reached, texts, 'failed');
    wizardError(e);
  } finally {
    wizard.running = false;
  }
});

// ---------- security key prompts ----------

/** @param {string} text */
function showPrompt(text) {
  $('wiz-prompt-text').textContent = text;
  $('wiz-prompt').hidden = false;
}

function hidePrompt() {
  $('wiz-prompt').hidden = true;
  $('wiz-prompt-text').textContent = '';
}

function endPrompts() {
  hidePrompt();
  if (pinOpen()) { dismissPin(); focusCancel(); }
}

function focusCancel() {
  const cancel = $('wiz-cancel-run');
  if (!cancel.closest('[hidden]')) cancel.focus();
}

/** Prompt notices with a line in strings.js (`wizard.prompt.<kind>`). */
const NOTICES = ['processing', 'useBuiltInVerification', 'fallingBackToPin', 'pinRejected', 'pinSet'];

/**
 * @param {PromptEvent} p
 * @param {() => boolean} over true once the operation has ended (no PIN answer due then)
 */
function handlePrompt(p, over) {
  switch (p.prompt) {
    case 'pin':
      showPrompt(t('wizard.prompt.pin'));
      requestPin(p.request).then((pin) => {
        if (over()) return;
        answerPin(pin);
        focusCancel();
      });
      break;
    case 'touch': showPrompt(t('wizard.prompt.touch')); break;
    case 'touchToSelect': showPrompt(t('wizard.prompt.touchToSelect')); break;
    case 'notice': {
      const n = p.notice;
      if (NOTICES.includes(n.kind)) showPrompt(t(`wizard.prompt.${n.kind}`, { reason: 'reason' in n ? n.reason : '' }));
      break;
    }
    default: break;
  }
}

// ---------- platform authenticator or phone: registration link ----------

async function runPlatform() {
  wizard.running = true;
  wizard.viaLink = true;
  $('platform-status').textContent = t('wizard.platformOpening');
  $('platform-link').hidden = true;
  $('platform-copy-status').textContent = '';
  wizardStep('platform', $('wiz-platform-cancel'));
  const onLink = channel((/** @type {LinkView} */ link) => {
    /** @type {HTMLImageElement} */ ($('platform-qr')).src = svgDataUrl(link.qrSvg);
    $input('platform-url').value = link.link;
    $('platform-link').hidden = false;
    $('platform-status').textContent = t('wizard.platformWaiting');
  });
  try {
    const added = await call('add_passkey_via_link', { onLink });
    $('wiz-done-title').textContent = t('wizard.doneTitle', { name: added.name || t('passkeys.unnamed') });
    wizardStep('done', $('wiz-backup'));
  } catch (e) {
    if (sessionLost(e)) return;
    wizardError(e);
  } finally {
    wizard.running = false;
  }
}

$('wiz-platform-cancel').addEventListener('click', () => cancelRunning());
$('btn-copy-platform-url').addEventListener('click', async () => {
  const ok = await copyText($input('platform-url'));
  $('platform-copy-status').textContent = t(ok ? 'link.copied' : 'link.copyFailed');
});

/** @param {unknown} e */
function wizardError(e) {
  const box = $('wiz-error-box');
  if (hasCode(e, 'cancelled')) showText(box, t('wizard.cancelled'), { code: 'cancelled' });
  else showError(box, e);
  wizardStep('error', $('wiz-retry'));
}

$('wiz-cancel-run').addEventListener('click', () => cancelRunning());
$('wiz-retry').addEventListener('click', () => go('wizard', wizard.backup));
$('wiz-error-close').addEventListener('click', () => go('passkeys'));
$('wiz-backup').addEventListener('click', () => go('wizard', true));
$('wiz-finish').addEventListener('click', () => go('passkeys'));

register('wizard', {
  enter,
  leave: stopKeyPoll,
  escape() {
    if (wizard.running) cancelRunning();
    else go('passkeys');
  },
});
