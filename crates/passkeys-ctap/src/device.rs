//! The CTAP 2.1 client engine over any webauthn-authenticator-rs [`Token`]: USB HID, NFC, or
//! the virtual key in tests. Every command goes through [`Device::exchange`], which enforces
//! the deadline, honours Cancel (and then sends the transport's cancel, CTAPHID_CANCEL on USB),
//! turns keepalives into one touch prompt, and maps transport failures to typed errors.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ciborium::Value;
use passkeys_core::authenticator::{
    AuthenticatorError, MakeCredentialRequest, MakeCredentialResponse,
};
use passkeys_core::prompt::{check_new_pin, PinRequest, Prompt, PromptNotice, MAX_PIN_BYTES};
use passkeys_core::Secret;
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
use crate::pin::{self, Protocol};
use crate::plan::{self, Discoverable, UvPlan};
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
}

/// Deadline for commands that need no person (getInfo, clientPIN without prompts).
pub(crate) const QUICK: Duration = Duration::from_secs(10);
/// Deadline for management operations that ask for a PIN or a touch.
pub(crate) const INTERACTIVE: Duration = Duration::from_secs(120);
/// Rejected PINs (local rules or the key's policy) before giving up, so a prompt that keeps
/// returning the same bad PIN (an environment variable) cannot loop.
const MAX_REJECTED: usize = 5;

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
pub(crate) struct AuthToken {
    pub(crate) protocol: Protocol,
    token: Zeroizing<Vec<u8>>,
}

impl AuthToken {
    pub(crate) fn param(&self, message: &[u8]) -> Value {
        cbor::bytes(&self.protocol.authenticate(&self.token, message))
    }
}

/// A security key, reached through a webauthn-authenticator-rs [`Token`].
pub struct Device<T: Token> {
    token: T,
    info: DeviceInfo,
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
    /// After a cancelled or timed-out command the key may still send its answer; the channel
    /// is not reused.
    broken: bool,
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

    pub(crate) async fn client_pin(
        &mut self,
        params: Vec<(i64, Value)>,
        deadline: Instant,
    ) -> Result<Value, Fail> {
        let map = Value::Map(params.into_iter().map(|(k, v)| (cbor::int(k), v)).collect());
        self.exchange(cmd::CLIENT_PIN, Some(map), deadline).await
    }

    fn protocol(&self) -> Result<Protocol, Fail> {
        Protocol::choose(&self.info.pin_protocols).ok_or_else(|| {
            Fail::Final(AuthenticatorError::NotSupported(
                "this security key offers no PIN protocol this app knows".into(),
            ))
        })
    }

    /// PIN retries left and whether the key needs a power cycle (getPINRetries).
    ///
    /// # Errors
    /// Transport or CTAP failures.
    pub async fn pin_retries(&mut self) -> Result<(Option<u32>, bool), AuthenticatorError> {
        let deadline = Instant::now() + QUICK;
        self.read_pin_retries(deadline)
            .await
            .map_err(Fail::into_error)
    }

    pub(crate) async fn read_pin_retries(
        &mut self,
        deadline: Instant,
    ) -> Result<(Option<u32>, bool), Fail> {
        let v = self
            .client_pin(vec![(0x02, cbor::int(0x01))], deadline)
            .await?;
        let retries = cbor::get(&v, 0x03)
            .and_then(cbor::as_u64)
            .and_then(|n| u32::try_from(n).ok());
        let power_cycle = cbor::get(&v, 0x04)
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok((retries, power_cycle))
    }

    pub(crate) async fn read_uv_retries(&mut self, deadline: Instant) -> Result<Option<u32>, Fail> {
        let v = self
            .client_pin(vec![(0x02, cbor::int(0x07))], deadline)
            .await?;
        Ok(cbor::get(&v, 0x05)
            .and_then(cbor::as_u64)
            .and_then(|n| u32::try_from(n).ok()))
    }

    async fn agreement(
        &mut self,
        protocol: Protocol,
        deadline: Instant,
    ) -> Result<pin::Agreement, Fail> {
        let v = self
            .client_pin(
                vec![
                    (0x01, cbor::int(protocol.number())),
                    (0x02, cbor::int(0x02)),
                ],
                deadline,
            )
            .await?;
        let peer = cbor::get(&v, 0x01)
            .ok_or_else(|| Fail::Invalid("getKeyAgreement returned no key".into()))?;
        pin::agree(protocol, peer).map_err(Fail::Invalid)
    }

    async fn send_set_pin(&mut self, new_pin: &str, deadline: Instant) -> Result<(), Fail> {
        let protocol = self.protocol()?;
        let a = self.agreement(protocol, deadline).await?;
        let new_pin_enc = a
            .shared
            .encrypt(&pin::padded_pin(new_pin))
            .map_err(Fail::Invalid)?;
        let param = a.shared.authenticate(&new_pin_enc);
        self.client_pin(
            vec![
                (0x01, cbor::int(protocol.number())),
                (0x02, cbor::int(0x03)),
                (0x03, a.platform_key),
                (0x04, cbor::bytes(&param)),
                (0x05, cbor::bytes(&new_pin_enc)),
            ],
            deadline,
        )
        .await?;
        Ok(())
    }

    async fn send_change_pin(
        &mut self,
        old_pin: &str,
        new_pin: &str,
        deadline: Instant,
    ) -> Result<(), Fail> {
        let protocol = self.protocol()?;
        let a = self.agreement(protocol, deadline).await?;
        let pin_hash_enc = a
            .shared
            .encrypt(&pin::pin_hash(old_pin))
            .map_err(Fail::Invalid)?;
        let new_pin_enc = a
            .shared
            .encrypt(&pin::padded_pin(new_pin))
            .map_err(Fail::Invalid)?;
        let param = a
            .shared
            .authenticate(&[new_pin_enc.as_slice(), &pin_hash_enc].concat());
        self.client_pin(
            vec![
                (0x01, cbor::int(protocol.number())),
                (0x02, cbor::int(0x04)),
                (0x03, a.platform_key),
                (0x04, cbor::bytes(&param)),
                (0x05, cbor::bytes(&new_pin_enc)),
                (0x06, cbor::bytes(&pin_hash_enc)),
            ],
            deadline,
        )
        .await?;
        Ok(())
    }

    async fn token_with_pin(
        &mut self,
        pin: &str,
        permissions: u8,
        rp_id: Option<&str>,
        deadline: Instant,
    ) -> Result<AuthToken, Fail> {
        let protocol = self.protocol()?;
        let a = self.agreement(protocol, deadline).await?;
        let pin_hash_enc = a
            .shared
            .encrypt(&pin::pin_hash(pin))
            .map_err(Fail::Invalid)?;
        let mut params = vec![
            (0x01, cbor::int(protocol.number())),
            (0x03, a.platform_key),
            (0x06, cbor::bytes(&pin_hash_enc)),
        ];
        if self.info.pin_uv_auth_token() {
            params.push((0x02, cbor::int(0x09)));
            params.push((0x09, cbor::int(i64::from(permissions))));
            if let Some(rp) = rp_id {
                params.push((0x0A, cbor::text(rp)));
            }
        } else {
            params.push((0x02, cbor::int(0x05)));
        }
        let v = self.client_pin(params, deadline).await?;
        decrypt_token(&a.shared, &v)
    }

    async fn token_with_uv(
        &mut self,
        permissions: u8,
        rp_id: Option<&str>,
        deadline: Instant,
    ) -> Result<AuthToken, Fail> {
        let protocol = self.protocol()?;
        let a = self.agreement(protocol, deadline).await?;
        let mut params = vec![
            (0x01, cbor::int(protocol.number())),
            (0x02, cbor::int(0x06)),
            (0x03, a.platform_key),
            (0x09, cbor::int(i64::from(permissions))),
        ];
        if let Some(rp) = rp_id {
            params.push((0x0A, cbor::text(rp)));
        }
        let v = self.client_pin(params, deadline).await?;
        decrypt_token(&a.shared, &v)
    }

    /// Asks the person, giving up on Cancel or at the deadline.
    async fn ask(&self, request: PinRequest, deadline: Instant) -> Result<Option<Secret>, Fail> {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(Fail::Cancelled),
            () = tokio::time::sleep_until(deadline) => Err(Fail::Timeout),
            pin = self.prompt.request_pin(&request) => Ok(pin),
        }
    }

    /// The PIN dialog: asks for the PIN with the attempts left, re-asks after a wrong PIN,
    /// stops on PIN_AUTH_BLOCKED / PIN_BLOCKED, never sends a PIN the key must refuse.
    pub(crate) async fn pin_token(
        &mut self,
        permissions: u8,
        rp_id: Option<&str>,
        deadline: Instant,
    ) -> Result<AuthToken, Fail> {
        let mut after_wrong_pin = false;
        let mut rejected = 0;
        loop {
            let (attempts_left, power_cycle) = self.read_pin_retries(deadline).await?;
            if attempts_left == Some(0) {
                return Err(AuthenticatorError::PinBlocked.into());
            }
            if power_cycle {
                return Err(AuthenticatorError::PinAuthBlocked.into());
            }
            let request = PinRequest::Enter {
                attempts_left,
                after_wrong_pin,
            };
            let Some(pin) = self.ask(request, deadline).await? else {
                return Err(if after_wrong_pin {
                    AuthenticatorError::PinInvalid { attempts_left }
                } else {
                    AuthenticatorError::Cancelled
                }
                .into());
            };
            // A PIN shorter than 4 code points or longer than 63 bytes cannot be right: saying
            // so costs no attempt, sending it would.
            if let Err(reason) = check_new_pin(pin.expose(), 0) {
                rejected += 1;
                if rejected >= MAX_REJECTED {
                    return Err(AuthenticatorError::PinInvalid { attempts_left }.into());
                }
                self.prompt.notice(&PromptNotice::PinRejected { reason });
                continue;
            }
            let result = if self.info.force_pin_change {
                self.forced_change(&pin, permissions, rp_id, deadline).await
            } else {
                self.token_with_pin(pin.expose(), permissions, rp_id, deadline)
                    .await
            };
            match result {
                Ok(t) => return Ok(t),
                Err(Fail::Status(status::PIN_INVALID)) => after_wrong_pin = true,
                Err(e) => return Err(e),
            }
        }
    }

    /// forcePINChange: the key accepts no token until its PIN is changed. `current` was just
    /// entered; a new one is asked for, the PIN changed, and the token taken with the new PIN.
    async fn forced_change(
        &mut self,
        current: &Secret,
        permissions: u8,
        rp_id: Option<&str>,
        deadline: Instant,
    ) -> Result<AuthToken, Fail> {
        let min_length = self.info.min_pin_len();
        let mut rejected = 0;
        loop {
            let request = PinRequest::ChangeRequired {
                min_length,
                max_bytes: MAX_PIN_BYTES,
            };
            let Some(new_pin) = self.ask(request, deadline).await? else {
                return Err(AuthenticatorError::PinPolicy(
                    "this security key requires a new PIN before it can be used".into(),
                )
                .into());
            };
            let reason = match check_new_pin(new_pin.expose(), min_length) {
                Err(reason) => reason,
                Ok(()) if new_pin == *current => "the new PIN must differ from the current one".into(),
                Ok(()) => match self
                    .send_change_pin(current.expose(), new_pin.expose(), deadline)
                    .await
                {
                    Ok(()) => {
                        self.prompt.notice(&PromptNotice::PinSet);
                        self.read_info(deadline).await?;
                        return self
                            .token_with_pin(new_pin.expose(), permissions, rp_id, deadline)
                            .await;
                    }
                    Err(Fail::Status(status::PIN_POLICY_VIOLATION)) => format!(
                        "the key refused this PIN (it needs at least {min_length} characters and may refuse simple ones)"
                    ),
                    Err(e) => return Err(e),
                },
            };
            rejected += 1;
            if rejected >= MAX_REJECTED {
                return Err(AuthenticatorError::PinPolicy(reason).into());
            }
            self.prompt.notice(&PromptNotice::PinRejected { reason });
        }
    }

    /// Built-in verification, falling back to the PIN when it is blocked or keeps failing.
    pub(crate) async fn uv_token(
        &mut self,
        permissions: u8,
        rp_id: Option<&str>,
        deadline: Instant,
    ) -> Result<AuthToken, Fail> {
        let retries = self.read_uv_retries(deadline).await?;
        if retries != Some(0) {
            self.prompt.notice(&PromptNotice::UseBuiltInVerification);
            for _ in 0..3 {
                match self.token_with_uv(permissions, rp_id, deadline).await {
                    Ok(t) => return Ok(t),
                    Err(Fail::Status(status::UV_INVALID)) => continue,
                    Err(Fail::Status(status::UV_BLOCKED)) => break,
                    Err(e) => return Err(e),
                }
            }
        }
        if self.info.client_pin() != Some(true) {
            return Err(AuthenticatorError::NotSupported(
                "built-in verification on this key is blocked and the key has no PIN; unlock it with a PIN set in the vendor's tool"
                    .into(),
            )
            .into());
        }
        self.prompt.notice(&PromptNotice::FallingBackToPin);
        self.pin_token(permissions, rp_id, deadline).await
    }

    /// The new-PIN dialog (a key without a PIN): rules checked before the key sees the PIN.
    async fn new_pin_dialog(&mut self, deadline: Instant) -> Result<Secret, Fail> {
        let min_length = self.info.min_pin_len();
        let mut rejected = 0;
        loop {
            let request = PinRequest::SetNew {
                min_length,
                max_bytes: MAX_PIN_BYTES,
            };
            let Some(pin) = self.ask(request, deadline).await? else {
                return Err(AuthenticatorError::PinNotSet(format!(
                    "choose a PIN of at least {min_length} characters when asked (the key keeps it; it never leaves this computer)"
                ))
                .into());
            };
            let verdict = match check_new_pin(pin.expose(), min_length) {
                Err(reason) => Err(reason),
                Ok(()) => match self.send_set_pin(pin.expose(), deadline).await {
                    Ok(()) => Ok(()),
                    Err(Fail::Status(status::PIN_POLICY_VIOLATION)) => Err(format!(
                        "the key refused this PIN (it needs at least {min_length} characters and may refuse simple ones)"
                    )),
                    Err(e) => return Err(e),
                },
            };
            match verdict {
                Ok(()) => {
                    self.prompt.notice(&PromptNotice::PinSet);
                    self.read_info(deadline).await?;
                    return Ok(pin);
                }
                Err(reason) => {
                    rejected += 1;
                    if rejected >= MAX_REJECTED {
                        return Err(AuthenticatorError::PinPolicy(reason).into());
                    }
                    self.prompt.notice(&PromptNotice::PinRejected { reason });
                }
            }
        }
    }

    /// Sets the first PIN on a key that has none.
    ///
    /// # Errors
    /// [`AuthenticatorError::PinPolicy`] when the PIN breaks the rules; CTAP failures.
    pub async fn set_pin(&mut self, new_pin: &Secret) -> Result<(), AuthenticatorError> {
        let deadline = Instant::now() + QUICK;
        self.read_info(deadline).await.map_err(Fail::into_error)?;
        check_new_pin(new_pin.expose(), self.info.min_pin_len())
            .map_err(AuthenticatorError::PinPolicy)?;
        self.send_set_pin(new_pin.expose(), deadline)
            .await
            .map_err(Fail::into_error)?;
        self.read_info(deadline).await.map_err(Fail::into_error)
    }

    /// Changes the PIN. A wrong current PIN gives [`AuthenticatorError::PinInvalid`] with the
    /// attempts left.
    ///
    /// # Errors
    /// As above, plus PIN_AUTH_BLOCKED / PIN_BLOCKED and CTAP failures.
    pub async fn change_pin(
        &mut self,
        current: &Secret,
        new_pin: &Secret,
    ) -> Result<(), AuthenticatorError> {
        let deadline = Instant::now() + QUICK;
        let result = async {
            self.read_info(deadline).await?;
            check_new_pin(new_pin.expose(), self.info.min_pin_len())
                .map_err(AuthenticatorError::PinPolicy)?;
            let (left, power_cycle) = self.read_pin_retries(deadline).await?;
            if left == Some(0) {
                return Err(AuthenticatorError::PinBlocked.into());
            }
            if power_cycle {
                return Err(AuthenticatorError::PinAuthBlocked.into());
            }
            match self
                .send_change_pin(current.expose(), new_pin.expose(), deadline)
                .await
            {
                Err(Fail::Status(status::PIN_INVALID)) => {
                    let (attempts_left, _) = self.read_pin_retries(deadline).await?;
                    Err(AuthenticatorError::PinInvalid { attempts_left }.into())
                }
                other => other,
            }?;
            self.read_info(deadline).await
        }
        .await;
        result.map_err(Fail::into_error)
    }

    /// Discoverable-credential slots (credential management getCredsMetadata); asks for the PIN.
    /// `None` when the key has no credential management.
    ///
    /// # Errors
    /// PIN and CTAP failures.
    pub async fn credential_slots(
        &mut self,
    ) -> Result<Option<CredentialSlots>, AuthenticatorError> {
        if let Some(remaining) = self.info.remaining_discoverable_credentials {
            if !self.info.cred_mgmt() {
                return Ok(Some(CredentialSlots { used: 0, remaining }));
            }
        }
        if !self.info.cred_mgmt() || self.info.client_pin() != Some(true) {
            return Ok(None);
        }
        let deadline = Instant::now() + INTERACTIVE;
        let result = async {
            let token = if self.info.builtin_uv_ready() && self.info.pin_uv_auth_token() {
                self.uv_token(permission::CREDENTIAL_MANAGEMENT, None, deadline)
                    .await?
            } else {
                self.pin_token(permission::CREDENTIAL_MANAGEMENT, None, deadline)
                    .await?
            };
            let command = if self.info.option("credMgmt") == Some(true) {
                cmd::CRED_MGMT
            } else {
                cmd::CRED_MGMT_PRE
            };
            let params = Value::Map(vec![
                (cbor::int(0x01), cbor::int(0x01)),
                (cbor::int(0x03), cbor::int(token.protocol.number())),
                (cbor::int(0x04), token.param(&[0x01])),
            ]);
            let v = self.exchange(command, Some(params), deadline).await?;
            let used = cbor::get(&v, 0x01).and_then(cbor::as_u64);
            let remaining = cbor::get(&v, 0x02).and_then(cbor::as_u64);
            match (used, remaining) {
                (Some(used), Some(remaining)) => Ok(Some(CredentialSlots { used, remaining })),
                _ => Err(Fail::Invalid("getCredsMetadata returned no counts".into())),
            }
        }
        .await;
        result.map_err(Fail::into_error)
    }

    /// authenticatorSelection (CTAP 2.1): waits for a touch on this key. Keys before 2.1 count
    /// as selected at once.
    ///
    /// # Errors
    /// Cancel, timeout, CTAP failures.
    pub async fn wait_for_touch(&mut self, timeout: Duration) -> Result<(), AuthenticatorError> {
        if !self.info.is_ctap21() {
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        self.exchange(cmd::SELECTION, None, deadline)
            .await
            .map(|_| ())
            .map_err(Fail::into_error)
    }

    /// Creates a credential (CTAP 2.1 §6.1) with the client's full platform behaviour: fresh
    /// getInfo, algorithm filtering (C05), user verification by built-in UV or PIN with a PIN
    /// set first when needed (C07), exclude list within the key's limits (C06), discoverable
    /// by `choice`.
    ///
    /// # Errors
    /// Typed [`AuthenticatorError`]s; [`AuthenticatorError::CredentialExcluded`] when the key
    /// already holds a credential from the exclude list.
    pub async fn make_credential(
        &mut self,
        request: &MakeCredentialRequest,
        choice: Discoverable,
    ) -> Result<MakeCredentialResponse, AuthenticatorError> {
        self.make_credential_inner(request, choice)
            .await
            .map_err(Fail::into_error)
    }

    async fn make_credential_inner(
        &mut self,
        req: &MakeCredentialRequest,
        choice: Discoverable,
    ) -> Result<MakeCredentialResponse, Fail> {
        let deadline = Instant::now() + req.timeout;
        self.read_info(deadline).await?;
        let nfc = self.token.get_transport() == AuthenticatorTransport::Nfc;
        let algorithms = plan::algorithms(&req.algorithms, &self.info, nfc)?;
        let mut rk = plan::discoverable(&self.info, choice, req.resident_key)?;
        let uv = plan::uv_plan(&self.info, req.user_verification, rk)?;
        let rp = Some(req.rp_id.as_str());
        let perms = permission::MAKE_CREDENTIAL | permission::GET_ASSERTION;
        tracing::debug!(?uv, rk, algorithms = ?algorithms.first, "makeCredential plan");
        let mut auth = match uv {
            UvPlan::None | UvPlan::UvOption => None,
            UvPlan::Pin => Some(self.pin_token(perms, rp, deadline).await?),
            UvPlan::BuiltInUv => Some(self.uv_token(perms, rp, deadline).await?),
            UvPlan::SetPinThenPin => {
                let pin = self.new_pin_dialog(deadline).await?;
                Some(
                    self.token_with_pin(pin.expose(), perms, rp, deadline)
                        .await?,
                )
            }
        };

        let batches = plan::exclude_batches(&req.exclude_credentials, &self.info);
        let mut exclude = match batches.as_slice() {
            [] => Vec::new(),
            [only] => only.clone(),
            _ => Vec::new(),
        };
        let fits = |ex: &[Vec<u8>], auth: Option<&AuthToken>| {
            mc_request(req, &algorithms.first, ex, rk, uv, auth).len() <= self.info.msg_size()
        };
        if batches.len() > 1 || !fits(&exclude, auth.as_ref()) {
            exclude = self
                .preflight(req, &batches, auth.as_ref(), deadline)
                .await?
                .into_iter()
                .collect();
        }

        let mut algs = algorithms.first.clone();
        let mut fell_back = false;
        let mut renewed = false;
        loop {
            let params = mc_params(req, &algs, &exclude, rk, uv, auth.as_ref());
            match self
                .exchange(cmd::MAKE_CREDENTIAL, Some(params), deadline)
                .await
            {
                Ok(v) => return self.response(&v, &algs, rk),
                Err(Fail::Status(status::UNSUPPORTED_ALGORITHM | status::CBOR_UNEXPECTED_TYPE))
                    if !fell_back && algorithms.fallback.is_some() =>
                {
                    fell_back = true;
                    algs = algorithms.fallback.clone().unwrap_or_default();
                }
                // The key wants verification after all (a PIN set meanwhile, or a CTAP 2.0
                // key that always needs it), or the token went stale: get one, once.
                // "Stored on the key when it has room": a full key gets a passkey that is not
                // stored on it, unless the server or the person asked for a stored one.
                Err(Fail::Status(status::KEY_STORE_FULL))
                    if rk && choice == Discoverable::Auto && !req.resident_key =>
                {
                    tracing::info!("the key is full; creating a passkey not stored on it");
                    rk = false;
                }
                Err(Fail::Status(status::PUAT_REQUIRED | status::PIN_AUTH_INVALID))
                    if !renewed && self.info.client_pin() == Some(true) =>
                {
                    renewed = true;
                    auth = Some(self.pin_token(perms, rp, deadline).await?);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Silent getAssertion (`up=false`) per batch of excluded ids; returns the first id the
    /// key holds, so makeCredential can exclude exactly that one.
    async fn preflight(
        &mut self,
        req: &MakeCredentialRequest,
        batches: &[Vec<Vec<u8>>],
        auth: Option<&AuthToken>,
        deadline: Instant,
    ) -> Result<Option<Vec<u8>>, Fail> {
        for batch in batches {
            let mut params = vec![
                (cbor::int(0x01), cbor::text(&req.rp_id)),
                (cbor::int(0x02), cbor::bytes(&req.client_data_hash)),
                (cbor::int(0x03), descriptors(batch)),
                (
                    cbor::int(0x05),
                    Value::Map(vec![(cbor::text("up"), Value::Bool(false))]),
                ),
            ];
            if let Some(a) = auth {
                params.push((cbor::int(0x06), a.param(&req.client_data_hash)));
                params.push((cbor::int(0x07), cbor::int(a.protocol.number())));
            }
            match self
                .exchange(cmd::GET_ASSERTION, Some(Value::Map(params)), deadline)
                .await
            {
                Ok(v) => {
                    let id = cbor::get(&v, 0x01)
                        .and_then(|c| cbor::get_text(c, "id"))
                        .and_then(Value::as_bytes)
                        .cloned()
                        // A key answering for a one-id list may omit the credential.
                        .or_else(|| (batch.len() == 1).then(|| batch[0].clone()));
                    if id.is_some() {
                        return Ok(id);
                    }
                }
                Err(Fail::Status(status::NO_CREDENTIALS)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    fn response(
        &self,
        v: &Value,
        sent_algorithms: &[i64],
        rk: bool,
    ) -> Result<MakeCredentialResponse, Fail> {
        let fmt = cbor::get(v, 0x01)
            .filter(|f| f.is_text())
            .ok_or_else(|| Fail::Invalid("makeCredential returned no fmt".into()))?;
        let auth_data = cbor::get(v, 0x02)
            .filter(|a| a.as_bytes().is_some_and(|b| b.len() >= 37))
            .ok_or_else(|| Fail::Invalid("makeCredential returned no authData".into()))?;
        let att_stmt = cbor::get(v, 0x03)
            .filter(|a| a.is_map())
            .ok_or_else(|| Fail::Invalid("makeCredential returned no attStmt".into()))?;
        // The attestationObject (WebAuthn L3 §6.5) is the key's three members under their
        // text names, values byte for byte as the key sent them, keys in canonical order.
        let object = Value::Map(vec![
            (cbor::text("fmt"), fmt.clone()),
            (cbor::text("attStmt"), att_stmt.clone()),
            (cbor::text("authData"), auth_data.clone()),
        ]);
        let mut attestation_object = Vec::new();
        ciborium::into_writer(&object, &mut attestation_object)
            .map_err(|e| Fail::Invalid(e.to_string()))?;
        let parsed = passkeys_core::webauthn::parse_attestation_object(&attestation_object)
            .map_err(|e| Fail::Invalid(e.0))?;
        if let Some(alg) = parsed.alg {
            if !sent_algorithms.contains(&alg) {
                return Err(Fail::Invalid(format!(
                    "the key made a credential with algorithm {alg}, which was not requested"
                )));
            }
        }
        let transports = if self.info.transports.is_empty() {
            vec![transport_name(self.token.get_transport()).to_string()]
        } else {
            self.info.transports.clone()
        };
        Ok(MakeCredentialResponse {
            attestation_object,
            transports,
            attachment: Some("cross-platform".into()),
            discoverable: rk,
        })
    }
}

fn decrypt_token(shared: &pin::SharedSecret, v: &Value) -> Result<AuthToken, Fail> {
    let enc = cbor::get(v, 0x02)
        .and_then(Value::as_bytes)
        .ok_or_else(|| Fail::Invalid("the key returned no pinUvAuthToken".into()))?;
    let token = shared.decrypt(enc).map_err(Fail::Invalid)?;
    if token.len() != 16 && token.len() != 32 {
        return Err(Fail::Invalid("the pinUvAuthToken has an odd length".into()));
    }
    Ok(AuthToken {
        protocol: shared.protocol(),
        token,
    })
}

fn descriptors(ids: &[Vec<u8>]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| {
                Value::Map(vec![
                    (cbor::text("id"), cbor::bytes(id)),
                    (cbor::text("type"), cbor::text("public-key")),
                ])
            })
            .collect(),
    )
}

/// makeCredential parameters. `uv` goes in the options only for [`UvPlan::UvOption`]: never
/// together with pinUvAuthParam (C07 row 7).
fn mc_params(
    req: &MakeCredentialRequest,
    algorithms: &[i64],
    exclude: &[Vec<u8>],
    rk: bool,
    uv: UvPlan,
    auth: Option<&AuthToken>,
) -> Value {
    let mut rp = vec![(cbor::text("id"), cbor::text(&req.rp_id))];
    if !req.rp_name.is_empty() {
        rp.push((cbor::text("name"), cbor::text(&req.rp_name)));
    }
    let mut params = vec![
        (cbor::int(0x01), cbor::bytes(&req.client_data_hash)),
        (cbor::int(0x02), Value::Map(rp)),
        (
            cbor::int(0x03),
            Value::Map(vec![
                (cbor::text("id"), cbor::bytes(&req.user_id)),
                (cbor::text("name"), cbor::text(&req.user_name)),
                (
                    cbor::text("displayName"),
                    cbor::text(&req.user_display_name),
                ),
            ]),
        ),
        (
            cbor::int(0x04),
            Value::Array(
                algorithms
                    .iter()
                    .map(|alg| {
                        Value::Map(vec![
                            (cbor::text("alg"), cbor::int(*alg)),
                            (cbor::text("type"), cbor::text("public-key")),
                        ])
                    })
                    .collect(),
            ),
        ),
    ];
    if !exclude.is_empty() {
        params.push((cbor::int(0x05), descriptors(exclude)));
    }
    let mut options = Vec::new();
    if rk {
        options.push((cbor::text("rk"), Value::Bool(true)));
    }
    if uv == UvPlan::UvOption && auth.is_none() {
        options.push((cbor::text("uv"), Value::Bool(true)));
    }
    if !options.is_empty() {
        params.push((cbor::int(0x07), Value::Map(options)));
    }
    if let Some(a) = auth {
        params.push((cbor::int(0x08), a.param(&req.client_data_hash)));
        params.push((cbor::int(0x09), cbor::int(a.protocol.number())));
    }
    Value::Map(params)
}

/// The encoded makeCredential request (for size checks and tests).
fn mc_request(
    req: &MakeCredentialRequest,
    algorithms: &[i64],
    exclude: &[Vec<u8>],
    rk: bool,
    uv: UvPlan,
    auth: Option<&AuthToken>,
) -> Vec<u8> {
    cbor::request(
        cmd::MAKE_CREDENTIAL,
        Some(mc_params(req, algorithms, exclude, rk, uv, auth)),
    )
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
