//! authenticatorGetAssertion (CTAP 2.1 §6.2) for the passkey self-test, and the silent probe
//! that finds which attached key holds a passkey ("which key is this?").
//!
//! - The self-test sends the credential id in `allowList`, `up=true`, and user verification as
//!   for makeCredential: built-in UV or a PIN token with the `ga` permission (CTAP 2.1
//!   §6.5.5.7) through the engine's PIN dialog, or the CTAP 2.0 `uv` option.
//! - The probe sends `up=false` and no verification: the key answers with an assertion when it
//!   holds the credential, CTAP2_ERR_NO_CREDENTIALS otherwise, and asks nothing of the person.

use ciborium::Value;
use passkeys_core::authenticator::{AuthenticatorError, GetAssertionRequest, GetAssertionResponse};
use tokio::time::Instant;
use webauthn_authenticator_rs::transport::Token;

use crate::cbor;
use crate::device::{cmd, permission, Device, Fail};
use crate::plan::{self, UvPlan};
use crate::status;

impl<T: Token> Device<T> {
    /// Gets an assertion from one of `request.allow_credentials` (CTAP 2.1 §6.2).
    ///
    /// # Errors
    /// [`AuthenticatorError::NotFound`] when the key holds none of them
    /// (CTAP2_ERR_NO_CREDENTIALS); PIN, touch and transport failures as for makeCredential.
    pub async fn get_assertion(
        &mut self,
        request: &GetAssertionRequest,
    ) -> Result<GetAssertionResponse, AuthenticatorError> {
        self.get_assertion_inner(request)
            .await
            .map_err(Fail::into_error)
    }

    /// True when the key holds one of `credential_ids` for `rp_id`: a silent getAssertion
    /// (`up=false`, no PIN). Nothing is asked of the person.
    ///
    /// # Errors
    /// Transport failures and CTAP errors other than NO_CREDENTIALS.
    pub async fn holds(
        &mut self,
        rp_id: &str,
        credential_ids: &[Vec<u8>],
    ) -> Result<bool, AuthenticatorError> {
        let request = GetAssertionRequest {
            client_data_hash: passkeys_core::webauthn::sha256(b"passkeys: silent probe"),
            rp_id: rp_id.to_string(),
            allow_credentials: credential_ids.to_vec(),
            user_presence: false,
            user_verification: passkeys_core::webauthn::UserVerification::Discouraged,
            timeout: crate::device::QUICK,
        };
        match self.get_assertion(&request).await {
            Ok(_) => Ok(true),
            Err(AuthenticatorError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn get_assertion_inner(
        &mut self,
        req: &GetAssertionRequest,
    ) -> Result<GetAssertionResponse, Fail> {
        if req.allow_credentials.is_empty() {
            return Err(Fail::Final(AuthenticatorError::NotFound(
                "no passkey to look for".into(),
            )));
        }
        let deadline = Instant::now() + req.timeout;
        self.read_info(deadline).await?;
        let uv = if req.user_presence {
            plan::uv_plan(self.info(), req.user_verification, false)?
        } else {
            UvPlan::None
        };
        let rp = Some(req.rp_id.as_str());
        let mut auth = match uv {
            UvPlan::None | UvPlan::UvOption => None,
            UvPlan::Pin => Some(
                self.pin_token(permission::GET_ASSERTION, rp, deadline)
                    .await?,
            ),
            UvPlan::BuiltInUv => Some(
                self.uv_token(permission::GET_ASSERTION, rp, deadline)
                    .await?,
            ),
            UvPlan::SetPinThenPin => {
                return Err(Fail::Final(AuthenticatorError::PinNotSet(
                    "this security key has no PIN, so it cannot verify you for this passkey".into(),
                )))
            }
        };
        let mut renewed = false;
        loop {
            let mut options = vec![(cbor::text("up"), Value::Bool(req.user_presence))];
            if uv == UvPlan::UvOption && auth.is_none() {
                options.push((cbor::text("uv"), Value::Bool(true)));
            }
            let mut params = vec![
                (cbor::int(0x01), cbor::text(&req.rp_id)),
                (cbor::int(0x02), cbor::bytes(&req.client_data_hash)),
                (cbor::int(0x03), cbor::descriptors(&req.allow_credentials)),
                (cbor::int(0x05), Value::Map(options)),
            ];
            if let Some(a) = &auth {
                params.push((cbor::int(0x06), a.param(&req.client_data_hash)));
                params.push((cbor::int(0x07), cbor::int(a.protocol.number())));
            }
            match self
                .exchange(cmd::GET_ASSERTION, Some(Value::Map(params)), deadline)
                .await
            {
                Ok(v) => return assertion(&v),
                Err(Fail::Status(status::NO_CREDENTIALS)) => {
                    return Err(Fail::Final(AuthenticatorError::NotFound(
                        "this security key does not hold the passkey".into(),
                    )))
                }
                // The key wants verification after all, or the token went stale: once.
                Err(Fail::Status(status::PUAT_REQUIRED | status::PIN_AUTH_INVALID))
                    if req.user_presence && !renewed && self.info().client_pin() == Some(true) =>
                {
                    renewed = true;
                    auth = Some(
                        self.pin_token(permission::GET_ASSERTION, rp, deadline)
                            .await?,
                    );
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Reads the getAssertion reply (CTAP 2.1 §6.2.2): credential (0x01), authData (0x02),
/// signature (0x03).
fn assertion(v: &Value) -> Result<GetAssertionResponse, Fail> {
    let authenticator_data = cbor::get(v, 0x02)
        .and_then(Value::as_bytes)
        .filter(|a| a.len() >= 37)
        .cloned()
        .ok_or_else(|| Fail::Invalid("getAssertion returned no authData".into()))?;
    let signature = cbor::get(v, 0x03)
        .and_then(Value::as_bytes)
        .cloned()
        .ok_or_else(|| Fail::Invalid("getAssertion returned no signature".into()))?;
    let credential_id = cbor::get(v, 0x01)
        .and_then(|c| cbor::get_text(c, "id"))
        .and_then(Value::as_bytes)
        .cloned();
    Ok(GetAssertionResponse {
        credential_id,
        authenticator_data,
        signature,
    })
}

/// Which of `devices` holds the credential: a silent probe on each, in order. A key that fails
/// to answer is skipped (and logged), so one broken key does not hide the others.
///
/// # Errors
/// The first failure when no key holds it and at least one key could not be asked.
pub async fn find_holder<T: Token>(
    devices: &mut [Device<T>],
    rp_id: &str,
    credential_id: &[u8],
) -> Result<Option<usize>, AuthenticatorError> {
    let ids = [credential_id.to_vec()];
    let mut first_error = None;
    for (i, device) in devices.iter_mut().enumerate() {
        match device.holds(rp_id, &ids).await {
            Ok(true) => return Ok(Some(i)),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(
                    "a security key could not be asked whether it holds the passkey: {e}"
                );
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(None),
    }
}
