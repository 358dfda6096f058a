// @ts-check
// The views and which one is showing. Each view module registers itself with enter()/leave();
// going to another view leaves the current one first (stops its polling, cancels what it
// runs), so no view watches another.
import { $ } from './dom.js';
import { session } from './session.js';

/** @typedef {'start' | 'signin' | 'passkeys' | 'wizard' | 'link' | 'diagnostics' | 'keys'} ViewName */

/**
 * A view: `enter(...)` shows it (with its arguments), `leave()` stops what it runs when
 * another view is shown, `resume()` shows it again as it was (Back from Diagnostics or the
 * Security keys page; default: show the section, nothing reloaded), `escape()` is the Escape
 * key while it shows and no dialog is open.
 * @typedef {object} View
 * @property {(...args: any[]) => unknown} enter
 * @property {() => void} leave
 * @property {() => void} [resume]
 * @property {() => void} [escape]
 */

/** @type {Partial<Record<ViewName, View>>} */
const views = {};
/** @type {ViewName | null} */
let current = null;
/** @type {ViewName | null} */
let previous = null;

/** The views whose page has the signed-in header. */
export const SIGNED_IN_VIEWS = ['passkeys', 'wizard', 'link'];

/**
 * @param {ViewName} name
 * @param {View} view
 */
export function register(name, view) {
  views[name] = view;
}

/** @returns {ViewName | null} */
export function currentView() {
  return current;
}

/** The view shown before the current one (null at start). */
export function previousView() {
  return previous;
}

/** @param {ViewName} name */
function view(name) {
  const v = views[name];
  if (!v) throw new Error(`view ${name} is not registered`);
  return v;
}

/** @param {ViewName} next */
function switchTo(next) {
  if (current && current !== next) view(current).leave();
  previous = current;
  current = next;
}

/**
 * Leaves the current view and enters `name` with `args`.
 * @param {ViewName} name
 * @param {...any} args
 */
export function go(name, ...args) {
  switchTo(name);
  return view(name).enter(...args);
}

/**
 * Leaves the current view and shows `name` again as it was.
 * @param {ViewName} name
 */
export function resume(name) {
  switchTo(name);
  const v = view(name);
  if (v.resume) v.resume();
  else showSection(name, { keepHeader: true });
}

/**
 * Shows the section of `name` and hides the others; sets body[data-view], the header (for the
 * signed-in views) and the demo banner; moves the focus to `focus` or the view's heading.
 * @param {ViewName} name
 * @param {{ focus?: HTMLElement, keepHeader?: boolean }} [options]
 */
export function showSection(name, options = {}) {
  document.querySelectorAll('main > section.view').forEach((s) => {
    /** @type {HTMLElement} */ (s).hidden = s.id !== `view-${name}`;
  });
  document.body.dataset.view = name;
  if (!options.keepHeader) $('app-header').hidden = !SIGNED_IN_VIEWS.includes(name);
  const demo = Boolean(session.profile && session.profile.demo);
  $('demo-banner').hidden = !demo;
  document.body.classList.toggle('demo', demo);
  const target = options.focus || /** @type {HTMLElement | null} */ (document.querySelector(`#view-${name} h1`));
  if (target) target.focus();
}

/** Escape: the current view's, unless a dialog is open. */
export function escape() {
  const v = current && views[current];
  if (v && v.escape) v.escape();
}
