//! Fingerprints (CTAP 2.1 §6.7 authenticatorBioEnrollment, with a pinUvAuthToken carrying the
//! `be` permission): list, enroll with live progress, rename, remove.
//!
//! The virtual Trussed key has no fingerprint reader: this module is tested with a scripted key
//! only (wire format and the enrollment loop).

use ciborium::Value;
use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::b64;
use serde::Serialize;
use tokio::time::Instant;
use webauthn_authenticator_rs::transport::Token;

use crate::cbor;
use crate::device::{AuthToken, Device, Fail, INTERACTIVE};
use crate::status;

/// authenticatorBioEnrollment.
pub const CMD_BIO: u8 = 0x09;
/// authenticatorBioEnrollment, CTAP 2.1-PRE (vendor prototype).
pub const CMD_BIO_PRE: u8 = 0x40;
/// pinUvAuthToken permission `be`.
pub const PERMISSION_BE: u8 = 0x08;
/// Most fingerprint samples one enrollment may take (a key that never says done is stopped).
const MAX_SAMPLES: u32 = 64;
/// Modality: fingerprint.
const FINGERPRINT: u8 = 0x01;

const ENROLL_BEGIN: u8 = 0x01;
const ENROLL_CAPTURE_NEXT: u8 = 0x02;
const CANCEL_ENROLLMENT: u8 = 0x03;
const ENUMERATE: u8 = 0x04;
const SET_NAME: u8 = 0x05;
const REMOVE: u8 = 0x06;

/// A fingerprint template on the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Fingerprint {
    /// templateId, base64url (what `rename` and `remove` take).
    pub id: String,
    /// templateId bytes.
    #[serde(skip)]
    pub id_bytes: Vec<u8>,
    /// Its friendly name, if any.
    pub name: Option<String>,
}

/// One step of an enrollment, for live progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// lastEnrollSampleStatus (0 = good).
    pub status: u8,
    /// What it means for the person.
    pub feedback: &'static str,
    /// Samples still needed.
    pub remaining: u64,
}

/// What a lastEnrollSampleStatus means (CTAP 2.1 §6.7.4).
pub fn sample_feedback(status: u8) -> &'static str {
    match status {
        0x00 => "good sample",
        0x01 => "finger too high: move it down",
        0x02 => "finger too low: move it up",
        0x03 => "finger too far left: move it right",
        0x04 => "finger too far right: move it left",
        0x05 => "too fast: go slower",
        0x06 => "too slow: go faster",
        0x07 => "poor quality: try again",
        0x08 => "finger too skewed: lay it flat",
        0x09 => "too short: keep the finger on longer",
        0x0A => "could not merge the sample: try again",
        0x0B => "this fingerprint is already enrolled",
        0x0D => "no finger detected: touch the sensor",
        0x0E => "lift the finger and touch again",
        _ => "sample not accepted: try again",
    }
}

/// Fingerprint management with one pinUvAuthToken.
pub struct BioManager<'a, T: Token> {
    device: &'a mut Device<T>,
    token: AuthToken,
    command: u8,
    deadline: Instant,
}

impl<T: Token> std::fmt::Debug for BioManager<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BioManager")
    }
}

impl<T: Token> Device<T> {
    /// Starts fingerprint management: asks for the PIN once (a `be` token must come from the PIN).
    ///
    /// # Errors
    /// No fingerprint reader, no PIN set, PIN failures.
    pub async fn bio_manager(&mut self) -> Result<BioManager<'_, T>, AuthenticatorError> {
        self.refresh_info().await?;
        let command = if self.info().option("bioEnroll").is_some() {
            CMD_BIO
        } else if self.info().option("userVerificationMgmtPreview").is_some() {
            CMD_BIO_PRE
        } else {
            return Err(AuthenticatorError::NotSupported(
                "this key has no fingerprint reader".into(),
            ));
        };
        if self.info().client_pin() != Some(true) {
            return Err(AuthenticatorError::PinNotSet(
                "fingerprints need a PIN on the key first".into(),
            ));
        }
        let deadline = Instant::now() + INTERACTIVE;
        let token = if self.tokens.is_some() {
            // The visit's token (from the PIN when it carries `be`; see manage::visit_permissions).
            crate::manage::management_token(self, PERMISSION_BE, deadline).await
        } else {
            self.pin_token(PERMISSION_BE, None, deadline).await
        }
        .map_err(Fail::into_error)?;
        Ok(BioManager {
            device: self,
            token,
            command,
            deadline,
        })
    }
}

impl<T: Token> BioManager<'_, T> {
    /// One command; with `auth`, a stale kept token is replaced once (asking for the PIN).
    async fn call(&mut self, sub: u8, params: Option<Value>, auth: bool) -> Result<Value, Fail> {
        let result = self.call_once(sub, params.clone(), auth).await;
        if auth
            && crate::manage::renew_refused_token(
                self.device,
                &mut self.token,
                PERMISSION_BE,
                self.deadline,
                &result,
            )
            .await?
        {
            return self.call_once(sub, params, auth).await;
        }
        result
    }

    async fn call_once(
        &mut self,
        sub: u8,
        params: Option<Value>,
        auth: bool,
    ) -> Result<Value, Fail> {
        let mut map = vec![
            (cbor::int(0x01), cbor::int(i64::from(FINGERPRINT))),
            (cbor::int(0x02), cbor::int(i64::from(sub))),
        ];
        let mut message = vec![FINGERPRINT, sub];
        if let Some(p) = params {
            message.extend_from_slice(&cbor::encode(&p));
            map.push((cbor::int(0x03), p));
        }
        if auth {
            map.push((cbor::int(0x04), cbor::int(self.token.protocol.number())));
            map.push((cbor::int(0x05), self.token.param(&message)));
        }
        self.device
            .exchange(self.command, Some(Value::Map(map)), self.deadline)
            .await
    }

    /// The enrolled fingerprints.
    ///
    /// # Errors
    /// CTAP failures.
    pub async fn list(&mut self) -> Result<Vec<Fingerprint>, AuthenticatorError> {
        let v = match self.call(ENUMERATE, None, true).await {
            Ok(v) => v,
            // No templates: INVALID_OPTION in CTAP 2.1 (§6.7.6), some keys NO_CREDENTIALS.
            Err(Fail::Status(status::INVALID_OPTION | status::NO_CREDENTIALS)) => {
                return Ok(Vec::new())
            }
            Err(e) => return Err(e.into_error()),
        };
        Ok(cbor::get(&v, 0x07)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| {
                        let id = cbor::get(t, 0x01)?.as_bytes()?.clone();
                        Some(Fingerprint {
                            id: b64::url_nopad(&id),
                            id_bytes: id,
                            name: cbor::get(t, 0x02)
                                .and_then(Value::as_text)
                                .map(str::to_string),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Enrolls a fingerprint, calling `progress` after every sample; names it when `name` is
    /// given. Ask the person to touch the sensor before calling (the key waits for a finger).
    ///
    /// # Errors
    /// Timeout (no finger), Cancel (the enrollment is cancelled on the key), CTAP failures.
    pub async fn enroll(
        &mut self,
        name: Option<&str>,
        mut progress: impl FnMut(&Sample),
    ) -> Result<Fingerprint, AuthenticatorError> {
        let first = self.call(ENROLL_BEGIN, None, true).await.map_err(explain)?;
        let id = cbor::get(&first, 0x04)
            .and_then(Value::as_bytes)
            .cloned()
            .ok_or_else(|| {
                AuthenticatorError::InvalidResponse("enrollBegin returned no templateId".into())
            })?;
        let mut reply = first;
        // Real sensors need 3 to 20 touches; a key that never says "done" stops here.
        let mut samples = 0u32;
        loop {
            samples += 1;
            if samples > MAX_SAMPLES {
                return Err(AuthenticatorError::InvalidResponse(format!(
                    "the key asked for more than {MAX_SAMPLES} fingerprint samples; enrollment stopped"
                )));
            }
            let status = cbor::get(&reply, 0x05)
                .and_then(cbor::as_u64)
                .and_then(|s| u8::try_from(s).ok())
                .unwrap_or(0);
            let remaining = cbor::get(&reply, 0x06).and_then(cbor::as_u64).unwrap_or(0);
            progress(&Sample {
                status,
                feedback: sample_feedback(status),
                remaining,
            });
            if remaining == 0 {
                break;
            }
            let params = Value::Map(vec![(cbor::int(0x01), cbor::bytes(&id))]);
            reply = match self.call(ENROLL_CAPTURE_NEXT, Some(params), true).await {
                Ok(v) => v,
                Err(e) => {
                    // Leave the key clean: cancel the half-done enrollment (best effort; after a
                    // timeout or Cancel the channel is closed anyway).
                    let _ = self.call(CANCEL_ENROLLMENT, None, false).await;
                    return Err(explain(e));
                }
            };
        }
        if let Some(n) = name {
            self.rename(&id, n).await?;
        }
        Ok(Fingerprint {
            id: b64::url_nopad(&id),
            id_bytes: id,
            name: name.map(str::to_string),
        })
    }

    /// Renames a fingerprint.
    ///
    /// # Errors
    /// Unknown template, CTAP failures.
    pub async fn rename(&mut self, id: &[u8], name: &str) -> Result<(), AuthenticatorError> {
        if name.is_empty() || name.len() > 64 {
            return Err(AuthenticatorError::Device(
                "a fingerprint name needs 1 to 64 bytes (many keys take only 15)".into(),
            ));
        }
        let params = Value::Map(vec![
            (cbor::int(0x01), cbor::bytes(id)),
            (cbor::int(0x02), cbor::text(name)),
        ]);
        self.call(SET_NAME, Some(params), true)
            .await
            .map(|_| ())
            .map_err(explain)
    }

    /// Removes a fingerprint.
    ///
    /// # Errors
    /// Unknown template, CTAP failures.
    pub async fn remove(&mut self, id: &[u8]) -> Result<(), AuthenticatorError> {
        let params = Value::Map(vec![(cbor::int(0x01), cbor::bytes(id))]);
        self.call(REMOVE, Some(params), true)
            .await
            .map(|_| ())
            .map_err(explain)
    }
}

fn explain(e: Fail) -> AuthenticatorError {
    match e {
        Fail::Status(status::INVALID_OPTION | status::NO_CREDENTIALS) => {
            AuthenticatorError::NotFound(
                "this key has no fingerprint with that id (list the key's fingerprints for their ids)"
                    .into(),
            )
        }
        Fail::Status(status::USER_ACTION_TIMEOUT) => AuthenticatorError::Device(
            "no finger on the sensor in time; the enrollment was stopped".into(),
        ),
        Fail::Status(status::KEY_STORE_FULL) => AuthenticatorError::Device(
            "the key has no room for another fingerprint; remove one first".into(),
        ),
        other => other.into_error(),
    }
}
