//! Security-key management on any CTAP2 key (USB, NFC), vendor-neutral: a [`KeyReport`] of what
//! the key says about itself, PIN set/change (policy-aware, on top of [`Device::set_pin`] and
//! [`Device::change_pin`]), reset (CTAP 2.1 §6.6) with its power-up window explained, and
//! identify (wink) on USB.
//!
//! Discoverable credentials are in [`crate::credmgmt`], fingerprints in [`crate::bio`],
//! authenticatorConfig in [`crate::config`].

use std::collections::BTreeMap;
use std::time::Duration;

use ciborium::Value;
use passkeys_core::authenticator::AuthenticatorError;
use serde::Serialize;
use tokio::time::Instant;
use webauthn_authenticator_rs::transport::Token;
use webauthn_rs_proto::AuthenticatorTransport;

use crate::cbor;
use crate::device::{
    self, permission, transport_name, AuthToken, CredentialSlots, Device, Fail, QUICK,
};
use crate::status;

/// authenticatorReset.
pub const CMD_RESET: u8 = 0x07;
/// CTAP2_ERR_NOT_ALLOWED.
pub const NOT_ALLOWED: u8 = 0x30;

/// Seconds after power-up in which keys accept a reset (CTAP 2.1 §6.6 leaves it to the key;
/// YubiKeys and Trussed firmware use 10 s, older YubiKeys 5 s).
pub const RESET_WINDOW_SECS: u64 = 10;

/// getInfo members that [`crate::DeviceInfo`] does not keep (CTAP 2.1 / 2.2 §6.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExtraInfo {
    /// 0x18 longTouchForReset: the key wants a long touch (several seconds) for a reset.
    pub long_touch_for_reset: bool,
    /// 0x1A transportsForReset: transports over which a reset is allowed (absent: all).
    pub transports_for_reset: Option<Vec<String>>,
    /// 0x17 uvCountSinceLastPinEntry.
    pub uv_count_since_last_pin_entry: Option<u64>,
    /// 0x1D maxPINLength (CTAP 2.2), in code points; 63 bytes is the protocol's limit anyway.
    pub max_pin_length: Option<u64>,
}

impl ExtraInfo {
    fn from_value(v: &Value) -> Self {
        Self {
            long_touch_for_reset: cbor::get(v, 0x18).and_then(Value::as_bool).unwrap_or(false),
            transports_for_reset: cbor::get(v, 0x1A).and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|s| s.as_text().map(str::to_string))
                    .collect()
            }),
            uv_count_since_last_pin_entry: cbor::get(v, 0x17).and_then(cbor::as_u64),
            max_pin_length: cbor::get(v, 0x1D)
                .and_then(cbor::as_u64)
                .map(|n| n.min(crate::info::MAX_PIN_BYTES)),
        }
    }
}

/// Everything `passkeys key info` shows about a key. No secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct KeyReport {
    /// `usb` or `nfc`.
    pub transport: String,
    /// Model name from the AAGUID list, or a generic name.
    pub model: String,
    /// AAGUID.
    pub aaguid: String,
    /// firmwareVersion, when the key says.
    pub firmware_version: Option<u64>,
    /// CTAP versions.
    pub versions: Vec<String>,
    /// Extensions.
    pub extensions: Vec<String>,
    /// Transports the key says it has.
    pub transports: Vec<String>,
    /// Signature algorithms (COSE names where known), when the key says.
    pub algorithms: Option<Vec<String>>,
    /// Every option the key lists.
    pub options: BTreeMap<String, bool>,
    /// Whether a PIN is set (`set`, `not set` or `unsupported` on the wire).
    pub pin: PinState,
    /// Built-in user verification (`enrolled`, `not enrolled` or `unsupported` on the wire).
    pub built_in_uv: BuiltInUv,
    /// alwaysUv is on.
    pub always_uv: bool,
    /// PIN attempts left (getPINRetries), when a PIN is supported.
    pub pin_retries: Option<u32>,
    /// The key wants a power cycle before the next PIN attempt (PIN_AUTH_BLOCKED).
    pub pin_power_cycle_required: bool,
    /// Built-in verification attempts left (getUVRetries).
    pub uv_retries: Option<u32>,
    /// The PIN state in words (blocked, needs re-insert, …).
    pub pin_state: String,
    /// Discoverable slots used/left from credential management (needs the PIN), if read.
    pub slots: Option<CredentialSlots>,
    /// remainingDiscoverableCredentials from getInfo (no PIN needed).
    pub remaining_discoverable: Option<u64>,
    /// minPINLength (4 when the key does not say).
    pub min_pin_length: usize,
    /// forcePINChange.
    pub force_pin_change: bool,
    /// What management this key supports.
    pub supports: Supports,
    /// Reset rules.
    pub reset: ExtraInfo,
}

/// Whether a key has a PIN (getInfo option `clientPin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum PinState {
    /// A PIN is set.
    #[serde(rename = "set")]
    Set,
    /// The key supports a PIN, none is set.
    #[serde(rename = "not set")]
    NotSet,
    /// The key has no PIN support.
    #[serde(rename = "unsupported")]
    Unsupported,
}

impl PinState {
    /// From getInfo's `clientPin` option.
    pub fn from_option(client_pin: Option<bool>) -> Self {
        match client_pin {
            Some(true) => PinState::Set,
            Some(false) => PinState::NotSet,
            None => PinState::Unsupported,
        }
    }

    /// The wire spelling: `set`, `not set` or `unsupported`.
    pub fn as_str(self) -> &'static str {
        match self {
            PinState::Set => "set",
            PinState::NotSet => "not set",
            PinState::Unsupported => "unsupported",
        }
    }
}

impl std::fmt::Display for PinState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a key's built-in user verification (fingerprint) is set up (getInfo option `uv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum BuiltInUv {
    /// Set up (a fingerprint is enrolled).
    #[serde(rename = "enrolled")]
    Enrolled,
    /// Supported, nothing enrolled.
    #[serde(rename = "not enrolled")]
    NotEnrolled,
    /// No built-in user verification.
    #[serde(rename = "unsupported")]
    Unsupported,
}

impl BuiltInUv {
    /// From getInfo's `uv` option.
    pub fn from_option(uv: Option<bool>) -> Self {
        match uv {
            Some(true) => BuiltInUv::Enrolled,
            Some(false) => BuiltInUv::NotEnrolled,
            None => BuiltInUv::Unsupported,
        }
    }

    /// The wire spelling: `enrolled`, `not enrolled` or `unsupported`.
    pub fn as_str(self) -> &'static str {
        match self {
            BuiltInUv::Enrolled => "enrolled",
            BuiltInUv::NotEnrolled => "not enrolled",
            BuiltInUv::Unsupported => "unsupported",
        }
    }
}

impl std::fmt::Display for BuiltInUv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Management features a key offers (from getInfo options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Supports {
    /// Discoverable credentials.
    pub discoverable: bool,
    /// credentialManagement (or its 2.1-PRE preview).
    pub credential_management: bool,
    /// bioEnrollment (or its preview).
    pub fingerprints: bool,
    /// authenticatorConfig (`authnrCfg`).
    pub config: bool,
    /// setMinPINLength.
    pub set_min_pin_length: bool,
    /// alwaysUv can be toggled (the option is listed).
    pub always_uv: bool,
}

/// The COSE algorithm's name.
pub fn cose_name(alg: i64) -> String {
    match alg {
        -7 => "ES256".into(),
        -8 => "EdDSA".into(),
        -35 => "ES384".into(),
        -36 => "ES512".into(),
        -37 => "PS256".into(),
        -38 => "PS384".into(),
        -39 => "PS512".into(),
        -47 => "ES256K".into(),
        -257 => "RS256".into(),
        -258 => "RS384".into(),
        -259 => "RS512".into(),
        other => other.to_string(),
    }
}

/// Says what a PIN state means.
pub fn pin_state_text(pin_set: Option<bool>, retries: Option<u32>, power_cycle: bool) -> String {
    match (pin_set, retries) {
        (None, _) => "this key has no PIN support".into(),
        (Some(false), _) => "no PIN set".into(),
        (Some(true), Some(0)) => {
            "blocked: no PIN attempts left; only a reset helps, and a reset erases every passkey on the key".into()
        }
        (Some(true), _) if power_cycle => {
            "temporarily locked after wrong PINs: unplug the key and insert it again before the next try".into()
        }
        (Some(true), Some(n)) => format!("set, {n} attempts left"),
        (Some(true), None) => "set".into(),
    }
}

impl<T: Token> Device<T> {
    /// Reads getInfo fresh and keeps the members [`crate::DeviceInfo`] does not.
    ///
    /// # Errors
    /// Transport or CTAP failures.
    pub async fn extra_info(&mut self) -> Result<ExtraInfo, AuthenticatorError> {
        let deadline = Instant::now() + QUICK;
        let v = self
            .exchange(device::cmd::GET_INFO, None, deadline)
            .await
            .map_err(Fail::into_error)?;
        self.read_info(deadline).await.map_err(Fail::into_error)?;
        Ok(ExtraInfo::from_value(&v))
    }

    /// A full report. With `with_slots`, credential management's slot counts too (asks for the
    /// PIN; skipped when the key has no PIN or no credential management).
    ///
    /// # Errors
    /// Transport or CTAP failures; PIN failures only with `with_slots`.
    pub async fn report(&mut self, with_slots: bool) -> Result<KeyReport, AuthenticatorError> {
        let reset = self.extra_info().await?;
        let deadline = Instant::now() + QUICK;
        let info = self.info().clone();
        let (pin_retries, power_cycle) = if info.client_pin().is_some() {
            self.read_pin_retries(deadline)
                .await
                .map_err(Fail::into_error)?
        } else {
            (None, false)
        };
        let uv_retries = if info.option("uv").is_some() {
            // Keys that list `uv` but not getUVRetries answer an error: not worth failing for.
            self.read_uv_retries(deadline).await.ok().flatten()
        } else {
            None
        };
        let slots = if with_slots {
            self.credential_slots().await?
        } else {
            None
        };
        let described = crate::key::describe(self);
        Ok(KeyReport {
            transport: transport_name(self.transport()).to_string(),
            model: described.model,
            aaguid: info.aaguid_string(),
            firmware_version: info.firmware_version,
            versions: info.versions.clone(),
            extensions: info.extensions.clone(),
            transports: info.transports.clone(),
            algorithms: info
                .algorithms
                .as_ref()
                .map(|a| a.iter().map(|(_, alg)| cose_name(*alg)).collect()),
            options: info.options.clone(),
            pin: PinState::from_option(info.client_pin()),
            built_in_uv: BuiltInUv::from_option(info.option("uv")),
            always_uv: info.option("alwaysUv") == Some(true),
            pin_retries,
            pin_power_cycle_required: power_cycle,
            uv_retries,
            pin_state: pin_state_text(info.client_pin(), pin_retries, power_cycle),
            slots,
            remaining_discoverable: info.remaining_discoverable_credentials,
            min_pin_length: info.min_pin_len(),
            force_pin_change: info.force_pin_change,
            supports: Supports {
                discoverable: info.rk(),
                credential_management: info.cred_mgmt(),
                fingerprints: info.option("bioEnroll").is_some()
                    || info.option("userVerificationMgmtPreview").is_some(),
                config: info.option("authnrCfg") == Some(true),
                set_min_pin_length: info.option("setMinPINLength") == Some(true),
                always_uv: info.option("alwaysUv").is_some(),
            },
            reset,
        })
    }

    /// Sets the first PIN; refuses (without touching the key's PIN state) when one is set.
    ///
    /// # Errors
    /// A PIN already set, the key's PIN rules, CTAP failures.
    pub async fn set_first_pin(
        &mut self,
        new_pin: &passkeys_core::Secret,
    ) -> Result<(), AuthenticatorError> {
        self.refresh_info().await?;
        match self.info().client_pin() {
            None => Err(AuthenticatorError::NotSupported(
                "this security key has no PIN support".into(),
            )),
            Some(true) => Err(AuthenticatorError::PinPolicy(
                "this key already has a PIN; change it instead of setting a new one".into(),
            )),
            Some(false) => self.set_pin(new_pin).await,
        }
    }

    /// Whether a reset is allowed over this key's transport (getInfo transportsForReset).
    pub fn reset_allowed_here(&self, extra: &ExtraInfo) -> Result<(), AuthenticatorError> {
        let here = transport_name(self.transport());
        match &extra.transports_for_reset {
            Some(list) if !list.iter().any(|t| t == here) => {
                Err(AuthenticatorError::NotSupported(format!(
                    "this key allows a reset only over {} (not over {here}); connect it that way and try again",
                    if list.is_empty() { "no transport".to_string() } else { list.join(", ") }
                )))
            }
            _ => Ok(()),
        }
    }

    /// authenticatorReset (CTAP 2.1 §6.6): erases every credential and the PIN. Call it right
    /// after the key was inserted (most keys allow a reset only within
    /// [`RESET_WINDOW_SECS`] of power-up); the key then wants a touch (a long one on some).
    ///
    /// # Errors
    /// Not allowed over this transport; NOT_ALLOWED (outside the power-up window) explained;
    /// refused or no touch in time.
    pub async fn reset(&mut self, touch_timeout: Duration) -> Result<(), AuthenticatorError> {
        let extra = self.extra_info().await?;
        self.reset_allowed_here(&extra)?;
        let deadline = Instant::now() + touch_timeout;
        let result = self.exchange(CMD_RESET, None, deadline).await;
        if result.is_ok() {
            // A reset erases the PIN, and with it every token.
            self.forget_token();
        }
        match result {
            Ok(_) => {
                self.refresh_info().await?;
                Ok(())
            }
            Err(Fail::Status(NOT_ALLOWED)) => Err(AuthenticatorError::Device(format!(
                "the key refused the reset (NOT_ALLOWED): keys accept a reset only in the first {RESET_WINDOW_SECS} seconds after they are plugged in (some only 5); {}",
                reinsert_hint(self.transport())
            ))),
            Err(Fail::Status(status::OPERATION_DENIED)) => Err(AuthenticatorError::Device(
                "the reset was refused on the key (no touch confirmed); nothing was erased".into(),
            )),
            Err(Fail::Status(status::USER_ACTION_TIMEOUT | status::ACTION_TIMEOUT))
            | Err(Fail::Timeout) => Err(AuthenticatorError::Device(format!(
                "no touch in time, so nothing was erased; {}",
                reinsert_hint(self.transport())
            ))),
            Err(e) => Err(e.into_error()),
        }
    }
}

/// What to do to get into the reset window again.
pub fn reinsert_hint(transport: AuthenticatorTransport) -> String {
    if transport == AuthenticatorTransport::Nfc {
        format!("take the key off the reader, put it back, and run the reset again at once (within {RESET_WINDOW_SECS} s)")
    } else {
        format!(
            "unplug the key, insert it again, and touch it within {RESET_WINDOW_SECS} s when asked"
        )
    }
}

/// The step-by-step text for the reset ceremony.
pub fn reset_guide(transport: AuthenticatorTransport, long_touch: bool) -> String {
    let touch = if long_touch {
        "press and hold the key's button for about 5 seconds"
    } else {
        "touch the key"
    };
    if transport == AuthenticatorTransport::Nfc {
        format!("Take the key off the NFC reader and put it back now; then keep it there ({touch} if it has a button).")
    } else {
        format!("Unplug the key now and insert it again; then {touch} within {RESET_WINDOW_SECS} seconds.")
    }
}

/// Identify (wink) a USB key: CTAPHID_WINK through webauthn-authenticator-rs's `USBToken`.
///
/// # Errors
/// [`AuthenticatorError::NotSupported`] on NFC and on keys that do not announce wink.
#[cfg(feature = "usb")]
pub async fn wink(device: &mut Device<crate::token::KeyToken>) -> Result<(), AuthenticatorError> {
    use crate::token::KeyToken;
    use webauthn_authenticator_rs::transport::AnyToken;
    match device.token_mut() {
        KeyToken::Attached(AnyToken::Usb(t)) => {
            if !t.supports_wink() {
                return Err(AuthenticatorError::NotSupported(
                    "this key does not announce the wink (identify) function".into(),
                ));
            }
            t.wink()
                .await
                .map_err(|e| AuthenticatorError::Device(format!("the key did not wink ({e:?})")))
        }
        _ => Err(AuthenticatorError::NotSupported(
            "identify (wink) works only over USB".into(),
        )),
    }
}

/// Helper for the other management modules: a pinUvAuthToken with `permissions`, by built-in
/// UV when the key has it set up, else by PIN (the engine's dialog with attempts left).
///
/// With a [`crate::session::TokenCache`] attached, the visit's token is used when it carries
/// `permissions`; otherwise a token is obtained with every management permission the key
/// offers (one PIN for the visit) and kept there.
pub(crate) async fn management_token<T: Token>(
    device: &mut Device<T>,
    permissions: u8,
    deadline: Instant,
) -> Result<AuthToken, Fail> {
    let info = device.info().clone();
    if info.client_pin() != Some(true) && !info.builtin_uv_ready() {
        return Err(Fail::Final(AuthenticatorError::PinNotSet(
            "set a PIN on the key first".into(),
        )));
    }
    let Some(cache) = device.tokens.clone() else {
        return fresh_token(device, permissions, deadline).await;
    };
    if let Some(token) = cache.get(&info.aaguid, permissions) {
        return Ok(token);
    }
    let wanted = permissions | visit_permissions(&info);
    let token = match fresh_token(device, wanted, deadline).await {
        Ok(t) => {
            cache.store(info.aaguid, wanted, &t);
            t
        }
        Err(Fail::Status(status::UNAUTHORIZED_PERMISSION)) if wanted != permissions => {
            // The key lists a feature but will not grant its permission with a PIN: ask for
            // what this operation needs only (the dialog says why the PIN is asked again).
            let t = fresh_token(device, permissions, deadline).await?;
            cache.store(info.aaguid, permissions, &t);
            t
        }
        Err(e) => return Err(e),
    };
    Ok(token)
}

/// The management permissions a key offers: `cm` (credential management), `acfg`
/// (authenticatorConfig), `be` (fingerprints), only for features its getInfo lists, and only
/// on CTAP 2.1 keys with permissions (older keys' tokens carry every right anyway).
pub(crate) fn visit_permissions(info: &crate::DeviceInfo) -> u8 {
    if !info.pin_uv_auth_token() {
        return 0;
    }
    let mut p = 0;
    if info.option("credMgmt") == Some(true) {
        p |= permission::CREDENTIAL_MANAGEMENT;
    }
    if info.option("authnrCfg") == Some(true) {
        p |= permission::AUTHENTICATOR_CONFIG;
    }
    if info.option("bioEnroll").is_some() && !info.builtin_uv_ready() {
        // A `be` token must come from the PIN; with built-in UV ready the token comes from
        // UV and fingerprint management asks for its own.
        p |= permission::BIO_ENROLLMENT;
    }
    p
}

async fn fresh_token<T: Token>(
    device: &mut Device<T>,
    permissions: u8,
    deadline: Instant,
) -> Result<AuthToken, Fail> {
    let info = device.info().clone();
    // A `be` token must come from the PIN (CTAP 2.1 §6.7).
    if info.builtin_uv_ready()
        && info.pin_uv_auth_token()
        && permissions & permission::BIO_ENROLLMENT == 0
    {
        device.uv_token(permissions, None, deadline).await
    } else {
        device.pin_token(permissions, None, deadline).await
    }
}

/// After an authenticated management command: when `token` came from the visit's cache and
/// the key refused it (stale), forgets the cache, replaces `token` with a fresh one (asking for
/// the PIN) and returns `true`: send the command once more. Otherwise `false`.
pub(crate) async fn renew_refused_token<T: Token>(
    device: &mut Device<T>,
    token: &mut AuthToken,
    permissions: u8,
    deadline: Instant,
    result: &Result<Value, Fail>,
) -> Result<bool, Fail> {
    match result {
        Err(Fail::Status(s)) if token.cached && status::token_refused(*s) => {
            tracing::debug!("the key refused the kept PIN token (0x{s:02X}); asking again");
            device.forget_token();
            *token = management_token(device, permissions, deadline).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// The reset ceremony's first half: waits until a key is removed and a key is inserted again
/// (USB re-plug, or off and back on the NFC reader), and opens it at once so the reset lands in
/// its power-up window. Keys present at the start are skipped.
///
/// # Errors
/// No transport to watch; nothing re-inserted before `timeout`; Cancel.
pub async fn wait_for_reinsert(
    prompt: std::sync::Arc<dyn passkeys_core::prompt::Prompt>,
    cancel: tokio_util::sync::CancellationToken,
    timeout: Duration,
) -> Result<Device<crate::token::KeyToken>, AuthenticatorError> {
    use futures::StreamExt as _;
    use webauthn_authenticator_rs::transport::{AnyTransport, TokenEvent, Transport};
    let unavailable = |e: webauthn_authenticator_rs::error::WebauthnCError| {
        AuthenticatorError::NotFound(format!("the USB/NFC transports cannot be watched ({e:?})"))
    };
    let transport = AnyTransport::new().await.map_err(unavailable)?;
    let mut events = transport.watch().await.map_err(unavailable)?;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut enumerated = false;
    let mut removed = false;
    loop {
        let event = tokio::select! {
            () = cancel.cancelled() => return Err(AuthenticatorError::Cancelled),
            () = &mut deadline => return Err(AuthenticatorError::Device(
                "no key was removed and inserted again in time; nothing was erased".into(),
            )),
            e = events.next() => e,
        };
        match event {
            None => return Err(AuthenticatorError::Disconnected),
            Some(TokenEvent::EnumerationComplete) => enumerated = true,
            Some(TokenEvent::Removed(_)) => removed = true,
            Some(TokenEvent::Added(token)) if enumerated && removed => {
                return Device::open(crate::token::KeyToken::Attached(token), prompt, cancel).await;
            }
            Some(TokenEvent::Added(_)) => {}
        }
    }
}

/// The token type of every key the engine opens (USB, NFC, the practice key).
pub use crate::token::KeyToken;
/// The token type of keys found on USB and NFC.
pub use webauthn_authenticator_rs::transport::AnyToken;
