// @ts-check
// The confirmation dialog (#confirm-dialog) for irreversible actions. Cancel has the focus.
import { $ } from '../lib/dom.js';

/**
 * Asks to confirm; resolves true for OK, false for Cancel or Escape.
 * @param {string} title
 * @param {string} text
 * @param {string} okLabel
 * @returns {Promise<boolean>}
 */
export function confirmDanger(title, text, okLabel) {
  const dialog = /** @type {HTMLDialogElement} */ ($('confirm-dialog'));
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = 'cancel';
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}

/** True while the dialog is open. */
export function confirmOpen() {
  return /** @type {HTMLDialogElement} */ ($('confirm-dialog')).open;
}
