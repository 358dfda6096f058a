// @ts-check
// The person's passkeys: the list with each one's state, remove / clean up, and "know your
// passkeys" (the model when this computer enrolled it, "Which key is this?", "Test this
// passkey").
import { $, busy, el } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { answerPin, call, cancelRunning, channel, describe, hasCode } from '../lib/ipc.js';
import { go, register, showSection } from '../lib/router.js';
import { session } from '../lib/session.js';
import { clearError, showError } from '../components/error-box.js';
import { confirmDanger } from '../components/confirm-dialog.js';
import { loadHeader } from '../components/header.js';
import { dismissPin, requestPin } from '../components/pin-dialog.js';
import { sessionLost } from './signin.js';

/** @typedef {import('../types/ipc').Passkey} Passkey */
/** @typedef {import('../types/ipc').KnownPasskeyView} KnownPasskeyView */
/** @typedef {import('../types/ipc').PromptEvent} PromptEvent */

/** @type {KnownPasskeyView[]} */
let listed = [];

/**
 * Shows the list; `message` replaces the count in the status line (e.g. "Removed").
 * @param {string} [message]
 */
async function enter(message) {
  showSection('passkeys');
  loadHeader();
  await refresh(message);
}

/** @param {string} [message] */
async function refresh(message) {
  const status = $('passkeys-status');
  clearError($('passkeys-error'));
  status.textContent = t('passkeys.loading');
  $('view-passkeys').setAttribute('aria-busy', 'true');
  try {
    // Each passkey with the model when this computer enrolled it (src-tauri/src/know.rs).
    listed = await call('list_known_passkeys');
    session.passkeys = listed;
    render();
    // On User service v2 unfinished registrations are not listed: say so (issue 14).
    $('passkeys-v2-note').hidden = await call('passkey_api')
      .then((api) => api.listsUnfinished, () => true);
    status.textContent = message || countText(listed.length);
  } catch (e) {
    status.textContent = '';
    if (!sessionLost(e)) showError($('passkeys-error'), e);
  } finally {
    $('view-passkeys').removeAttribute('aria-busy');
  }
}

/** @param {number} n */
function countText(n) {
  return n === 1 ? t('passkeys.countOne') : t('passkeys.count', { count: n });
}

/**
 * @param {Passkey} p
 * @returns {'ready' | 'not-ready' | 'unknown'}
 */
export function stateOf(p) {
  switch (p.state) {
    case 'AUTH_FACTOR_STATE_READY': return 'ready';
    case 'AUTH_FACTOR_STATE_NOT_READY': return 'not-ready';
    default: return 'unknown';
  }
}

function render() {
  const list = $('passkey-list');
  list.replaceChildren();
  const ready = listed.filter((p) => stateOf(p) === 'ready');
  $('passkeys-empty').hidden = ready.length > 0;
  $('btn-add').hidden = ready.length === 0;
  $('passkeys-backup-hint').hidden = ready.length !== 1;
  listed.forEach((p) => {
    const s = stateOf(p);
    const name = p.name || t('passkeys.unnamed');
    const unfinished = s === 'not-ready';
    const badge = {
      ready: t('passkeys.stateReady'), 'not-ready': t('passkeys.stateNotReady'), unknown: t('passkeys.stateUnknown'),
    }[s];
    const action = el('button', {
      type: 'button', class: unfinished ? '' : 'danger-quiet',
      text: t(unfinished ? 'passkeys.cleanUp' : 'passkeys.remove'),
      'aria-label': t(unfinished ? 'passkeys.cleanUpLabel' : 'passkeys.removeLabel', { name }),
      onclick: () => removePasskey(p, unfinished, action),
    });
    list.append(el('li', { class: `row passkey ${s}`, dataset: { id: p.id, name: p.name || undefined, state: s } },
      el('span', { class: 'key-icon', 'aria-hidden': 'true' }),
      el('div', { class: 'grow' },
        el('div', { class: 'strong passkey-name', text: name }),
        unfinished ? el('div', { class: 'muted small', text: t('passkeys.stateNotReadyHint') }) : '',
        unfinished ? '' : knowParts(p, name)),
      el('span', { class: `badge ${s}`, text: badge }),
      action));
  });
}

// ---------- know your passkeys: model, "Which key is this?", "Test this passkey" ----------

/**
 * The model line of a passkey and, when it can be checked here, its two actions.
 * @param {KnownPasskeyView} p
 * @param {string} name
 */
function knowParts(p, name) {
  const where = !p.known ? t('know.elsewhere')
    : p.kind === 'software' ? t('know.modelSoftware', { model: p.model })
      : t('know.model', { model: p.model, transport: p.transport });
  const line = el('div', { class: 'muted small know-model', text: where });
  if (!p.canCheck) return line;
  const status = el('p', { class: 'status small know-status', role: 'status' });
  const cancel = el('button', {
    type: 'button', class: 'know-cancel', hidden: true, text: t('know.cancel'),
    onclick: () => cancelRunning(),
  });
  const which = el('button', {
    type: 'button', class: 'know-which', text: t('know.which'),
    'aria-label': t('know.whichLabel', { name }),
    onclick: () => whichPasskey(p, which, status),
  });
  const test = el('button', {
    type: 'button', class: 'know-test', text: t('know.test'),
    'aria-label': t('know.testLabel', { name }),
    onclick: () => testPasskey(p, test, cancel, status),
  });
  return el('div', { class: 'know' }, line, el('div', { class: 'actions' }, which, test, cancel), status);
}

/**
 * @param {HTMLElement} status
 * @param {string} text
 * @param {boolean} [warning]
 */
function knowStatus(status, text, warning) {
  status.textContent = text;
  status.classList.toggle('warning', !!warning);
  status.dataset.outcome = warning ? 'failed' : 'ok';
}

/**
 * @param {KnownPasskeyView} p
 * @param {HTMLButtonElement} button
 * @param {HTMLElement} status
 */
async function whichPasskey(p, button, status) {
  knowStatus(status, t('know.whichRunning'));
  await busy(button, async () => {
    try {
      const found = await call('which_passkey', { id: p.id });
      const text = found.kind === 'software'
        ? t('know.whichSoftware', { model: found.model })
        : t(found.winked ? 'know.whichKeyBlinking' : 'know.whichKey', { model: found.model, transport: found.transport });
      knowStatus(status, text);
    } catch (e) {
      if (sessionLost(e)) return;
      knowStatus(status, knowError(p, e), true);
    }
  });
}

/**
 * @param {KnownPasskeyView} p
 * @param {unknown} e
 */
function knowError(p, e) {
  if (hasCode(e, 'authenticator_not_found')) {
    return t('know.notHeld', { model: p.model, transport: p.transport });
  }
  return describe(e).text;
}

/**
 * @param {KnownPasskeyView} p
 * @param {HTMLButtonElement} button
 * @param {HTMLButtonElement} cancel
 * @param {HTMLElement} status
 */
async function testPasskey(p, button, cancel, status) {
  let finished = false;
  const onPrompt = channel((/** @type {PromptEvent} */ m) => {
    if (finished) return;
    if (m.prompt === 'pin') {
      knowStatus(status, t('know.pin'));
      requestPin(m.request).then((pin) => { if (!finished) answerPin(pin); });
    }
    if (m.prompt === 'touch') knowStatus(status, t('know.touch'));
  });
  knowStatus(status, t('know.testRunning'));
  cancel.hidden = false;
  await busy(button, async () => {
    try {
      const outcome = await call('test_passkey', { id: p.id, onPrompt });
      finished = true;
      if ('message' in outcome) { // SelfTestOutcome's Failed form (passed: false)
        knowStatus(status, t('know.testFailed', { message: outcome.message }), true);
      } else {
        knowStatus(status, t(outcome.userVerified ? 'know.testPassedVerified' : 'know.testPassed'));
      }
    } catch (e) {
      finished = true;
      if (sessionLost(e)) return;
      knowStatus(status, knowError(p, e), true);
    } finally {
      cancel.hidden = true;
      dismissPin();
    }
  });
}

/**
 * @param {KnownPasskeyView} p
 * @param {boolean} unfinished
 * @param {HTMLButtonElement} button
 */
async function removePasskey(p, unfinished, button) {
  const name = p.name || t('passkeys.unnamed');
  const ok = unfinished
    ? await confirmDanger(t('confirm.cleanUpTitle'), t('confirm.cleanUpText'), t('confirm.cleanUpOk'))
    : await confirmDanger(t('confirm.removeTitle', { name }),
      p.onKey
        ? t('confirm.removeTextOnKey', { model: p.model || t('passkeys.unnamed') })
        : t('confirm.removeText'),
      t('confirm.removeOk'));
  if (!ok) { button.focus(); return; }
  await busy(button, async () => {
    try {
      await call('remove_passkey', { id: p.id });
      await refresh(unfinished ? t('passkeys.cleanedUp') : t('passkeys.removed', { name }));
    } catch (e) {
      if (sessionLost(e)) return;
      await refresh();
      showError($('passkeys-error'), e);
    }
  });
  $('passkeys-title').focus();
}

$('btn-add').addEventListener('click', () => go('wizard', false));
$('btn-add-first').addEventListener('click', () => go('wizard', false));
$('btn-link').addEventListener('click', () => go('link'));

register('passkeys', { enter, leave() {} });
