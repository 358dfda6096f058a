//! authenticatorMakeCredential (CTAP 2.1 §6.1) with the client's platform behaviour, and its
//! CBOR request builders.

use ciborium::Value;
use passkeys_core::authenticator::{
    AuthenticatorError, MakeCredentialRequest, MakeCredentialResponse,
};
use tokio::time::Instant;
use webauthn_authenticator_rs::transport::Token;
use webauthn_rs_proto::AuthenticatorTransport;

use crate::cbor;
use crate::device::{cmd, permission, transport_name, AuthToken, Device, Fail};
use crate::plan::{self, Discoverable, UvPlan};
use crate::status;

impl<T: Token> Device<T> {
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
        let nfc = self.transport() == AuthenticatorTransport::Nfc;
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
                (cbor::int(0x03), cbor::descriptors(batch)),
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
            vec![transport_name(self.transport()).to_string()]
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
        params.push((cbor::int(0x05), cbor::descriptors(exclude)));
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
