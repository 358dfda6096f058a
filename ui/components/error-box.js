// @ts-check
// An error box (an element with role=alert): the text, then the detail behind "Details".
import { describe } from '../lib/ipc.js';
import { el } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

/**
 * Shows `err` in `box`; `texts` are a page's own wording by code (see ipc.js describe).
 * @param {HTMLElement} box
 * @param {unknown} err
 * @param {Record<string, string>} [texts]
 * @returns {import('../lib/ipc.js').Described}
 */
export function showError(box, err, texts) {
  const d = describe(err, texts);
  box.replaceChildren(
    el('p', { class: 'error-text', text: d.text }),
    d.detail ? el('details', {}, el('summary', { text: t('wizard.details') }),
      el('p', { class: 'error-detail', text: d.detail })) : '',
  );
  box.dataset.code = d.code;
  box.hidden = false;
  return d;
}

/**
 * Shows one sentence in `box` (no detail); `code` goes to data-code when given.
 * @param {HTMLElement} box
 * @param {string} text
 * @param {{ code?: string, plain?: boolean }} [options] `plain`: without the error-text style
 */
export function showText(box, text, options = {}) {
  box.replaceChildren(el('p', { class: options.plain ? null : 'error-text', text }));
  if (options.code) box.dataset.code = options.code;
  box.hidden = false;
}

/**
 * Empties and hides `box`.
 * @param {HTMLElement} box
 */
export function clearError(box) {
  box.hidden = true;
  box.replaceChildren();
  delete box.dataset.code;
}
