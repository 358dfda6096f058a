//! Client PIN and user verification (CTAP 2.1 §6.5 authenticatorClientPIN): PIN and UV
//! retries, key agreement, setting and changing the PIN, pinUvAuthTokens from the PIN or from
//! built-in UV, the forced PIN change, the new-PIN dialog, credential slots and
//! authenticatorSelection (wait for a touch).

use std::time::Duration;

use ciborium::Value;
use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::prompt::{check_new_pin, PinRequest, PromptNotice, MAX_PIN_BYTES};
use passkeys_core::Secret;
use tokio::time::Instant;
use webauthn_authenticator_rs::transport::Token;

use crate::cbor;
use crate::device::{cmd, AuthToken, CredentialSlots, Device, Fail, QUICK};
use crate::pin::{self, Protocol};
use crate::status;

/// Rejected PINs (local rules or the key's policy) before giving up, so a prompt that keeps
/// returning the same bad PIN (an environment variable) cannot loop.
const MAX_REJECTED: usize = 5;

impl<T: Token> Device<T> {
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

    /// setPIN (subcommand 0x03) when `old_pin` is `None`, else changePIN (0x04): the new PIN
    /// padded and encrypted, the old one as an encrypted hash, pinUvAuthParam over
    /// `newPinEnc` (‖ `pinHashEnc` for changePIN) (CTAP 2.1 §6.5.5.5–6.5.5.6).
    async fn send_pin(
        &mut self,
        old_pin: Option<&str>,
        new_pin: &str,
        deadline: Instant,
    ) -> Result<(), Fail> {
        let protocol = self.protocol()?;
        let a = self.agreement(protocol, deadline).await?;
        let pin_hash_enc = old_pin
            .map(|old| a.shared.encrypt(&pin::pin_hash(old)))
            .transpose()
            .map_err(Fail::Invalid)?;
        let new_pin_enc = a
            .shared
            .encrypt(&pin::padded_pin(new_pin))
            .map_err(Fail::Invalid)?;
        let (subcommand, param) = match &pin_hash_enc {
            None => (0x03, a.shared.authenticate(&new_pin_enc)),
            Some(hash) => (
                0x04,
                a.shared
                    .authenticate(&[new_pin_enc.as_slice(), hash].concat()),
            ),
        };
        let mut params = vec![
            (0x01, cbor::int(protocol.number())),
            (0x02, cbor::int(subcommand)),
            (0x03, a.platform_key),
            (0x04, cbor::bytes(&param)),
            (0x05, cbor::bytes(&new_pin_enc)),
        ];
        if let Some(hash) = &pin_hash_enc {
            params.push((0x06, cbor::bytes(hash)));
        }
        self.client_pin(params, deadline).await?;
        // The key drops its pinUvAuthTokens when its PIN is set or changed.
        self.forget_token();
        Ok(())
    }

    pub(crate) async fn token_with_pin(
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
                    .send_pin(Some(current.expose()), new_pin.expose(), deadline)
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
    pub(crate) async fn new_pin_dialog(&mut self, deadline: Instant) -> Result<Secret, Fail> {
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
                Ok(()) => match self.send_pin(None, pin.expose(), deadline).await {
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
        self.send_pin(None, new_pin.expose(), deadline)
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
                .send_pin(Some(current.expose()), new_pin.expose(), deadline)
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
        let mut cm = self.credential_manager().await?;
        cm.metadata().await.map(Some)
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
        cached: false,
    })
}
