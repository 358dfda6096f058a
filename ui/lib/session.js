// @ts-check
// What the views share: the open instance and the passkeys last listed.

/**
 * @typedef {object} Session
 * @property {import('../types/ipc').ActiveProfile | null} profile the open instance (null on
 *   the start page)
 * @property {import('../types/ipc').Passkey[]} passkeys the person's passkeys, as last listed
 */

/** @type {Session} */
export const session = {
  profile: null,
  passkeys: [],
};
