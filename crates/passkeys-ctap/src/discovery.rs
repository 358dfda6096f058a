//! Finding keys: every USB HID and NFC (PC/SC) key through webauthn-authenticator-rs's
//! `AnyTransport`, hot-plug events from its `watch()`, and touch-to-select when several keys
//! are attached (CTAP 2.1 authenticatorSelection, raced; the others are cancelled).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::prompt::Prompt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use webauthn_authenticator_rs::transport::{AnyToken, AnyTransport, Token, TokenEvent, Transport};

use crate::device::{transport_name, Device};

/// What `passkeys authenticators` shows about a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeySummary {
    /// `usb` or `nfc`.
    pub transport: String,
    /// Model name (from the AAGUID list), or a generic name.
    pub model: String,
    /// AAGUID.
    pub aaguid: String,
    /// CTAP versions.
    pub versions: Vec<String>,
    /// `set`, `not set` or `unsupported`.
    pub pin: String,
    /// Built-in user verification (fingerprint) is set up.
    pub built_in_verification: bool,
    /// Can store passkeys (discoverable credentials).
    pub discoverable: bool,
    /// Passkeys it can still store, when the key says without a PIN.
    pub remaining_discoverable: Option<u64>,
    /// Minimum PIN length.
    pub min_pin_length: usize,
}

/// Summarises an opened key.
pub fn summary<T: Token>(device: &Device<T>) -> KeySummary {
    let info = device.info();
    let described = crate::key::describe(device);
    KeySummary {
        transport: transport_name(device.transport()).to_string(),
        model: described.model,
        aaguid: info.aaguid_string(),
        versions: info.versions.clone(),
        pin: match info.client_pin() {
            Some(true) => "set",
            Some(false) => "not set",
            None => "unsupported",
        }
        .to_string(),
        built_in_verification: info.builtin_uv_ready(),
        discoverable: info.rk(),
        remaining_discoverable: info.remaining_discoverable_credentials,
        min_pin_length: info.min_pin_len(),
    }
}

fn not_found(e: impl std::fmt::Debug) -> AuthenticatorError {
    AuthenticatorError::NotFound(format!(
        "the USB/NFC transports could not be opened ({e:?}); on Linux check the udev rules for /dev/hidraw* and that pcscd runs (see the README)"
    ))
}

/// Opens every attached key (USB HID and NFC).
///
/// # Errors
/// When no transport can be opened at all.
pub async fn open_all(
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
) -> Result<Vec<Device<AnyToken>>, AuthenticatorError> {
    let transport = AnyTransport::new().await.map_err(not_found)?;
    let tokens = transport.tokens().await.map_err(not_found)?;
    let mut devices = Vec::new();
    for token in tokens {
        match Device::open(token, prompt.clone(), cancel.clone()).await {
            Ok(d) => devices.push(d),
            Err(e) => tracing::warn!("a FIDO device could not be opened: {e}"),
        }
    }
    Ok(devices)
}

/// Opens the one key to use: the only one attached, or the one touched first when there are
/// several (CTAP 2.1 keys; otherwise the person is asked to leave one attached).
///
/// # Errors
/// [`AuthenticatorError::NotFound`] when none is attached; selection failures.
pub async fn open_one(
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
    timeout: Duration,
) -> Result<Device<AnyToken>, AuthenticatorError> {
    let devices = open_all(prompt.clone(), cancel.clone()).await?;
    if devices.is_empty() {
        return Err(AuthenticatorError::NotFound(
            "insert a security key (or put it on the NFC reader) and try again; on Linux, a key that is attached but not listed usually means missing udev permissions (see the README)".into(),
        ));
    }
    if devices.len() > 1 {
        prompt.touch();
    }
    select_by_touch(devices, &cancel, timeout).await
}

/// Picks one of several keys by touch: each CTAP 2.1 key blinks (authenticatorSelection); the
/// first touched wins and the others are cancelled.
///
/// # Errors
/// When a key cannot take part (before CTAP 2.1), nobody touches in time, or on Cancel.
pub async fn select_by_touch<T: Token>(
    mut devices: Vec<Device<T>>,
    cancel: &CancellationToken,
    timeout: Duration,
) -> Result<Device<T>, AuthenticatorError> {
    match devices.len() {
        0 => {
            return Err(AuthenticatorError::NotFound(
                "no security key attached".into(),
            ))
        }
        1 => return Ok(devices.remove(0)),
        _ => {}
    }
    if devices.iter().any(|d| !d.info().is_ctap21()) {
        return Err(AuthenticatorError::NotSupported(
            "several security keys are attached and not all of them can be chosen by touch; leave only the one to use attached".into(),
        ));
    }
    let race = cancel.child_token();
    let runs = devices.into_iter().map(|mut d| {
        let race = race.clone();
        async move {
            d.set_cancel(race.child_token());
            let r = d.wait_for_touch(timeout).await;
            if r.is_ok() {
                race.cancel();
            }
            (d, r)
        }
    });
    let results = futures::future::join_all(runs).await;
    let mut first_error = None;
    for (mut device, result) in results {
        match result {
            Ok(()) => {
                device.set_cancel(cancel.clone());
                return Ok(device);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(if cancel.is_cancelled() {
        AuthenticatorError::Cancelled
    } else {
        first_error.unwrap_or(AuthenticatorError::Timeout)
    })
}

/// A hot-plug event for `passkeys authenticators --watch` and the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum KeyEvent {
    /// A key was attached (or was there at the start).
    Added(KeySummary),
    /// A key was removed; `id` is the transport's device id.
    Removed {
        /// Transport device id (diagnostic).
        id: String,
    },
    /// The keys attached at the start have all been reported.
    EnumerationComplete,
}

/// Reports keys as they come and go until `cancel` fires.
///
/// # Errors
/// When no transport can be watched.
pub async fn watch(
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
    mut on_event: impl FnMut(KeyEvent) + Send,
) -> Result<(), AuthenticatorError> {
    let transport = AnyTransport::new().await.map_err(not_found)?;
    let mut events = transport.watch().await.map_err(not_found)?;
    loop {
        let event = tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            e = events.next() => e,
        };
        match event {
            None => return Ok(()),
            Some(TokenEvent::Added(token)) => {
                match Device::open(token, prompt.clone(), cancel.clone()).await {
                    Ok(d) => on_event(KeyEvent::Added(summary(&d))),
                    Err(e) => tracing::warn!("a FIDO device could not be opened: {e}"),
                }
            }
            Some(TokenEvent::Removed(id)) => on_event(KeyEvent::Removed {
                id: format!("{id:?}"),
            }),
            Some(TokenEvent::EnumerationComplete) => on_event(KeyEvent::EnumerationComplete),
        }
    }
}
