// @ts-check
// The demo's practice security key (simulated): what it is doing, "Touch the key" while it
// waits for a touch (the gesture a real key wants), and the demo-only "Remove the key" /
// "Insert the key". Used by the wizard and the Security keys page; shown only in the demo.
import { busy, el } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { call, channel } from '../lib/ipc.js';

/** @typedef {import('../types/ipc').PracticeStatus} PracticeStatus */

// One subscription for every panel: the app keeps one status forwarder (a newer
// `practice_watch` replaces the older), so each panel subscribing on its own would leave the
// others deaf (the wizard's panel, subscribing late, silenced the Security keys page's).
/** @type {Set<(s: PracticeStatus) => void>} */
const panels = new Set();
const broadcast = (/** @type {PracticeStatus} */ s) => panels.forEach((render) => render(s));

/**
 * (Re)starts the subscription; the current status, or null when there is no practice key.
 * @returns {Promise<PracticeStatus | null>}
 */
async function watch() {
  /** @type {PracticeStatus | null} */
  let s = null;
  try {
    s = await call('practice_watch', {
      onStatus: channel((/** @type {PracticeStatus} */ next) => broadcast(next)),
    });
  } catch { /* not the demo */ }
  // Panels draw a status only when it is not older than the one they show (`changes`).
  if (s) broadcast(s);
  return s;
}

/**
 * Builds the panel in `box` (an empty, hidden element).
 * @param {HTMLElement} box
 * @param {string} prefix id prefix: `${prefix}-practice-touch`, `-plug`, `-text`
 */
export function practicePanel(box, prefix) {
  const text = el('span', { id: `${prefix}-practice-text` });
  const touch = /** @type {HTMLButtonElement} */ (el('button', {
    type: 'button', id: `${prefix}-practice-touch`, class: 'primary', text: t('practice.touch'),
  }));
  const plug = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', id: `${prefix}-practice-plug` }));
  box.classList.add('practice-panel');
  box.replaceChildren(
    el('p', { class: 'practice-title' },
      el('span', { class: 'strong', text: t('practice.title') }), ' ',
      el('span', { class: 'badge', text: t('practice.demoOnly') })),
    el('p', { role: 'status', 'aria-live': 'assertive' }, text),
    el('div', { class: 'actions' }, touch, plug),
  );
  /** @type {PracticeStatus} */
  let current = { plugged: true, waitingForTouch: false, changes: -1 };

  /** @param {PracticeStatus} s */
  const render = (s) => {
    // Statuses come by two roads (answers and the channel) in no fixed order: never draw an
    // older one over a newer.
    if (s.changes < current.changes) return;
    current = s;
    const state = !s.plugged ? 'removed' : s.waitingForTouch ? 'waiting' : 'inserted';
    box.dataset.state = state;
    text.textContent = t(`practice.${state}`);
    touch.hidden = !s.waitingForTouch;
    plug.textContent = t(s.plugged ? 'practice.remove' : 'practice.insert');
    if (s.waitingForTouch && !box.hidden && !box.contains(document.activeElement)) touch.focus();
  };

  touch.addEventListener('click', () => {
    call('practice_touch').catch(() => { /* it stopped waiting meanwhile */ });
  });
  plug.addEventListener('click', () => busy(plug, async () => {
    try {
      render(await call('practice_plug', { inserted: !current.plugged }));
    } catch { /* the demo ended */ }
  }));

  return {
    /** Shows the panel when there is a practice key (the demo) and follows it. */
    async show() {
      panels.add(render);
      // A new demo has a new key, counting its changes from zero again.
      current = { ...current, changes: -1 };
      const s = await watch();
      if (!s) {
        box.hidden = true;
        return;
      }
      box.hidden = false;
    },
    hide() {
      box.hidden = true;
    },
  };
}
