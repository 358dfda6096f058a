//! The CTAP 2.1 client engine over any webauthn-authenticator-rs [`Token`]: USB HID, NFC, or
//! the virtual key in tests. Every command goes through [`Device::exchange`], which enforces
//! the deadline, honours Cancel (and then sends the transport's cancel, CTAPHID_CANCEL on USB),
//! turns keepalives into one touch prompt, and maps transport failures to typed errors.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ciborium::Value;
use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::prompt::{Prompt, PromptNotice};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use webauthn_authenticator_rs::error::WebauthnCError;
use webauthn_authenticator_rs::transport::Token;
use webauthn_authenticator_rs::types::{CableRequestType, CableState, EnrollSampleStatus};
use webauthn_authenticator_rs::ui::UiCallback;
use webauthn_rs_proto::AuthenticatorTransport;
use zeroize::Zeroizing;

use crate::cbor;
use crate::info::DeviceInfo;
use crate::pin::Protocol;
use crate::status;

/// CTAP command bytes (CTAP 2.1 §6).
pub mod cmd {
    /// authenticatorMakeCredential.
    pub const MAKE_CREDENTIAL: u8 = 0x01;
    /// authenticatorGetAssertion.
    pub const GET_ASSERTION: u8 = 0x02;
    /// authenticatorGetInfo.
    pub const GET_INFO: u8 = 0x04;
    /// authenticatorClientPIN.
    pub const CLIENT_PIN: u8 = 0x06;
    /// authenticatorCredentialManagement.
    pub const CRED_MGMT: u8 = 0x0A;
    /// authenticatorSelection.
    pub const SELECTION: u8 = 0x0B;
    /// authenticatorCredentialManagement, CTAP 2.1-PRE (vendor prototype).
    pub const CRED_MGMT_PRE: u8 = 0x41;
}

/// pinUvAuthToken permissions (CTAP 2.1 §6.5.5.7).
pub mod permission {
    /// mc.
    pub const MAKE_CREDENTIAL: u8 = 0x01;
    /// ga.
    pub const GET_ASSERTION: u8 = 0x02;
    /// cm.
    pub const CREDENTIAL_MANAGEMENT: u8 = 0x04;
    /// be.
    pub const BIO_ENROLLMENT: u8 = 0x08;
    /// acfg.
    pub const AUTHENTICATOR_CONFIG: u8 = 0x20;
}

/// Deadline for commands that need no person (getInfo, clientPIN without prompts).
pub(crate) const QUICK: Duration = Duration::from_secs(10);
/// Deadline for management operations that ask for a PIN or a touch.
pub(crate) const INTERACTIVE: Duration = Duration::from_secs(120);

/// How an exchange with the key failed.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The key answered with a CTAP status other than success.
    Status(u8),
    /// The deadline passed (the device operation was cancelled).
    Timeout,
    /// The person cancelled (the device operation was cancelled).
    Cancelled,
    /// The key went away.
    Disconnected,
    /// The key's reply makes no sense.
    Invalid(String),
    /// Already decided.
    Final(AuthenticatorError),
}

impl From<AuthenticatorError> for Fail {
    fn from(e: AuthenticatorError) -> Self {
        Fail::Final(e)
    }
}

impl Fail {
    pub(crate) fn into_error(self) -> AuthenticatorError {
        match self {
            Fail::Status(s) => status::to_error(s),
            Fail::Timeout => AuthenticatorError::Timeout,
            Fail::Cancelled => AuthenticatorError::Cancelled,
            Fail::Disconnected => AuthenticatorError::Disconnected,
            Fail::Invalid(why) => AuthenticatorError::InvalidResponse(why),
            Fail::Final(e) => e,
        }
    }
}

/// Turns the transport's callbacks into [`Prompt`] calls: one touch prompt per command however
/// many keepalives arrive.
struct UiBridge {
    prompt: Arc<dyn Prompt>,
    touched: AtomicBool,
    processing: AtomicBool,
}

impl std::fmt::Debug for UiBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UiBridge")
    }
}

impl UiCallback for UiBridge {
    fn request_pin(&self) -> Option<String> {
        // PINs are asked for by the engine itself, never by the transport.
        None
    }
    fn request_touch(&self) {
        if !self.touched.swap(true, Ordering::SeqCst) {
            self.prompt.touch();
        }
    }
    fn processing(&self) {
        if !self.processing.swap(true, Ordering::SeqCst) {
            self.prompt.notice(&PromptNotice::Processing);
        }
    }
    fn fingerprint_enrollment_feedback(&self, _: u32, _: Option<EnrollSampleStatus>) {}
    fn cable_qr_code(&self, _: CableRequestType, _: String) {}
    fn dismiss_qr_code(&self) {}
    fn cable_status_update(&self, _: CableState) {}
}

/// Credential-slot counts from credential management (getCredsMetadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CredentialSlots {
    /// Discoverable credentials stored on the key.
    pub used: u64,
    /// How many more it can store.
    pub remaining: u64,
}

/// A pinUvAuthToken and its protocol.
#[derive(Clone)]
pub(crate) struct AuthToken {
    pub(crate) protocol: Protocol,
    pub(crate) token: Zeroizing<Vec<u8>>,
    /// Taken from a [`crate::session::TokenCache`]: the key may refuse it (stale), and then
    /// one fresh token is asked for.
    pub(crate) cached: bool,
}

impl AuthToken {
    pub(crate) fn param(&self, message: &[u8]) -> Value {
        cbor::bytes(&self.protocol.authenticate(&self.token, message))
    }
}

/// A security key, reached through a webauthn-authenticator-rs [`Token`].
pub struct Device<T: Token> {
    token: T,
    pub(crate) info: DeviceInfo,
    pub(crate) prompt: Arc<dyn Prompt>,
    pub(crate) cancel: CancellationToken,
    /// After a cancelled or timed-out command the key may still send its answer; the channel
    /// is not reused.
    broken: bool,
    /// Where the visit's pinUvAuthToken is kept, when the shell keeps one.
    pub(crate) tokens: Option<Arc<crate::session::TokenCache>>,
}

impl<T: Token> std::fmt::Debug for Device<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("token", &self.token)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl<T: Token> Device<T> {
    /// Initialises the token and reads getInfo.
    ///
    /// # Errors
    /// When the key does not answer or does not speak CTAP2.
    pub async fn open(
        mut token: T,
        prompt: Arc<dyn Prompt>,
        cancel: CancellationToken,
    ) -> Result<Self, AuthenticatorError> {
        token
            .init()
            .await
            .map_err(|e| map_transport(e).into_error())?;
        let mut device = Self {
            token,
            info: DeviceInfo::default(),
            prompt,
            cancel,
            broken: false,
            tokens: None,
        };
        device.refresh_info().await?;
        Ok(device)
    }

    /// The key's getInfo (as of the last read).
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// The transport the key is reached over.
    pub fn transport(&self) -> AuthenticatorTransport {
        self.token.get_transport()
    }

    /// The underlying token.
    pub fn token_mut(&mut self) -> &mut T {
        &mut self.token
    }

    /// The current cancel signal.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Replaces the cancel signal (e.g. a fresh one per operation in the app).
    pub fn set_cancel(&mut self, cancel: CancellationToken) {
        self.cancel = cancel;
    }

    /// Keeps management pinUvAuthTokens in `cache` (one PIN per visit; see
    /// [`crate::session`]): operations first use the token held there, and a token obtained
    /// here is put there with every management permission the key offers.
    pub fn use_token_cache(&mut self, cache: Arc<crate::session::TokenCache>) {
        self.tokens = Some(cache);
    }

    /// Forgets the visit's token, if a cache is attached (after a PIN change or a reset, which
    /// invalidate it on the key).
    pub(crate) fn forget_token(&self) {
        if let Some(c) = &self.tokens {
            c.clear();
        }
    }

    /// Reads getInfo again.
    ///
    /// # Errors
    /// Transport or CTAP failures.
    pub async fn refresh_info(&mut self) -> Result<&DeviceInfo, AuthenticatorError> {
        let deadline = Instant::now() + QUICK;
        self.read_info(deadline).await.map_err(Fail::into_error)?;
        Ok(&self.info)
    }

    pub(crate) async fn read_info(&mut self, deadline: Instant) -> Result<(), Fail> {
        let v = self.exchange(cmd::GET_INFO, None, deadline).await?;
        self.info = DeviceInfo::from_value(&v).map_err(Fail::Invalid)?;
        Ok(())
    }

    /// Sends one command and waits for its answer, the deadline or Cancel.
    pub(crate) async fn exchange(
        &mut self,
        command: u8,
        params: Option<Value>,
        deadline: Instant,
    ) -> Result<Value, Fail> {
        if self.broken {
            return Err(Fail::Final(AuthenticatorError::Device(
                "an earlier operation on this key was interrupted; remove and re-insert the key"
                    .into(),
            )));
        }
        let request = cbor::request(command, params);
        let ui = UiBridge {
            prompt: self.prompt.clone(),
            touched: AtomicBool::new(false),
            processing: AtomicBool::new(false),
        };
        enum Outcome {
            Done(Result<Vec<u8>, WebauthnCError>),
            Timeout,
            Cancelled,
        }
        let outcome = {
            let reply = self.token.transmit_raw(&request, &ui);
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => Outcome::Cancelled,
                () = tokio::time::sleep_until(deadline) => Outcome::Timeout,
                r = reply => Outcome::Done(r),
            }
        };
        match outcome {
            Outcome::Done(Ok(body)) => cbor::decode(&body).map_err(|e| {
                Fail::Invalid(format!("the key's reply to command 0x{command:02X} is {e}"))
            }),
            Outcome::Done(Err(e)) => Err(map_transport(e)),
            Outcome::Timeout | Outcome::Cancelled => {
                // Stop the device operation (CTAPHID_CANCEL on USB), then forget the channel.
                self.broken = true;
                let _ = tokio::time::timeout(Duration::from_secs(1), self.token.cancel()).await;
                Err(if matches!(outcome, Outcome::Timeout) {
                    Fail::Timeout
                } else {
                    Fail::Cancelled
                })
            }
        }
    }
}

/// The WebAuthn transport name.
pub fn transport_name(t: AuthenticatorTransport) -> &'static str {
    match t {
        AuthenticatorTransport::Usb => "usb",
        AuthenticatorTransport::Nfc => "nfc",
        AuthenticatorTransport::Ble => "ble",
        AuthenticatorTransport::Hybrid => "hybrid",
        AuthenticatorTransport::Internal => "internal",
        _ => "usb",
    }
}

/// Maps a transport error: CTAP statuses stay statuses; framing and parsing problems are
/// invalid replies; everything else means the key is gone.
fn map_transport(e: WebauthnCError) -> Fail {
    match e {
        WebauthnCError::Ctap(c) => {
            let s: u8 = c.into();
            if s == status::KEEPALIVE_CANCEL {
                Fail::Cancelled
            } else {
                Fail::Status(s)
            }
        }
        WebauthnCError::Cancelled => Fail::Cancelled,
        WebauthnCError::Cbor
        | WebauthnCError::MessageTooShort
        | WebauthnCError::InvalidMessageLength
        | WebauthnCError::ParseNOMFailure
        | WebauthnCError::MissingRequiredField => {
            Fail::Invalid(format!("the key's reply could not be read ({e})"))
        }
        WebauthnCError::NotSupported => Fail::Final(AuthenticatorError::NotSupported(
            "this key does not speak CTAP2 (FIDO2); U2F-only keys cannot hold passkeys".into(),
        )),
        other => {
            tracing::debug!("transport failure: {other:?}");
            Fail::Disconnected
        }
    }
}
