// @ts-check
// The security key's PIN dialog (#pin-dialog): the one owner of #pin-form. Enter the PIN, or
// choose a new one (typed twice), checked against the limits the request carries (PinRequest
// `minLength` in code points, `maxBytes` in UTF-8 bytes) before it leaves the window.
import { $, $input, el } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { clearError } from './error-box.js';

/** @typedef {import('../types/ipc').PinRequest} PinRequest */

/**
 * Words that replace the dialog's defaults (e.g. the Security keys page's "current PIN" and
 * "new PIN" while it changes a PIN).
 * @typedef {{ title?: string, text?: string }} PinWords
 */

/** @type {{ request: PinRequest, resolve: (pin: string | null) => void } | null} */
let pending = null;

const dialog = () => /** @type {HTMLDialogElement} */ ($('pin-dialog'));

/**
 * Opens the dialog for `request` (or updates it when it is open). Resolves with the PIN, or
 * null when the person cancels (Cancel, Escape) or the app dismisses the dialog
 * ({@link dismissPin}). The caller answers the key (ipc.js answerPin).
 * @param {PinRequest} request
 * @param {PinWords} [words]
 * @returns {Promise<string | null>}
 */
export function requestPin(request, words = {}) {
  if (pending) pending.resolve(null);
  const enter = request.kind === 'enter';
  const title = { enter: 'pin.enterTitle', setNew: 'pin.setTitle', changeRequired: 'pin.changeTitle' }[request.kind];
  $('pin-title').textContent = words.title || t(title);
  let text;
  if (request.kind === 'enter') text = request.afterWrongPin ? t('pin.wrongText') : (words.text || t('pin.enterText'));
  else text = words.text || t(request.kind === 'changeRequired' ? 'pin.changeText' : 'pin.setText');
  $('pin-text').textContent = text;
  const left = request.kind === 'enter' ? request.attemptsLeft : null;
  $('pin-attempts').hidden = left == null;
  if (left != null) {
    $('pin-attempts').textContent = left === 1 ? t('pin.attemptsLeftOne') : t('pin.attemptsLeft', { count: left });
  }
  $('pin-label').textContent = t(enter ? 'pin.pinLabel' : 'pin.newPinLabel');
  // The rules before typing (YA-style): minimum from the key's getInfo, CTAP's 63-byte maximum.
  $('pin-hint').textContent = request.kind === 'enter' ? '' : t('pin.rules', { min: request.minLength, max: request.maxBytes });
  const input = $input('pin-input');
  const confirm = $input('pin-confirm');
  input.setAttribute('autocomplete', enter ? 'off' : 'new-password');
  // A character is at least one byte: maxBytes characters is an upper bound the field can hold.
  [input, confirm].forEach((field) => {
    if (request.kind === 'enter') field.removeAttribute('maxlength');
    else field.maxLength = request.maxBytes;
  });
  $('pin-confirm-field').hidden = enter;
  input.value = '';
  confirm.value = '';
  clearError($('pin-error'));
  if (!dialog().open) dialog().showModal();
  input.focus();
  return new Promise((resolve) => { pending = { request, resolve }; });
}

/** Closes the dialog without an answer (the operation ended); a pending request gets null. */
export function dismissPin() {
  finish(null);
}

/** True while the dialog is open. */
export function pinOpen() {
  return dialog().open;
}

/** @param {string | null} pin */
function finish(pin) {
  const p = pending;
  pending = null;
  $input('pin-input').value = '';
  $input('pin-confirm').value = '';
  if (dialog().open) dialog().close();
  if (p) p.resolve(pin);
}

/** @param {string} text */
function problem(text) {
  const box = $('pin-error');
  box.replaceChildren(el('p', { class: 'error-text', text }));
  box.hidden = false;
  $('pin-input').focus();
}

/**
 * Why `pin` does not fit `request`, or null when it does.
 * @param {PinRequest} request
 * @param {string} pin
 * @param {string} confirmation
 * @returns {string | null}
 */
export function pinProblem(request, pin, confirmation) {
  if (!pin) return t('pin.empty');
  if (request.kind === 'enter') return null;
  if ([...pin].length < request.minLength) return t('pin.tooShort', { min: request.minLength });
  if (new TextEncoder().encode(pin).length > request.maxBytes) return t('pin.tooLong', { max: request.maxBytes });
  if (pin !== confirmation) return t('pin.mismatch');
  return null;
}

$('pin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!pending) return;
  const pin = $input('pin-input').value;
  const why = pinProblem(pending.request, pin, $input('pin-confirm').value);
  if (why) {
    if (why === t('pin.mismatch')) $input('pin-confirm').value = '';
    problem(why);
    return;
  }
  finish(pin);
});
$('pin-cancel').addEventListener('click', () => finish(null));
// Escape closes the dialog: that is Cancel.
dialog().addEventListener('cancel', (ev) => { ev.preventDefault(); finish(null); });
