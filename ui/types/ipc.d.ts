// GENERATED from the Rust types by src-tauri/src/ipc_types.rs (ts-rs): do not edit.
// Rewrite with `UPDATE_IPC_TYPES=1 cargo test -p passkey-enroll --lib ipc_types`.

/** Every `code` an IpcError can carry (passkeys_core::ErrorCode::ALL). */
export type ErrorCode =
  | "invalid_issuer"
  | "insecure_url"
  | "discovery_failed"
  | "missing_client_id"
  | "missing_issuer"
  | "sign_in_timed_out"
  | "authorization_failed"
  | "token_request_failed"
  | "invalid_id_token"
  | "not_signed_in"
  | "session_expired"
  | "keychain_error"
  | "file_error"
  | "corrupt_file"
  | "network_error"
  | "response_too_large"
  | "untrusted_link"
  | "passkey_api_unavailable"
  | "self_service_links_unavailable"
  | "browser_failed"
  | "config_error"
  | "cancelled"
  | "no_pending_registration"
  | "credential_unparsable"
  | "credential_rejected"
  | "not_found"
  | "mfa_required"
  | "permission_denied"
  | "invalid_argument"
  | "server_unavailable"
  | "server_error"
  | "invalid_creation_options"
  | "rp_id_refused"
  | "invalid_name"
  | "not_registered"
  | "not_in_inventory"
  | "credential_excluded"
  | "authenticator_not_supported"
  | "authenticator_timeout"
  | "authenticator_storage"
  | "authenticator_failed"
  | "authenticator_invalid_response"
  | "authenticator_not_found"
  | "authenticator_disconnected"
  | "pin_invalid"
  | "pin_auth_blocked"
  | "pin_blocked"
  | "pin_not_set"
  | "pin_policy"
  | "key_store_full"
  | "self_test_authenticator"
  | "self_test_invalid"
  | "self_test_unsupported_algorithm"
  | "busy"
  | "internal"
  | "no_instance"
  | "no_config_dir"
  | "unknown_authenticator"
  | "invalid_id"
  | "not_confirmed"
  | "different_key"
  | "no_pin_request"
  | "qr_failed"
  | "sandbox_failed"
  | "cannot_check"
;

/**
 * A serializable error: `{"code", "message", "credentialId"?, "causeCode"?, "attemptsLeft"?}`.
 */
export type IpcError = { 
/**
 * Stable machine code (e.g. `credential_rejected`, `not_signed_in`).
 */
code: ErrorCode, 
/**
 * What happened and what to do, for people.
 */
message: string, 
/**
 * For `not_registered`: the credential that was created but not registered.
 */
credentialId?: string, 
/**
 * For `not_registered`: the code of the error that stopped the registration.
 */
causeCode?: ErrorCode, 
/**
 * For `pin_invalid`: PIN attempts left before the key blocks its PIN, when the key says.
 */
attemptsLeft?: number, };

/**
 * What the UI needs to know at start.
 */
export type AppInfo = { 
/**
 * App (and core) version.
 */
version: string, 
/**
 * Whether instances can be saved.
 */
canSaveInstances: boolean, 
/**
 * Where this app's program is installed (the About line), e.g. `/usr/bin/passkey-enroll`.
 */
installedAt: string, };

/**
 * Every saved instance, and which one was used last.
 */
export type Profiles = { 
/**
 * In the order they were added.
 */
profiles: Array<SavedProfile>, 
/**
 * The id of the profile used last, if any.
 */
lastUsed: string | null, };

/**
 * One saved instance.
 */
export type SavedProfile = { 
/**
 * Stable id: the token store key of this issuer and client id.
 */
id: string, 
/**
 * The issuer URL, as discovery confirmed it (no trailing slash).
 */
issuer: string, 
/**
 * The native app's client id.
 */
clientId: string, 
/**
 * Which passkey API generation to use (default `auto`; see `passkey_api`).
 */
api: ApiChoice, 
/**
 * The RP ID (login domain) new passkeys get on User service v2; `None` = the issuer
 * host. Ignored on the Auth API v1.
 */
rpId?: string, };

/**
 * Which API generation to use: `auto` (the default), or one forced.
 */
export type ApiChoice = "auto" | "v1" | "v2" | "v2-rest" | "v2-connect";

/**
 * The active instance and whether a session is stored for it.
 */
export type SessionInfo = { 
/**
 * The instance.
 */
profile: ActiveProfile, 
/**
 * True when tokens for it were found (the person is signed in).
 */
signedIn: boolean, };

/**
 * The instance the app works with, as the UI sees it.
 */
export type ActiveProfile = { 
/**
 * Saved profile id (`demo` in demo mode).
 */
id: string, 
/**
 * Issuer URL.
 */
issuer: string, 
/**
 * Client id.
 */
clientId: string, 
/**
 * True in demo mode (the built-in sandbox and software authenticators).
 */
demo: boolean, };

/**
 * How an existing sign-in session in the browser is treated (OIDC Core §3.1.2.1 `prompt`).
 * Without a prompt ZITADEL reuses a single active browser session silently.
 */
export type SignInPrompt = "select_account" | "login";

/**
 * What logout did.
 */
export type LogoutReport = { 
/**
 * True when there was a stored session.
 */
was_signed_in: boolean, 
/**
 * True when the server confirmed the revocation.
 */
revoked: boolean, 
/**
 * Why revocation failed, if it did (the local tokens are forgotten anyway).
 */
revoke_error: string | null, 
/**
 * What happened to the sign-in session in the browser. ZITADEL keeps it after a
 * revocation, so without RP-initiated logout the next sign-in returns the same person.
 */
browser: BrowserLogout, };

/**
 * What RP-initiated logout in the browser achieved.
 */
export type BrowserLogout = "confirmed" | "unconfirmed" | "not_supported" | "skipped";

/**
 * The signed-in person (from GetMyUser).
 */
export type Me = { 
/**
 * User id.
 */
id: string, 
/**
 * Display name (or the user name).
 */
displayName: string, 
/**
 * Preferred login name.
 */
loginName: string, 
/**
 * E-mail, if any.
 */
email: string | null, };

/**
 * A passkey as ZITADEL lists it (`WebAuthNToken`).
 */
export type Passkey = { 
/**
 * Token id.
 */
id: string, 
/**
 * State (omitted by the server when UNSPECIFIED).
 */
state: AuthFactorState, 
/**
 * Name given at verification.
 */
name: string, };

/**
 * `AuthFactorState` (contract §1.3).
 */
export type AuthFactorState = "AUTH_FACTOR_STATE_UNSPECIFIED" | "AUTH_FACTOR_STATE_NOT_READY" | "AUTH_FACTOR_STATE_READY" | "AUTH_FACTOR_STATE_REMOVED" | "Unknown";

/**
 * A passkey as ZITADEL lists it, with what this computer knows about it.
 */
export type KnownPasskeyView = { 
/**
 * True when this computer enrolled it (it is in the inventory); false: enrolled elsewhere.
 */
known: boolean, 
/**
 * The authenticator model, for known passkeys.
 */
model?: string, 
/**
 * `USB`, `NFC`, `software`, ..., for known passkeys.
 */
transport?: string, 
/**
 * The kind of authenticator, for known passkeys.
 */
kind?: AuthenticatorKind, 
/**
 * Stored on a security key (discoverable, USB or NFC): removing it from ZITADEL leaves it
 * there, so the confirmation says so.
 */
onKey: boolean, 
/**
 * Whether "Which key is this?" and "Test this passkey" can work here (the environment
 * reaches its authenticator).
 */
canCheck: boolean, 
/**
 * Token id.
 */
id: string, 
/**
 * State (omitted by the server when UNSPECIFIED).
 */
state: AuthFactorState, 
/**
 * Name given at verification.
 */
name: string, };

/**
 * Where the passkey was found by [`which_passkey`].
 */
export type WhichView = { 
/**
 * The ZITADEL passkey id.
 */
id: string, 
/**
 * `security-key` or `software`.
 */
kind: string, 
/**
 * The model (from the key's AAGUID, else the inventory).
 */
model: string, 
/**
 * `USB`, `NFC` or `software`.
 */
transport: string, 
/**
 * The key, for a security key.
 */
key?: KeySummary, 
/**
 * Whether the key is blinking now.
 */
winked: boolean, };

/**
 * The self-test's outcome as reported to the CLI (`--json`) and the app.
 */
export type SelfTestOutcome = SelfTestReport | { 
/**
 * Always false.
 */
passed: boolean, 
/**
 * Stable code ([`SelfTestError::code`]).
 */
code: ErrorCode, 
/**
 * What failed.
 */
message: string, 
/**
 * What to do.
 */
advice: string, };

/**
 * A passed self-test.
 */
export type SelfTestReport = { 
/**
 * Always true here; present so the JSON reads on its own.
 */
passed: boolean, 
/**
 * The authenticator verified the person (UV flag).
 */
userVerified: boolean, 
/**
 * The signature counter the authenticator reported.
 */
signCount: number, 
/**
 * COSE algorithm of the verified signature.
 */
algorithm: number, };

/**
 * An authenticator the wizard offers.
 */
export type AuthenticatorChoice = { 
/**
 * What to pass to `add_passkey` and `suggest_name` (`platform`, `key`, `key:N`, and
 * `software` where the environment offers one): an
 * [`AuthenticatorChoice`](passkeys_service::AuthenticatorChoice) spelling.
 */
id: string, 
/**
 * Its description.
 */
info: AuthenticatorInfo, 
/**
 * For a security key: what `passkeys authenticators` shows (transport, PIN set, ...).
 */
key?: KeySummary, };

/**
 * Describes an authenticator for the UI and for default passkey names.
 */
export type AuthenticatorInfo = { 
/**
 * Kind.
 */
kind: AuthenticatorKind, 
/**
 * Model name, e.g. "YubiKey 5 NFC".
 */
model: string, 
/**
 * AAGUID as a UUID string, when known.
 */
aaguid: string | null, 
/**
 * False for the software authenticator.
 */
hardware: boolean, 
/**
 * A sentence to show the person about this authenticator.
 */
notice: string | null, };

/**
 * What kind of authenticator this is.
 */
export type AuthenticatorKind = "software" | "usb" | "nfc" | "platform";

/**
 * What `passkeys authenticators` shows about a key.
 */
export type KeySummary = { 
/**
 * `usb` or `nfc`.
 */
transport: string, 
/**
 * Model name (from the AAGUID list), or a generic name.
 */
model: string, 
/**
 * AAGUID.
 */
aaguid: string, 
/**
 * CTAP versions.
 */
versions: Array<string>, 
/**
 * `set`, `not set` or `unsupported`.
 */
pin: string, 
/**
 * Built-in user verification (fingerprint) is set up.
 */
builtInVerification: boolean, 
/**
 * Can store passkeys (discoverable credentials).
 */
discoverable: boolean, 
/**
 * Passkeys it can still store, when the key says without a PIN.
 */
remainingDiscoverable: number | null, 
/**
 * Minimum PIN length.
 */
minPinLength: number, 
/**
 * Every transport the key has (getInfo `transports`: `usb`, `nfc`, …), not only the one it
 * is connected over.
 */
transports: Array<string>, };

/**
 * Progress of an enrollment, for live prompts in the CLI and the app.
 */
export type EnrollEvent = { "step": "starting" } | { "step": "optionsChecked", 
/**
 * The rpId.
 */
rp_id: string, } | { "step": "waitingForAuthenticator", 
/**
 * Authenticator description.
 */
authenticator: AuthenticatorInfo, } | { "step": "created", 
/**
 * base64url credential id.
 */
credential_id: string, } | { "step": "registering", 
/**
 * Token name.
 */
name: string, } | { "step": "selfTesting" };

/**
 * A passkey enrolled by [`add_passkey_with`].
 */
export type Enrollment = { 
/**
 * The self-test's outcome; `None` when it was skipped.
 */
selfTest: SelfTestOutcome | null, 
/**
 * ZITADEL token id (found by comparing the list before and after).
 */
id: string | null, 
/**
 * Name.
 */
name: string, 
/**
 * State in ZITADEL.
 */
state: string, 
/**
 * base64url credential id.
 */
credentialId: string, 
/**
 * AAGUID of the authenticator model.
 */
aaguid: string, 
/**
 * The rpId the passkey is bound to.
 */
rpId: string, 
/**
 * COSE algorithm of the credential key.
 */
algorithm: number | null, 
/**
 * Whether the credential is stored on the authenticator.
 */
discoverable: boolean, 
/**
 * The authenticator.
 */
authenticator: AuthenticatorInfo, };

/**
 * A passkey this run enrolled.
 */
export type EnrolledPasskey = { 
/**
 * ZITADEL token id (found by comparing the list before and after).
 */
id: string | null, 
/**
 * Name.
 */
name: string, 
/**
 * State in ZITADEL.
 */
state: string, 
/**
 * base64url credential id.
 */
credentialId: string, 
/**
 * AAGUID of the authenticator model.
 */
aaguid: string, 
/**
 * The rpId the passkey is bound to.
 */
rpId: string, 
/**
 * COSE algorithm of the credential key.
 */
algorithm: number | null, 
/**
 * Whether the credential is stored on the authenticator.
 */
discoverable: boolean, 
/**
 * The authenticator.
 */
authenticator: AuthenticatorInfo, };

/**
 * What the window is told while a security key works.
 */
export type PromptEvent = { "prompt": "pin", 
/**
 * What kind of PIN, with attempts left or the minimum length.
 */
request: PinRequest, } | { "prompt": "touch" } | { "prompt": "notice", 
/**
 * What.
 */
notice: PromptNotice, } | { "prompt": "touchToSelect" };

/**
 * A PIN the authenticator needs.
 */
export type PinRequest = { "kind": "enter", 
/**
 * PIN attempts left before the key blocks its PIN (authenticatorClientPIN
 * getPINRetries), when the key says.
 */
attemptsLeft: number | null, 
/**
 * The previous attempt was wrong.
 */
afterWrongPin: boolean, } | { "kind": "setNew", 
/**
 * Minimum length in Unicode code points (getInfo minPINLength, else 4).
 */
minLength: number, 
/**
 * Maximum length in UTF-8 bytes (63).
 */
maxBytes: number, } | { "kind": "changeRequired", 
/**
 * Minimum length in Unicode code points.
 */
minLength: number, 
/**
 * Maximum length in UTF-8 bytes (63).
 */
maxBytes: number, };

/**
 * Something to show the person; nothing to answer.
 */
export type PromptNotice = { "kind": "processing" } | { "kind": "useBuiltInVerification" } | { "kind": "fallingBackToPin" } | { "kind": "pinRejected", 
/**
 * Why.
 */
reason: string, } | { "kind": "pinSet" };

/**
 * A registration link for another device, with its QR code. `Debug` hides the one-time code.
 */
export type LinkView = { 
/**
 * The one-time link.
 */
link: string, 
/**
 * Seconds until it expires, when known.
 */
expiresInSecs: number | null, 
/**
 * The link as an SVG QR code.
 */
qrSvg: string, };

/**
 * Which ZITADEL API serves the signed-in person's passkeys (issue 14).
 */
export type PasskeyApiView = { 
/**
 * The generation in use.
 */
generation: ApiGeneration, 
/**
 * For people, e.g. "User service v2 (Connect)".
 */
label: string, 
/**
 * False on User service v2: its list shows finished passkeys only, so an unfinished
 * registration cannot be seen or cleaned up there.
 */
listsUnfinished: boolean, };

/**
 * A ZITADEL API generation that serves self-service passkeys.
 */
export type ApiGeneration = "v1" | "v2-rest" | "v2-connect";

/**
 * One answer of [`device_access`]: the problem (`kind` and its fields) and its message.
 */
export type DeviceAccess = { message: string, } & ({ "kind": "hidPermissionDenied", 
/**
 * The device nodes, e.g. `/dev/hidraw3`.
 */
nodes: Array<string>, } | { "kind": "pcscdNotRunning", 
/**
 * pcscd is installed (only its service is not running).
 */
installed: boolean, });

/**
 * Why no key can be used although the system says something about it (Linux): a key is
 * attached but this user may not open it, or pcscd (NFC readers) is not running. Found by
 * [`access_problems`] when no key could be opened; each says exactly what to install or run.
 */
export type AccessProblem = { "kind": "hidPermissionDenied", 
/**
 * The device nodes, e.g. `/dev/hidraw3`.
 */
nodes: Array<string>, } | { "kind": "pcscdNotRunning", 
/**
 * pcscd is installed (only its service is not running).
 */
installed: boolean, };

/**
 * Everything `passkeys key info` shows about a key. No secrets.
 */
export type KeyReport = { 
/**
 * `usb` or `nfc`.
 */
transport: string, 
/**
 * Model name from the AAGUID list, or a generic name.
 */
model: string, 
/**
 * AAGUID.
 */
aaguid: string, 
/**
 * firmwareVersion, when the key says.
 */
firmwareVersion: number | null, 
/**
 * CTAP versions.
 */
versions: Array<string>, 
/**
 * Extensions.
 */
extensions: Array<string>, 
/**
 * Transports the key says it has.
 */
transports: Array<string>, 
/**
 * Signature algorithms (COSE names where known), when the key says.
 */
algorithms: Array<string> | null, 
/**
 * Every option the key lists.
 */
options: { [key in string]: boolean }, 
/**
 * Whether a PIN is set (`set`, `not set` or `unsupported` on the wire).
 */
pin: PinState, 
/**
 * Built-in user verification (`enrolled`, `not enrolled` or `unsupported` on the wire).
 */
builtInUv: BuiltInUv, 
/**
 * alwaysUv is on.
 */
alwaysUv: boolean, 
/**
 * PIN attempts left (getPINRetries), when a PIN is supported.
 */
pinRetries: number | null, 
/**
 * The key wants a power cycle before the next PIN attempt (PIN_AUTH_BLOCKED).
 */
pinPowerCycleRequired: boolean, 
/**
 * Built-in verification attempts left (getUVRetries).
 */
uvRetries: number | null, 
/**
 * The PIN state in words (blocked, needs re-insert, …).
 */
pinState: string, 
/**
 * Discoverable slots used/left from credential management (needs the PIN), if read.
 */
slots: CredentialSlots | null, 
/**
 * remainingDiscoverableCredentials from getInfo (no PIN needed).
 */
remainingDiscoverable: number | null, 
/**
 * minPINLength (4 when the key does not say).
 */
minPinLength: number, 
/**
 * forcePINChange.
 */
forcePinChange: boolean, 
/**
 * What management this key supports.
 */
supports: Supports, 
/**
 * Reset rules.
 */
reset: ExtraInfo, };

/**
 * Whether a key has a PIN (getInfo option `clientPin`).
 */
export type PinState = "set" | "not set" | "unsupported";

/**
 * Whether a key's built-in user verification (fingerprint) is set up (getInfo option `uv`).
 */
export type BuiltInUv = "enrolled" | "not enrolled" | "unsupported";

/**
 * Management features a key offers (from getInfo options).
 */
export type Supports = { 
/**
 * Discoverable credentials.
 */
discoverable: boolean, 
/**
 * credentialManagement (or its 2.1-PRE preview).
 */
credentialManagement: boolean, 
/**
 * bioEnrollment (or its preview).
 */
fingerprints: boolean, 
/**
 * authenticatorConfig (`authnrCfg`).
 */
config: boolean, 
/**
 * setMinPINLength.
 */
setMinPinLength: boolean, 
/**
 * alwaysUv can be toggled (the option is listed).
 */
alwaysUv: boolean, };

/**
 * getInfo members that [`crate::DeviceInfo`] does not keep (CTAP 2.1 / 2.2 §6.4).
 */
export type ExtraInfo = { 
/**
 * 0x18 longTouchForReset: the key wants a long touch (several seconds) for a reset.
 */
longTouchForReset: boolean, 
/**
 * 0x1A transportsForReset: transports over which a reset is allowed (absent: all).
 */
transportsForReset: Array<string> | null, 
/**
 * 0x17 uvCountSinceLastPinEntry.
 */
uvCountSinceLastPinEntry: number | null, 
/**
 * 0x1D maxPINLength (CTAP 2.2), in code points; 63 bytes is the protocol's limit anyway.
 */
maxPinLength: number | null, };

/**
 * Credential-slot counts from credential management (getCredsMetadata).
 */
export type CredentialSlots = { 
/**
 * Discoverable credentials stored on the key.
 */
used: number, 
/**
 * How many more it can store.
 */
remaining: number, };

/**
 * What `key_credentials` returns.
 */
export type KeyCredentials = { 
/**
 * By site.
 */
sites: Array<SiteView>, 
/**
 * Stored / remaining slots, when the key says.
 */
slots: CredentialSlots | null, 
/**
 * The instance the credentials were compared with (signed in), else `None`.
 */
comparedWith: string | null, 
/**
 * Why they were not compared (not signed in, network...), for the detail line.
 */
notCompared?: string, };

/**
 * The passkeys of one site on the key.
 */
export type SiteView = { 
/**
 * The rpId.
 */
rpId: string, 
/**
 * The site's name, when stored.
 */
name: string | null, 
/**
 * Its passkeys.
 */
credentials: Array<CredentialView>, };

/**
 * One passkey stored on the key, with ZITADEL's view of it when signed in.
 */
export type CredentialView = { 
/**
 * `{status: other|known|orphan|unknown, ...}` when compared with the signed-in account.
 */
zitadel?: Standing, 
/**
 * Credential id, base64url without padding (what `passkeys key credentials delete` takes).
 */
id: string, 
/**
 * user.id, base64url.
 */
userId: string, 
/**
 * user.name, if stored.
 */
userName: string | null, 
/**
 * user.displayName, if stored.
 */
userDisplayName: string | null, 
/**
 * credProtect level, if reported.
 */
credProtect: number | null, };

/**
 * One discoverable credential on the key.
 */
export type StoredCredential = { 
/**
 * Credential id, base64url without padding (what `passkeys key credentials delete` takes).
 */
id: string, 
/**
 * user.id, base64url.
 */
userId: string, 
/**
 * user.name, if stored.
 */
userName: string | null, 
/**
 * user.displayName, if stored.
 */
userDisplayName: string | null, 
/**
 * credProtect level, if reported.
 */
credProtect: number | null, };

/**
 * How a credential on the key relates to the instance.
 */
export type Standing = { "status": "other" } | { "status": "known", 
/**
 * ZITADEL token id.
 */
token_id: string, } | { "status": "orphan", 
/**
 * Why.
 */
reason: string, } | { "status": "unknown", 
/**
 * Why.
 */
reason: string, };

/**
 * A fingerprint template on the key.
 */
export type Fingerprint = { 
/**
 * templateId, base64url (what `rename` and `remove` take).
 */
id: string, 
/**
 * Its friendly name, if any.
 */
name: string | null, };

/**
 * One step of an enrollment, for live progress.
 */
export type Sample = { 
/**
 * lastEnrollSampleStatus (0 = good).
 */
status: number, 
/**
 * What it means for the person.
 */
feedback: string, 
/**
 * Samples still needed.
 */
remaining: number, };

/**
 * A step of the reset ceremony.
 */
export type ResetStep = { "step": "reinsert", 
/**
 * `usb` or `nfc`.
 */
transport: string, 
/**
 * The key wants a long press for the reset.
 */
longTouch: boolean, 
/**
 * The reset window after power-up, in seconds.
 */
windowSecs: number, 
/**
 * The engine's wording (English), as detail.
 */
guide: string, } | { "step": "touch", 
/**
 * Hold the button for a few seconds.
 */
longTouch: boolean, };

/**
 * What the key is doing, for the shells (the app's "Touch the key" button).
 *
 * Two statuses are equal when the key is in the same state (`changes` aside).
 */
export type PracticeStatus = { 
/**
 * The key is plugged in.
 */
plugged: boolean, 
/**
 * The key waits for a touch.
 */
waitingForTouch: boolean, 
/**
 * How many times the status has changed since the key was made. Statuses reach a shell
 * by more than one road (a command's answer, a watch): draw one only when its `changes` is
 * not below the one drawn, so a late answer never paints over a newer state.
 */
changes: number, };
