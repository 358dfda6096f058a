// @ts-check
// The one door to the Rust side: every command call (`invoke`) and every channel (`Channel`)
// goes through this module, and so does the mapping of an IpcError to the words the window
// shows. Commands, their arguments and results are typed by ui/types/commands.d.ts over the
// DTOs generated from the Rust types (ui/types/ipc.d.ts).
import { ERROR_TEXTS, t } from './i18n.js';

/** @typedef {import('../types/commands').Commands} Commands */
/** @typedef {import('../types/ipc').IpcError} IpcError */
/** @typedef {import('../types/ipc').ErrorCode} ErrorCode */
/**
 * @template T
 * @typedef {import('../types/commands').Channel<T>} Channel
 */

/**
 * What Tauri puts on `window.__TAURI__` (tauri.conf.json `withGlobalTauri`): only `core` is used.
 * @typedef {{ core: {
 *   invoke: (cmd: string, args?: object) => Promise<unknown>,
 *   Channel: new () => { onmessage: (message: any) => void },
 * } }} TauriGlobal
 */

const core = /** @type {{ __TAURI__: TauriGlobal }} */ (/** @type {unknown} */ (window)).__TAURI__.core;

/**
 * Calls the Rust command `cmd` with its arguments (one object, camelCase names as Tauri maps
 * them to the Rust parameters; none for commands without). Rejects with an {@link IpcError}
 * (see {@link toIpcError}).
 * @type {import('../types/commands').Call}
 */
export const call = (cmd, ...args) => /** @type {Promise<any>} */ (core.invoke(cmd, args[0] || {}));

/**
 * A channel for a command's stream of messages (`Channel<T>` on the Rust side).
 * @template T
 * @param {(message: T) => void} onmessage
 * @returns {Channel<T>}
 */
export function channel(onmessage) {
  const c = new core.Channel();
  c.onmessage = onmessage;
  return /** @type {Channel<T>} */ (/** @type {unknown} */ (c));
}

/**
 * Answers the security key's PIN request: the PIN, or null to cancel. A request that is over
 * meanwhile (the key stopped asking) is not an error here.
 * @param {string | null} pin
 */
export function answerPin(pin) {
  call('answer_pin', { pin }).catch(() => { /* the key stopped asking meanwhile */ });
}

/** Stops the running operation, if any (sign-in, enrollment, an operation on a key). */
export function cancelRunning() {
  call('cancel').catch(() => { /* nothing was running */ });
}

/**
 * What a rejected command gives: an IpcError from Rust, or anything else (a bug, a refused
 * call) as `internal` with its text as the message.
 * @param {unknown} err
 * @returns {IpcError}
 */
export function toIpcError(err) {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    return /** @type {IpcError} */ (err);
  }
  return { code: 'internal', message: String(err) };
}

/** The session is gone: sign in again. */
const SESSION_CODES = ['session_expired', 'not_signed_in', 'mfa_required'];

/**
 * @param {unknown} err
 * @returns {err is IpcError}
 */
export function isSessionError(err) {
  return !!err && typeof err === 'object' && 'code' in err && SESSION_CODES.includes(/** @type {IpcError} */ (err).code);
}

/**
 * @param {unknown} err
 * @param {ErrorCode} code
 */
export function hasCode(err, code) {
  return !!err && typeof err === 'object' && 'code' in err && err.code === code;
}

/**
 * @typedef {object} Described
 * @property {string} code the error code (`internal` for anything that is not an IpcError)
 * @property {string} text the person-facing sentence from strings.js
 * @property {string} detail the Rust side's message ('' when there is none to show)
 */

/**
 * The person-facing text for an error from a command, and its detail. `texts` are a page's own
 * wording by code, tried before the app's (`STRINGS.errors`).
 * @param {unknown} err
 * @param {Record<string, string>} [texts]
 * @returns {Described}
 */
export function describe(err, texts) {
  if (!(err && typeof err === 'object' && 'code' in err && err.code)) {
    return { code: 'internal', text: ERROR_TEXTS.generic, detail: String(err) };
  }
  const e = toIpcError(err);
  let text = (texts && texts[e.code]) || ERROR_TEXTS[e.code] || ERROR_TEXTS.generic;
  if (e.code === 'pin_invalid') {
    const attempts = e.attemptsLeft == null ? '' : t('errors.pin_invalid_attempts', { count: e.attemptsLeft });
    text = t('errors.pin_invalid', { attempts }).trim();
  }
  if (e.code === 'not_registered' && e.causeCode && ERROR_TEXTS[e.causeCode]) {
    text = `${text} ${ERROR_TEXTS[e.causeCode]}`;
  }
  return { code: e.code, text, detail: e.message || '' };
}
