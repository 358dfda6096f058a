// @ts-check
// DOM helpers: lookup by id, element building (text always through textContent), busy buttons,
// copying to the clipboard.

/**
 * The element with this id. The markup is static (ui/index.html), so a missing id is a bug.
 * @template {HTMLElement} [E=HTMLElement]
 * @param {string} id
 * @returns {E}
 */
export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`no element #${id}`);
  return /** @type {E} */ (node);
}

/** Like {@link $} for inputs and textareas (anything with a `value`). */
export const $input = /** @type {(id: string) => HTMLInputElement} */ ($);

/** Like {@link $} for buttons. */
export const $button = /** @type {(id: string) => HTMLButtonElement} */ ($);

/**
 * @typedef {Record<string, unknown> & { text?: string, dataset?: Record<string, string | undefined> }} Attrs
 * `text` sets textContent, `dataset` data-*, `onX` adds a listener for X; `true` is an empty
 * attribute; `undefined`, `null` and `false` leave the attribute out.
 */

/**
 * A new element with attributes and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {...(Node | string)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => {
    if (v === undefined || v === null || v === false) return;
    if (k === 'text') node.textContent = String(v);
    else if (k === 'dataset') {
      Object.entries(/** @type {Record<string, string | undefined>} */ (v)).forEach(([dk, dv]) => {
        if (dv !== undefined) node.dataset[dk] = dv;
      });
    } else if (k.startsWith('on')) node.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else node.setAttribute(k, v === true ? '' : String(v));
  });
  children.forEach((c) => node.append(c));
  return node;
}

/**
 * Runs `work` with `button` disabled and aria-busy.
 * @template T
 * @param {HTMLButtonElement} button
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/**
 * Copies the field's value; falls back to selecting it and execCommand. True when copied.
 * @param {HTMLInputElement | HTMLTextAreaElement} input
 * @returns {Promise<boolean>}
 */
export async function copyText(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch (_) {
    input.focus();
    input.select();
    try { return document.execCommand('copy'); } catch (_e) { return false; }
  }
}

/**
 * A `data:` URL for an SVG document (the QR codes the Rust side draws).
 * @param {string} svg
 */
export function svgDataUrl(svg) {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}
