// @ts-check
// The "Security keys" page (any CTAP2 key over USB or NFC). Every operation is one command in
// src-tauri/src/keys_page.rs, which opens the key afresh for that operation and keeps the key's
// PIN token for the visit (one PIN per visit): leaving the page, or the key going away, calls
// key_forget.
import { $, $button, $input, el } from '../lib/dom.js';
import { STRINGS, t } from '../lib/i18n.js';
import { answerPin, call, cancelRunning, channel, hasCode } from '../lib/ipc.js';
import { go, previousView, register, resume, showSection } from '../lib/router.js';
import { clearError as clearBox, showError as showBox, showText } from '../components/error-box.js';
import { confirmDanger } from '../components/confirm-dialog.js';
import { dismissPin, requestPin } from '../components/pin-dialog.js';
import { practicePanel } from '../components/practice-key.js';

/** @typedef {import('../types/ipc').AuthenticatorChoice} AuthenticatorChoice */
/** @typedef {import('../types/ipc').KeyReport} KeyReport */
/** @typedef {import('../types/ipc').KeyCredentials} KeyCredentials */
/** @typedef {import('../types/ipc').SiteView} SiteView */
/** @typedef {import('../types/ipc').CredentialView} CredentialView */
/** @typedef {import('../types/ipc').Fingerprint} Fingerprint */
/** @typedef {import('../types/ipc').PromptEvent} PromptEvent */
/** @typedef {import('../types/ipc').ResetStep} ResetStep */
/** @typedef {import('../types/ipc').Sample} Sample */
/** @typedef {import('../types/commands').Commands} Commands */
/** @typedef {'key_info' | 'key_wink' | 'key_set_pin' | 'key_change_pin' | 'key_credentials' | 'key_delete_credential' | 'key_delete_orphans' | 'key_fingerprints' | 'key_enroll_fingerprint' | 'key_rename_fingerprint' | 'key_remove_fingerprint' | 'key_reset' | 'key_set_always_uv' | 'key_set_min_pin_length'} KeyCommand */

/** This page's own wording for some error codes, before the app's. */
const PAGE_ERRORS = /** @type {Record<string, string>} */ (STRINGS.keys.errors);

/** The page's wording for an error (its own texts first, then the app's), and the detail.
 * @param {unknown} err */
function pageError(err) {
  if (hasCode(err, 'cancelled')) showText($('keys-error'), t('keys.cancelled'), { code: 'cancelled' });
  else showBox($('keys-error'), err, PAGE_ERRORS);
}

function clearError() {
  clearBox($('keys-error'));
}

/** @param {string} [text] */
function status(text) { $('keys-status').textContent = text || ''; }

// ---------- state ----------

const page = {
  visible: false,
  /** @type {import('../lib/router.js').ViewName} the view to go back to */
  before: 'start',
  /** @type {AuthenticatorChoice[]} list_keys */
  keys: [],
  /** @type {string | null} of the last rendered key list */
  signature: null,
  /** @type {{ id: string, aaguid?: string, transport?: string } | null} the chosen key (key:N) and what it was */
  selected: null,
  /** @type {KeyReport | null} key_info */
  report: null,
  /** @type {KeyCredentials | null} key_credentials */
  creds: null,
  running: false,
  /** @type {'set' | 'change' | null} while a PIN operation runs */
  pinPurpose: null,
  count: -1, // keys attached, as last announced
  poll: {
    /** @type {ReturnType<typeof setTimeout> | null} */
    timer: null,
    /** @type {Promise<void>} */
    inFlight: Promise.resolve(),
  },
};

// ---------- showing and hiding the page ----------

/** Shows the page from any view (header or footer button); Back returns there. */
function enter() {
  const from = previousView();
  if (from && from !== 'keys') page.before = from;
  showSection('keys', { keepHeader: true });
  enterPage();
}

function enterPage() {
  $('view-keys').hidden = false;
  if (page.visible) return;
  page.visible = true;
  clearError();
  page.signature = null;
  page.count = -1;
  status(t('keys.looking'));
  startPoll(0);
  keysPractice.show();
}

const keysPractice = practicePanel($('keys-practice'), 'keys');

function leavePage() {
  if (!page.visible) return;
  page.visible = false;
  $('view-keys').hidden = true;
  stopPoll();
  if (page.running) cancelRunning();
  forgetToken();
}

/** Zeroizes the key's PIN token in the app (the next operation asks for the PIN again). */
function forgetToken() {
  call('key_forget').catch(() => {});
}

function goBack() {
  resume(page.before);
}

$('btn-keys').addEventListener('click', () => go('keys'));
$('btn-keys-footer').addEventListener('click', () => go('keys'));
$('btn-keys-back').addEventListener('click', goBack);

// ---------- attached keys (polled like the wizard's chooser) ----------

/** @param {number} delay ms */
function startPoll(delay) {
  stopPoll();
  if (!page.visible || page.running) return;
  page.poll.timer = setTimeout(pollOnce, delay);
}

function stopPoll() {
  if (page.poll.timer !== null) clearTimeout(page.poll.timer);
  page.poll.timer = null;
}

function pollOnce() {
  page.poll.timer = null;
  page.poll.inFlight = (async () => {
    try {
      const keys = await call('list_keys');
      if (page.visible && !page.running) renderKeys(keys);
    } catch (e) {
      if (page.visible && !page.running) { renderKeys([]); pageError(e); }
    }
  })();
  page.poll.inFlight.then(() => startPoll(1000));
}

/** @param {AuthenticatorChoice} k */
const sig = (k) => `${k.id}|${k.key ? k.key.aaguid : ''}|${k.key ? k.key.transport : ''}|${k.key ? k.key.pin : ''}`;

/** No key listed: say why when the system knows (a key this user may not open, pcscd not
 *  running), with what to install or run; otherwise the general hint. */
function showAccessProblems() {
  call('device_access').then((problems) => {
    const denied = problems.filter((p) => p.kind === 'hidPermissionDenied');
    const others = problems.filter((p) => p.kind !== 'hidPermissionDenied');
    $('keys-empty-hint').textContent = [
      ...(denied.length ? denied.map((p) => p.message) : [t('keys.emptyHint')]),
      ...others.map((p) => p.message),
    ].join(' ');
  }).catch(() => {});
}

/** @param {AuthenticatorChoice[]} keys */
function renderKeys(keys) {
  const signature = keys.map(sig).join(',');
  if (signature === page.signature) return;
  page.signature = signature;
  page.keys = keys;
  $('keys-empty').hidden = keys.length > 0;
  $('keys-picker').hidden = keys.length === 0;
  if (keys.length === 0) showAccessProblems();
  if (keys.length !== page.count) {
    page.count = keys.length;
    status(keys.length === 0 ? '' : (keys.length === 1 ? t('keys.countOne') : t('keys.count', { count: keys.length })));
  }
  if (keys.length > 0 && $('keys-error').dataset.code === 'authenticator_not_found') clearError();
  const chosen = page.selected;
  const still = chosen && keys.find((k) => k.id === chosen.id
    && k.key && k.key.aaguid === chosen.aaguid && k.key.transport === chosen.transport);
  if (chosen && !still) {
    forgetToken();
    page.selected = null;
    hidePanel();
    status(t('keys.gone'));
  }
  const box = $('keys-choices');
  const hadFocus = box.contains(document.activeElement);
  box.replaceChildren(...keys.map((k) => {
    const id = `keys-choice-${k.id.replace(':', '-')}`;
    const summary = k.key;
    const input = el('input', {
      type: 'radio', name: 'security-key', id, value: k.id,
      checked: Boolean(page.selected && page.selected.id === k.id),
      onchange: () => selectKey(k),
    });
    return el('div', { class: 'choice', dataset: { key: k.id } }, input,
      el('label', { for: id },
        el('span', { class: 'strong', text: t('keys.keyChoice', { model: k.info.model, transport: (summary ? summary.transport : '').toUpperCase() }) }),
        el('span', { class: 'muted small', text: pinText(summary ? summary.pin : undefined) })));
  }));
  if (hadFocus) {
    /** @type {HTMLInputElement | null} */
    const c = box.querySelector('input:checked') || box.querySelector('input');
    if (c) c.focus();
  }
  if (!page.selected && keys.length === 1) selectKey(keys[0]);
}

/** @param {string | undefined} pin `set`, `not set` or `unsupported` (KeySummary.pin) */
function pinText(pin) {
  const words = pin === 'set' ? t('keys.pinSetNoCount') : pin === 'not set' ? t('keys.pinNotSet') : t('keys.pinUnsupported');
  return `${t('keys.info.pin')}: ${words}`;
}

// ---------- running one operation on the key ----------

/**
 * Runs `cmd` on the chosen key with `args` (the key's id is added, and `onPrompt` when
 * `withPrompt`); the key's prompts (PIN, touch) are handled here. Undefined when another
 * operation runs or no key is chosen.
 * @template {KeyCommand} K
 * @param {HTMLButtonElement | null} button
 * @param {K} cmd
 * @param {Omit<Commands[K]['args'], 'key' | 'onPrompt'>} args
 * @param {boolean} withPrompt
 * @returns {Promise<Commands[K]['result'] | undefined>}
 */
async function onKey(button, cmd, args, withPrompt) {
  if (page.running || !page.selected) return undefined;
  page.running = true;
  stopPoll();
  await page.poll.inFlight; // never open a key twice at once
  clearError();
  $('keys-op-text').textContent = t('keys.working');
  $('keys-op').hidden = false;
  setBusy(true, button);
  let done = false;
  const onPrompt = withPrompt
    ? { onPrompt: channel((/** @type {PromptEvent} */ p) => { if (!done) handlePrompt(p, () => done); }) }
    : {};
  const full = /** @type {Commands[K]['args']} */ ({ key: page.selected.id, ...args, ...onPrompt });
  try {
    return await /** @type {(cmd: KeyCommand, args: object) => Promise<Commands[K]['result']>} */ (call)(cmd, full);
  } finally {
    done = true;
    dismissPin();
    $('keys-op').hidden = true;
    setBusy(false, button);
    page.running = false;
    page.signature = null; // re-render: the PIN state may have changed
    startPoll(300);
  }
}

/**
 * @param {boolean} on
 * @param {HTMLButtonElement | null} button
 */
function setBusy(on, button) {
  $('key-panel').querySelectorAll('button, input').forEach((b) => { /** @type {HTMLInputElement} */ (b).disabled = on; });
  $('keys-choices').querySelectorAll('input').forEach((b) => { b.disabled = on; });
  if (button) { if (on) button.setAttribute('aria-busy', 'true'); else button.removeAttribute('aria-busy'); }
  if (!on) updateResetButton();
}

/**
 * @param {PromptEvent} p
 * @param {() => boolean} over
 */
function handlePrompt(p, over) {
  switch (p.prompt) {
    case 'pin': askPin(p.request, over); break;
    case 'touch': $('keys-op-text').textContent = t('wizard.prompt.touch'); break;
    case 'touchToSelect': $('keys-op-text').textContent = t('wizard.prompt.touchToSelect'); break;
    case 'notice': {
      const n = p.notice;
      if (['processing', 'useBuiltInVerification', 'fallingBackToPin', 'pinRejected', 'pinSet'].includes(n.kind)) {
        $('keys-op-text').textContent = t(`wizard.prompt.${n.kind}`, { reason: 'reason' in n ? n.reason : '' });
      }
      break;
    }
    default: break;
  }
}

$('keys-op-cancel').addEventListener('click', () => cancelRunning());

// ---------- the PIN (the shared dialog, with this page's words while it changes a PIN) ----------

/**
 * Asks for the PIN the key wants and answers it, unless the operation is over by then.
 * @param {import('../types/ipc').PinRequest} request
 * @param {() => boolean} over
 */
function askPin(request, over) {
  const changing = page.pinPurpose === 'change';
  const words = !changing ? {} : request.kind === 'enter'
    ? { title: t('keys.pinCurrentTitle'), text: t('keys.pinCurrentText') }
    : { title: t('keys.pinNewTitle'), text: t('keys.pinNewText') };
  $('keys-op-text').textContent = t('wizard.prompt.pin');
  requestPin(request, words).then((pin) => {
    if (over()) return;
    if (pin !== null) $('keys-op-text').textContent = t('keys.working');
    answerPin(pin);
  });
}

// ---------- the chosen key ----------

function hidePanel() {
  $('key-panel').hidden = true;
  page.report = null;
  page.creds = null;
}

/** @param {AuthenticatorChoice} k */
async function selectKey(k) {
  page.selected = { id: k.id, aaguid: k.key ? k.key.aaguid : undefined, transport: k.key ? k.key.transport : undefined };
  /** @type {HTMLInputElement | null} */
  const radio = document.querySelector(`#keys-choices input[value="${k.id}"]`);
  if (radio) radio.checked = true;
  $('key-creds').replaceChildren();
  $('key-creds-compared').textContent = '';
  $('key-orphans-delete').hidden = true;
  $('key-fps').replaceChildren();
  $('key-fp-sample').textContent = '';
  $('key-reset-step').hidden = true;
  $input('key-reset-word').value = '';
  $input('key-creds-search').value = '';
  $('key-creds-search-field').hidden = true;
  $('key-creds-slots').hidden = true;
  await loadInfo();
}

/** @param {HTMLButtonElement | null} [button] */
async function loadInfo(button) {
  status(t('keys.loadingInfo'));
  try {
    page.report = await onKey(button || null, 'key_info', {}, false) || null;
    if (page.report) renderInfo(page.report);
    status('');
  } catch (e) {
    status('');
    pageError(e);
  }
}

/**
 * @param {string} label
 * @param {string | number | null | undefined} value
 */
function fact(label, value) {
  return [el('dt', { text: label }), el('dd', { text: value == null || value === '' ? t('keys.info.unknown') : String(value) })];
}

/** @param {KeyReport} r */
function pinStateText(r) {
  if (r.pin === 'not set') return t('keys.pinNotSet');
  if (r.pin !== 'set') return t('keys.pinUnsupported');
  if (r.pinRetries === 0) return t('keys.pinBlocked');
  if (r.pinPowerCycleRequired) return t('keys.pinReinsert');
  if (r.pinRetries == null) return t('keys.pinSetNoCount');
  return r.pinRetries === 1 ? t('keys.pinSetOne') : t('keys.pinSet', { count: r.pinRetries });
}

/**
 * @param {KeyReport} r
 * @param {import('../types/ipc').CredentialSlots | null | undefined} slots
 */
function slotsText(r, slots) {
  if (!r.supports.discoverable) return t('keys.slotsNone');
  if (slots) return t('keys.slotsUsed', { used: slots.used, remaining: slots.remaining });
  if (r.remainingDiscoverable != null) return t('keys.slotsRoom', { remaining: r.remainingDiscoverable });
  return null;
}

/** @param {KeyReport} r */
function renderInfo(r) {
  let uv = t('keys.uvUnsupported');
  if (r.builtInUv === 'enrolled') uv = r.uvRetries != null ? t('keys.uvEnrolledLeft', { count: r.uvRetries }) : t('keys.uvEnrolled');
  if (r.builtInUv === 'not enrolled') uv = t('keys.uvNotEnrolled');
  $('key-info').replaceChildren(
    ...fact(t('keys.info.model'), r.model),
    ...fact(t('keys.info.aaguid'), r.aaguid),
    ...fact(t('keys.info.firmware'), r.firmwareVersion),
    ...fact(t('keys.info.versions'), r.versions.join(', ')),
    ...fact(t('keys.info.transports'), r.transports.join(', ')),
    ...fact(t('keys.info.connected'), r.transport.toUpperCase()),
    ...fact(t('keys.info.pin'), pinStateText(r)),
    ...fact(t('keys.info.uv'), uv),
    ...fact(t('keys.info.alwaysUv'), r.supports.alwaysUv ? t(r.alwaysUv ? 'keys.on' : 'keys.off') : t('keys.notSupported')),
    ...fact(t('keys.info.minPin'), t('keys.minPinValue', { min: r.minPinLength })),
    ...fact(t('keys.info.slots'), slotsText(r, page.creds && page.creds.slots)),
  );
  $('key-force-pin').hidden = !r.forcePinChange;
  $('key-set-pin').hidden = r.pin !== 'not set';
  $('key-change-pin').hidden = r.pin !== 'set';
  const blocked = r.pin === 'set' && (r.pinRetries === 0 || r.pinPowerCycleRequired);
  $('key-pin-blocked').hidden = !blocked;
  $('key-pin-blocked').textContent = !blocked ? '' : t(r.pinRetries === 0 ? 'keys.pinBlockedText' : 'keys.pinReinsertText');
  $('key-change-pin').hidden = r.pin !== 'set' || blocked;
  $('key-creds-card').hidden = !r.supports.credentialManagement;
  $('key-fp-card').hidden = !r.supports.fingerprints;
  $('key-pin-rules').textContent = r.pin === 'unsupported' ? ''
    : `${t('keys.pinRules', { min: r.minPinLength })}${r.forcePinChange ? ` ${t('keys.pinRulesForced')}` : ''}`;
  renderPolicy(r);
  renderResetGuide(r);
  $('key-panel').hidden = false;
}

/** The reset steps for how the key is connected (USB: re-plug within the window, touch or long
 *  touch; NFC: off the reader and back), before anything is typed.
 * @param {KeyReport} r */
function renderResetGuide(r) {
  const steps = r.transport === 'nfc' ? t('keys.resetStepsNfc')
    : t('keys.resetStepsUsb', { seconds: 10, long: r.reset.longTouchForReset ? t('keys.resetStepsLong') : '' });
  $('key-reset-guide').textContent = t('keys.resetSteps', { steps });
}

// ---------- security policy (authenticatorConfig) ----------

/** @param {KeyReport} r */
function renderPolicy(r) {
  $('key-policy-card').hidden = !r.supports.config;
  if (!r.supports.config) return;
  $('key-always-uv-row').hidden = !r.supports.alwaysUv;
  $('key-always-uv-state').textContent = `${t('keys.info.alwaysUv')}: ${t(r.alwaysUv ? 'keys.on' : 'keys.off')}`;
  $('key-always-uv').textContent = t(r.alwaysUv ? 'keys.alwaysUvOff' : 'keys.alwaysUvOn');
  $('key-always-uv').dataset.on = String(r.alwaysUv);
  // Only a longer minimum can be set (a key never lowers it short of a reset); at 63 there is
  // nothing left to raise.
  $('key-min-pin-form').hidden = !r.supports.setMinPinLength || r.minPinLength >= 63;
  const input = $input('key-min-pin');
  input.min = String(r.minPinLength + 1);
  if (!input.value || Number(input.value) <= r.minPinLength) input.value = String(Math.min(63, r.minPinLength + 2));
  const ep = r.options.ep;
  $('key-ea').replaceChildren(...fact(t('keys.eaLabel'),
    ep === true ? t('keys.eaOn') : ep === false ? t('keys.eaOff') : t('keys.eaNone')));
}

$('key-always-uv').addEventListener('click', async () => {
  const on = $('key-always-uv').dataset.on !== 'true';
  try {
    const r = await onKey($button('key-always-uv'), 'key_set_always_uv', { on }, true);
    if (r) { page.report = r; renderInfo(r); }
    status(t(on ? 'keys.alwaysUvNowOn' : 'keys.alwaysUvNowOff'));
  } catch (e) { pageError(e); }
});

$('key-min-pin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const r = page.report;
  if (!r) return;
  const length = Number($input('key-min-pin').value);
  const lowest = Math.max(4, r.minPinLength + 1);
  if (!Number.isInteger(length) || length < lowest || length > 63) {
    status(t('keys.minPinInvalid', { min: lowest }));
    $('key-min-pin').focus();
    return;
  }
  const ok = await confirmDanger(t('keys.minPinTitle', { length }), t('keys.minPinText', { length }), t('keys.minPinOk'));
  if (!ok) { $('key-min-pin').focus(); return; }
  try {
    const after = await onKey($button('key-min-pin-raise'), 'key_set_min_pin_length', { length }, true);
    if (after) { page.report = after; renderInfo(after); }
    status(t('keys.minPinRaised', { length }));
  } catch (e) { pageError(e); }
});

$('key-refresh').addEventListener('click', () => loadInfo($button('key-refresh')));

$('key-wink').addEventListener('click', async () => {
  try {
    await onKey($button('key-wink'), 'key_wink', {}, false);
    status(t('keys.winked'));
  } catch (e) { pageError(e); }
});

// ---------- PIN ----------

/**
 * @param {HTMLButtonElement} button
 * @param {'key_set_pin' | 'key_change_pin'} cmd
 * @param {'set' | 'change'} purpose
 * @param {string} doneText a strings.js path
 */
async function pinOperation(button, cmd, purpose, doneText) {
  page.pinPurpose = purpose;
  try {
    await onKey(button, cmd, {}, true);
    status(t(doneText));
    await loadInfo();
  } catch (e) {
    pageError(e);
    await loadInfo();
  } finally {
    page.pinPurpose = null;
  }
}

$('key-set-pin').addEventListener('click', () => pinOperation($button('key-set-pin'), 'key_set_pin', 'set', 'keys.pinWasSet'));
$('key-change-pin').addEventListener('click', () => pinOperation($button('key-change-pin'), 'key_change_pin', 'change', 'keys.pinChanged'));

// ---------- passkeys stored on the key ----------

/** @param {CredentialView} c */
const userOf = (c) => c.userName || c.userDisplayName || t('keys.credsNoName');

/** What the search box matches: the site, its name, the account's names.
 * @param {SiteView} site
 * @param {CredentialView} c
 * @param {string} q lower case */
function matches(site, c, q) {
  return !q || [site.rpId, site.name, c.userName, c.userDisplayName]
    .some((v) => typeof v === 'string' && v.toLowerCase().includes(q));
}

/** The standing as a sentence for the details panel.
 * @param {CredentialView} c */
function standingText(c) {
  const z = c.zitadel;
  if (!z) return t('keys.detail.standingNone');
  if (z.status === 'other') return t('keys.detail.standingOther');
  const reason = 'reason' in z && z.reason ? ` — ${z.reason}` : '';
  return `${t(`keys.standing.${z.status}`)}${reason}`;
}

/**
 * @param {SiteView} site
 * @param {CredentialView} c
 */
function details(site, c) {
  return el('dl', { class: 'facts cred-details' },
    ...fact(t('keys.detail.rpId'), site.rpId),
    ...(site.name && site.name !== site.rpId ? fact(t('keys.detail.rpName'), site.name) : []),
    ...fact(t('keys.detail.userName'), c.userName),
    ...fact(t('keys.detail.displayName'), c.userDisplayName),
    ...fact(t('keys.detail.userId'), c.userId),
    ...fact(t('keys.detail.credentialId'), c.id),
    ...(c.credProtect != null ? fact(t('keys.detail.credProtect'), t(`keys.credProtect.${c.credProtect}`)) : []),
    ...fact(t('keys.detail.standing'), standingText(c)));
}

function renderCreds() {
  const data = page.creds;
  const box = $('key-creds');
  box.replaceChildren();
  $('key-creds-search-field').hidden = !data || data.sites.length === 0;
  const slots = data && data.slots;
  $('key-creds-slots').hidden = !slots;
  if (slots) $('key-creds-slots').textContent = t('keys.slotsOf', { used: slots.used, max: slots.used + slots.remaining });
  if (!data) return;
  $('key-creds-compared').textContent = data.comparedWith
    ? t('keys.credsCompared', { instance: data.comparedWith }) : t('keys.credsNotCompared');
  if (data.sites.length === 0) box.append(el('p', { class: 'muted', text: t('keys.credsNone') }));
  const query = $input('key-creds-search').value.trim();
  const q = query.toLowerCase();
  let shown = 0;
  data.sites.forEach((site) => {
    const list = el('ul', { class: 'list' });
    site.credentials.filter((c) => matches(site, c, q)).forEach((c) => {
      shown += 1;
      const z = c.zitadel;
      const standing = z ? z.status : undefined;
      const badge = z && z.status !== 'other'
        ? el('span', {
          class: `badge ${z.status}`, text: t(`keys.standing.${z.status}`),
          title: z.status === 'unknown' ? t('keys.standing.unknownHint') : ('reason' in z ? z.reason || null : null),
        }) : '';
      const del = el('button', {
        type: 'button', class: 'danger-quiet', text: t('keys.credsDelete'),
        'aria-label': t('keys.credsDeleteLabel', { site: site.rpId, user: userOf(c) }),
        onclick: () => deleteCredential(site, c, del),
      });
      const panel = el('div', { class: 'cred-details-box', hidden: true }, details(site, c));
      const more = el('button', {
        type: 'button', class: 'link-button', text: t('keys.credsDetails'),
        'aria-expanded': 'false', 'aria-label': t('keys.credsDetailsLabel', { site: site.rpId, user: userOf(c) }),
        onclick: () => {
          const open = panel.hidden;
          panel.hidden = !open;
          more.setAttribute('aria-expanded', String(open));
          more.textContent = t(open ? 'keys.credsHideDetails' : 'keys.credsDetails');
        },
      });
      list.append(el('li', { class: 'row cred', dataset: { id: c.id, standing: standing || 'none' } },
        el('div', { class: 'grow' },
          el('div', { class: 'strong', text: userOf(c) }),
          c.userDisplayName && c.userName ? el('div', { class: 'muted small', text: c.userDisplayName }) : ''),
        badge, more, del, panel));
    });
    if (list.children.length > 0) {
      box.append(el('div', { class: 'site', dataset: { rpId: site.rpId } },
        el('h3', { text: site.name && site.name !== site.rpId ? `${site.rpId} (${site.name})` : site.rpId }), list));
    }
  });
  if (data.sites.length > 0 && shown === 0) box.append(el('p', { class: 'muted', id: 'key-creds-no-match', text: t('keys.credsNoMatch', { query }) }));
  $('key-orphans-delete').hidden = orphans().length === 0;
  if (page.report) renderInfo(page.report);
}

$('key-creds-search').addEventListener('input', () => renderCreds());

/** @returns {{ site: string, c: CredentialView }[]} */
function orphans() {
  if (!page.creds) return [];
  return page.creds.sites.flatMap((s) => s.credentials
    .filter((c) => c.zitadel && c.zitadel.status === 'orphan')
    .map((c) => ({ site: s.rpId, c })));
}

/** @param {string[]} ids the credentials deleted from the key */
function forget(ids) {
  const creds = page.creds;
  if (!creds) return;
  creds.sites.forEach((s) => { s.credentials = s.credentials.filter((c) => !ids.includes(c.id)); });
  creds.sites = creds.sites.filter((s) => s.credentials.length > 0);
  if (creds.slots) {
    creds.slots = { used: creds.slots.used - ids.length, remaining: creds.slots.remaining + ids.length };
  }
  renderCreds();
}

$('key-creds-show').addEventListener('click', async () => {
  try {
    page.creds = await onKey($button('key-creds-show'), 'key_credentials', {}, true) || null;
    renderCreds();
  } catch (e) { pageError(e); }
});

/**
 * @param {SiteView} site
 * @param {CredentialView} c
 * @param {HTMLButtonElement} button
 */
async function deleteCredential(site, c, button) {
  const user = userOf(c);
  const ok = await confirmDanger(t('keys.deleteTitle', { site: site.rpId }),
    t('keys.deleteText', { site: site.rpId, user }), t('keys.deleteOk'));
  if (!ok) { button.focus(); return; }
  try {
    await onKey(button, 'key_delete_credential', { id: c.id }, true);
    forget([c.id]);
    status(t('keys.credsDeleted', { site: site.rpId }));
  } catch (e) { pageError(e); }
}

$('key-orphans-delete').addEventListener('click', async () => {
  const list = orphans();
  if (list.length === 0) return;
  const names = list.map((o) => `${o.site} (${userOf(o.c)})`).join(', ');
  const ok = await confirmDanger(t('keys.orphansTitle', { count: list.length }),
    t('keys.orphansText', { list: names }), t('keys.deleteOk'));
  if (!ok) return;
  try {
    const deleted = await onKey($button('key-orphans-delete'), 'key_delete_orphans', { ids: list.map((o) => o.c.id) }, true);
    if (!deleted) return;
    forget(deleted);
    status(deleted.length === 1 ? t('keys.orphansDeletedOne') : t('keys.orphansDeleted', { count: deleted.length }));
  } catch (e) { pageError(e); }
});

// ---------- fingerprints ----------

/** @type {Fingerprint[]} */
let fingerprints = [];

function renderFingerprints() {
  const list = $('key-fps');
  list.replaceChildren();
  if (fingerprints.length === 0) list.append(el('li', { class: 'muted', text: t('keys.fpNone') }));
  fingerprints.forEach((f) => {
    const name = f.name || t('keys.fpNoName');
    const row = el('li', { class: 'row', dataset: { id: f.id } });
    const rename = el('button', {
      type: 'button', text: t('keys.fpRename'), 'aria-label': t('keys.fpRenameLabel', { name }),
      onclick: () => startRename(row, f),
    });
    const remove = el('button', {
      type: 'button', class: 'danger-quiet', text: t('keys.fpRemove'), 'aria-label': t('keys.fpRemoveLabel', { name }),
      onclick: () => removeFingerprint(f, remove),
    });
    row.append(el('div', { class: 'grow strong', text: name }), rename, remove);
    list.append(row);
  });
}

/**
 * @param {HTMLElement} row
 * @param {Fingerprint} f
 */
function startRename(row, f) {
  const input = el('input', { type: 'text', maxlength: '15', value: f.name || '', 'aria-label': t('keys.fpNewName') });
  const form = el('form', { class: 'rename', novalidate: true },
    input, el('button', { type: 'submit', class: 'primary', text: t('keys.fpSave') }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = input.value.trim();
    if (!name) { input.focus(); return; }
    try {
      await onKey(null, 'key_rename_fingerprint', { id: f.id, name }, true);
      f.name = name;
      status(t('keys.fpRenamed'));
    } catch (e) { pageError(e); }
    renderFingerprints();
  });
  row.replaceChildren(form);
  input.focus();
}

/**
 * @param {Fingerprint} f
 * @param {HTMLButtonElement} button
 */
async function removeFingerprint(f, button) {
  const name = f.name || t('keys.fpNoName');
  const ok = await confirmDanger(t('keys.fpRemoveTitle', { name }), t('keys.fpRemoveText'), t('keys.fpRemoveOk'));
  if (!ok) { button.focus(); return; }
  try {
    await onKey(button, 'key_remove_fingerprint', { id: f.id }, true);
    fingerprints = fingerprints.filter((x) => x.id !== f.id);
    renderFingerprints();
    status(t('keys.fpRemoved'));
  } catch (e) { pageError(e); }
}

$('key-fp-show').addEventListener('click', async () => {
  try {
    fingerprints = await onKey($button('key-fp-show'), 'key_fingerprints', {}, true) || [];
    renderFingerprints();
  } catch (e) { pageError(e); }
});

$('key-fp-enroll').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $input('key-fp-name').value.trim() || null;
  const onSample = channel((/** @type {Sample} */ s) => {
    $('key-fp-sample').textContent = t('keys.fpSample', { feedback: s.feedback, remaining: s.remaining });
    $('keys-op-text').textContent = t('keys.fpEnrollStart');
  });
  $('key-fp-sample').textContent = t('keys.fpEnrollStart');
  try {
    const fp = await onKey($button('key-fp-enroll-button'), 'key_enroll_fingerprint', { name, onSample }, true);
    if (fp) { fingerprints.push(fp); renderFingerprints(); }
    $input('key-fp-name').value = '';
    $('key-fp-sample').textContent = t('keys.fpEnrolled');
  } catch (e) {
    $('key-fp-sample').textContent = '';
    pageError(e);
  }
});

// ---------- reset ----------

function updateResetButton() {
  $button('key-reset').disabled = page.running || $input('key-reset-word').value !== 'RESET';
}

$('key-reset-word').addEventListener('input', updateResetButton);

$('key-reset-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const confirm = $input('key-reset-word').value;
  if (confirm !== 'RESET') { $('key-reset-word').focus(); return; }
  const stepBox = $('key-reset-step');
  const onStep = channel((/** @type {ResetStep} */ s) => {
    let text = '';
    if (s.step === 'reinsert') {
      if (s.transport === 'nfc') text = t('keys.resetReinsertNfc');
      else text = t(s.longTouch ? 'keys.resetReinsertUsbLong' : 'keys.resetReinsertUsb', { seconds: s.windowSecs });
    } else if (s.step === 'touch') {
      text = t(s.longTouch ? 'keys.resetLongTouch' : 'keys.resetTouch');
    }
    stepBox.textContent = text;
    stepBox.hidden = !text;
    $('keys-op-text').textContent = text;
  });
  try {
    await onKey($button('key-reset'), 'key_reset', { confirm, onStep }, true);
    stepBox.hidden = true;
    $input('key-reset-word').value = '';
    hidePanel();
    page.selected = null;
    status(t('keys.resetDone'));
  } catch (e) {
    stepBox.hidden = true;
    pageError(e);
  }
  updateResetButton();
});

register('keys', {
  enter,
  leave: leavePage,
  resume() {
    showSection('keys', { keepHeader: true });
    enterPage();
  },
  escape() {
    if (page.running) cancelRunning();
    else goBack();
  },
});
