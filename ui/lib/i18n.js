// @ts-check
// Text lookup: every word the window shows comes from ui/strings.js through t().
import { STRINGS } from '../strings.js';

export { STRINGS };

/** Error texts keyed by error code (`STRINGS.errors`). */
export const ERROR_TEXTS = /** @type {Record<string, string>} */ (STRINGS.errors);

/**
 * The string at `path` ("a.b.c"), with {placeholders} filled from `params`; `path` itself when
 * there is no such string.
 * @param {string} path
 * @param {Record<string, string | number | null | undefined>} [params]
 * @returns {string}
 */
export function t(path, params) {
  /** @type {unknown} */
  let value = STRINGS;
  for (const k of path.split('.')) {
    value = value != null && typeof value === 'object' ? /** @type {Record<string, unknown>} */ (value)[k] : undefined;
  }
  if (typeof value !== 'string') return path;
  return value.replace(/\{(\w+)\}/g, (m, k) => (params && k in params ? String(params[k]) : m));
}

/**
 * Fills `data-s` (text), `data-s-placeholder` and `data-s-alt` under `root` from strings.js.
 * @param {ParentNode} root
 */
export function applyStrings(root) {
  root.querySelectorAll('[data-s]').forEach((node) => {
    node.textContent = t(/** @type {HTMLElement} */ (node).dataset.s || '');
  });
  root.querySelectorAll('[data-s-placeholder]').forEach((node) => {
    const input = /** @type {HTMLInputElement} */ (node);
    input.placeholder = t(input.dataset.sPlaceholder || '');
  });
  root.querySelectorAll('[data-s-alt]').forEach((node) => {
    const img = /** @type {HTMLImageElement} */ (node);
    img.alt = t(img.dataset.sAlt || '');
  });
}
