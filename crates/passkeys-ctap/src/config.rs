//! authenticatorConfig (CTAP 2.1 §6.11, pinUvAuthToken with the `acfg` permission): toggle
//! alwaysUv, raise the minimum PIN length, force a PIN change. Only on keys whose getInfo lists
//! `authnrCfg`.

use ciborium::Value;
use passkeys_core::authenticator::AuthenticatorError;
use tokio::time::Instant;
use webauthn_authenticator_rs::transport::Token;

use crate::cbor;
use crate::device::{Device, Fail, INTERACTIVE};
use crate::status;

/// authenticatorConfig.
pub const CMD_CONFIG: u8 = 0x0D;
/// pinUvAuthToken permission `acfg`.
pub const PERMISSION_ACFG: u8 = 0x20;

const TOGGLE_ALWAYS_UV: u8 = 0x02;
const SET_MIN_PIN_LENGTH: u8 = 0x03;

/// What a config change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ConfigOutcome {
    /// The key changed.
    Changed,
    /// The key was already so; nothing sent.
    AlreadySo,
}

impl<T: Token> Device<T> {
    fn require_config(&self) -> Result<(), AuthenticatorError> {
        if self.info().option("authnrCfg") == Some(true) {
            Ok(())
        } else {
            Err(AuthenticatorError::NotSupported(
                "this key does not offer CTAP 2.1 configuration (authenticatorConfig)".into(),
            ))
        }
    }

    async fn config_call(&mut self, sub: u8, params: Option<Value>) -> Result<(), Fail> {
        let deadline = Instant::now() + INTERACTIVE;
        let mut map = vec![(cbor::int(0x01), cbor::int(i64::from(sub)))];
        // pinUvAuthParam = authenticate(token, 32×0xff ‖ 0x0d ‖ uint8(subCommand) ‖ params).
        let mut message = vec![0xff; 32];
        message.push(CMD_CONFIG);
        message.push(sub);
        if let Some(p) = params {
            message.extend_from_slice(&cbor::encode(&p));
            map.push((cbor::int(0x02), p));
        }
        // A key without any user verification configured takes the command without a token.
        let protected = self.info().client_pin() == Some(true) || self.info().builtin_uv_ready();
        if !protected {
            return self
                .exchange(CMD_CONFIG, Some(Value::Map(map)), deadline)
                .await
                .map(|_| ());
        }
        let mut token = crate::manage::management_token(self, PERMISSION_ACFG, deadline).await?;
        let mut result = self.send_config(&map, &message, &token, deadline).await;
        if crate::manage::renew_refused_token(self, &mut token, PERMISSION_ACFG, deadline, &result)
            .await?
        {
            result = self.send_config(&map, &message, &token, deadline).await;
        }
        result.map(|_| ())
    }

    async fn send_config(
        &mut self,
        map: &[(Value, Value)],
        message: &[u8],
        token: &crate::device::AuthToken,
        deadline: Instant,
    ) -> Result<Value, Fail> {
        let mut with_token = map.to_vec();
        with_token.push((cbor::int(0x03), cbor::int(token.protocol.number())));
        with_token.push((cbor::int(0x04), token.param(message)));
        self.exchange(CMD_CONFIG, Some(Value::Map(with_token)), deadline)
            .await
    }

    /// Turns alwaysUv on or off (toggleAlwaysUv, sent only when the state differs).
    ///
    /// # Errors
    /// No authenticatorConfig or no alwaysUv on this key; PIN and CTAP failures.
    pub async fn set_always_uv(&mut self, on: bool) -> Result<ConfigOutcome, AuthenticatorError> {
        self.refresh_info().await?;
        self.require_config()?;
        let Some(current) = self.info().option("alwaysUv") else {
            return Err(AuthenticatorError::NotSupported(
                "this key has no alwaysUv setting".into(),
            ));
        };
        if current == on {
            return Ok(ConfigOutcome::AlreadySo);
        }
        self.config_call(TOGGLE_ALWAYS_UV, None)
            .await
            .map_err(explain)?;
        self.refresh_info().await?;
        Ok(ConfigOutcome::Changed)
    }

    /// Raises the minimum PIN length (it can never be lowered short of a reset) and/or forces a
    /// PIN change at the next use (setMinPINLength).
    ///
    /// # Errors
    /// A length below the current one or above 63; no setMinPINLength; PIN and CTAP failures.
    pub async fn set_min_pin_length(
        &mut self,
        length: Option<u64>,
        force_change: bool,
    ) -> Result<ConfigOutcome, AuthenticatorError> {
        self.refresh_info().await?;
        self.require_config()?;
        if self.info().option("setMinPINLength") != Some(true) {
            return Err(AuthenticatorError::NotSupported(
                "this key cannot change its minimum PIN length".into(),
            ));
        }
        let current = self.info().min_pin_len() as u64;
        let mut params = Vec::new();
        if let Some(n) = length {
            if n < current {
                return Err(AuthenticatorError::PinPolicy(format!(
                    "the minimum PIN length can only be raised (it is {current}); only a reset lowers it"
                )));
            }
            if n > 63 {
                return Err(AuthenticatorError::PinPolicy(
                    "a PIN can have at most 63 bytes".into(),
                ));
            }
            if n > current {
                params.push((cbor::int(0x01), cbor::int(n as i64)));
            }
        }
        if force_change {
            if self.info().client_pin() != Some(true) {
                return Err(AuthenticatorError::PinNotSet(
                    "a PIN change can only be forced on a key with a PIN".into(),
                ));
            }
            params.push((cbor::int(0x03), Value::Bool(true)));
        }
        if params.is_empty() {
            return Ok(ConfigOutcome::AlreadySo);
        }
        self.config_call(SET_MIN_PIN_LENGTH, Some(Value::Map(params)))
            .await
            .map_err(explain)?;
        self.refresh_info().await?;
        Ok(ConfigOutcome::Changed)
    }
}

fn explain(e: Fail) -> AuthenticatorError {
    match e {
        Fail::Status(status::PIN_POLICY_VIOLATION) => AuthenticatorError::PinPolicy(
            "the key refused the new minimum PIN length (it can only be raised)".into(),
        ),
        Fail::Status(status::OPERATION_DENIED) => AuthenticatorError::Device(
            "the key refused this configuration change (alwaysUv may be fixed on by its vendor)"
                .into(),
        ),
        other => other.into_error(),
    }
}
