//! Discoverable credentials on a key (CTAP 2.1 §6.8 authenticatorCredentialManagement, with a
//! pinUvAuthToken carrying the `cm` permission): list grouped by relying party, and delete. The
//! records are neutral; what a credential means to an account is the service layer's business
//! (`passkeys_service::key_ops`).
//!
//! A [`CredentialManager`] holds one token, so listing and then deleting asks for the PIN once.

use ciborium::Value;
use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::b64;
use serde::Serialize;
use tokio::time::Instant;
use webauthn_authenticator_rs::transport::Token;

use crate::cbor;
use crate::device::{cmd, permission, AuthToken, CredentialSlots, Device, Fail, INTERACTIVE};
use crate::status;

/// One discoverable credential on the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StoredCredential {
    /// Credential id, base64url without padding (what `passkeys key credentials delete` takes).
    pub id: String,
    /// Credential id bytes.
    #[serde(skip)]
    pub id_bytes: Vec<u8>,
    /// user.id, base64url.
    pub user_id: String,
    /// user.id bytes.
    #[serde(skip)]
    pub user_id_bytes: Vec<u8>,
    /// user.name, if stored.
    pub user_name: Option<String>,
    /// user.displayName, if stored.
    pub user_display_name: Option<String>,
    /// credProtect level, if reported.
    pub cred_protect: Option<u64>,
}

/// The credentials of one relying party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelyingParty {
    /// rp.id (empty when the key did not return it).
    pub rp_id: String,
    /// rp.name, if stored.
    pub name: Option<String>,
    /// SHA-256 of the rp id, hex.
    pub rp_id_hash: String,
    /// Its credentials.
    pub credentials: Vec<StoredCredential>,
}

/// Credential management with one pinUvAuthToken.
pub struct CredentialManager<'a, T: Token> {
    device: &'a mut Device<T>,
    token: AuthToken,
    command: u8,
    deadline: Instant,
}

impl<T: Token> std::fmt::Debug for CredentialManager<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialManager")
    }
}

/// CTAP2_ERR_INVALID_CREDENTIAL.
const INVALID_CREDENTIAL: u8 = 0x22;
const GET_CREDS_METADATA: u8 = 0x01;
const ENUMERATE_RPS_BEGIN: u8 = 0x02;
const ENUMERATE_RPS_NEXT: u8 = 0x03;
const ENUMERATE_CREDENTIALS_BEGIN: u8 = 0x04;
const ENUMERATE_CREDENTIALS_NEXT: u8 = 0x05;
const DELETE_CREDENTIAL: u8 = 0x06;

impl<T: Token> Device<T> {
    /// Starts credential management: asks for the PIN (or built-in UV) once.
    ///
    /// # Errors
    /// No credential management on this key, no PIN set, PIN failures.
    pub async fn credential_manager(
        &mut self,
    ) -> Result<CredentialManager<'_, T>, AuthenticatorError> {
        self.refresh_info().await?;
        if !self.info().cred_mgmt() {
            return Err(AuthenticatorError::NotSupported(
                "this key cannot list or delete the passkeys stored on it (no credential management)".into(),
            ));
        }
        let command = if self.info().option("credMgmt") == Some(true) {
            cmd::CRED_MGMT
        } else {
            cmd::CRED_MGMT_PRE
        };
        let deadline = Instant::now() + INTERACTIVE;
        let token =
            crate::manage::management_token(self, permission::CREDENTIAL_MANAGEMENT, deadline)
                .await
                .map_err(Fail::into_error)?;
        Ok(CredentialManager {
            device: self,
            token,
            command,
            deadline,
        })
    }
}

impl<T: Token> CredentialManager<'_, T> {
    /// One command; with `auth`, a stale kept token is replaced once (asking for the PIN).
    async fn call(&mut self, sub: u8, params: Option<Value>, auth: bool) -> Result<Value, Fail> {
        let result = self.call_once(sub, params.clone(), auth).await;
        if auth
            && crate::manage::renew_refused_token(
                self.device,
                &mut self.token,
                permission::CREDENTIAL_MANAGEMENT,
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
        let mut map = vec![(cbor::int(0x01), cbor::int(i64::from(sub)))];
        let mut message = vec![sub];
        if let Some(p) = params {
            message.extend_from_slice(&cbor::encode(&p));
            map.push((cbor::int(0x02), p));
        }
        if auth {
            map.push((cbor::int(0x03), cbor::int(self.token.protocol.number())));
            map.push((cbor::int(0x04), self.token.param(&message)));
        }
        self.device
            .exchange(self.command, Some(Value::Map(map)), self.deadline)
            .await
    }

    /// Stored / remaining slots (getCredsMetadata).
    ///
    /// # Errors
    /// CTAP failures.
    pub async fn metadata(&mut self) -> Result<CredentialSlots, AuthenticatorError> {
        let v = self
            .call(GET_CREDS_METADATA, None, true)
            .await
            .map_err(Fail::into_error)?;
        match (
            cbor::get(&v, 0x01).and_then(cbor::as_u64),
            cbor::get(&v, 0x02).and_then(cbor::as_u64),
        ) {
            (Some(used), Some(remaining)) => Ok(CredentialSlots { used, remaining }),
            _ => Err(AuthenticatorError::InvalidResponse(
                "getCredsMetadata returned no counts".into(),
            )),
        }
    }

    /// Every discoverable credential, grouped by relying party.
    ///
    /// # Errors
    /// CTAP failures.
    pub async fn list(&mut self) -> Result<Vec<RelyingParty>, AuthenticatorError> {
        self.list_inner().await.map_err(Fail::into_error)
    }

    async fn list_inner(&mut self) -> Result<Vec<RelyingParty>, Fail> {
        let first = match self.call(ENUMERATE_RPS_BEGIN, None, true).await {
            Ok(v) => v,
            Err(Fail::Status(status::NO_CREDENTIALS)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let total = bounded_total(cbor::get(&first, 0x05), "relying parties")?;
        // Some keys answer an empty key with success and no RP (or totalRPs 0).
        if total == 0 || cbor::get(&first, 0x04).is_none() {
            return Ok(Vec::new());
        }
        let mut rps = vec![rp_from(&first)?];
        for _ in 1..total {
            let v = self.call(ENUMERATE_RPS_NEXT, None, false).await?;
            rps.push(rp_from(&v)?);
        }
        let mut out = Vec::new();
        for (rp_id, name, hash) in rps {
            let params = Value::Map(vec![(cbor::int(0x01), cbor::bytes(&hash))]);
            let first = match self
                .call(ENUMERATE_CREDENTIALS_BEGIN, Some(params), true)
                .await
            {
                Ok(v) => v,
                Err(Fail::Status(status::NO_CREDENTIALS)) => continue,
                Err(e) => return Err(e),
            };
            let total = bounded_total(cbor::get(&first, 0x09), "passkeys for one site")?;
            if total == 0 || cbor::get(&first, 0x07).is_none() {
                continue;
            }
            let mut credentials = vec![credential_from(&first)?];
            for _ in 1..total {
                let v = self.call(ENUMERATE_CREDENTIALS_NEXT, None, false).await?;
                credentials.push(credential_from(&v)?);
            }
            out.push(RelyingParty {
                rp_id,
                name,
                rp_id_hash: hex(&hash),
                credentials,
            });
        }
        Ok(out)
    }

    /// Deletes one credential by id. This cannot be undone: the passkey stops working for
    /// every site that knows it.
    ///
    /// # Errors
    /// NO_CREDENTIALS when the key does not hold it; CTAP failures.
    pub async fn delete(&mut self, credential_id: &[u8]) -> Result<(), AuthenticatorError> {
        let params = Value::Map(vec![(
            cbor::int(0x02),
            Value::Map(vec![
                (cbor::text("id"), cbor::bytes(credential_id)),
                (cbor::text("type"), cbor::text("public-key")),
            ]),
        )]);
        match self.call(DELETE_CREDENTIAL, Some(params), true).await {
            Ok(_) => Ok(()),
            // NO_CREDENTIALS per CTAP 2.1; some firmware (Trussed) answers INVALID_CREDENTIAL.
            Err(Fail::Status(status::NO_CREDENTIALS | INVALID_CREDENTIAL)) => {
                Err(AuthenticatorError::NotFound(
                    "this key holds no passkey with that id (list the key's passkeys for their ids)"
                        .into(),
                ))
            }
            Err(e) => Err(e.into_error()),
        }
    }
}

/// totalRPs / totalCredentials: how many more requests to send. A key's word sizes a loop, so
/// a count no key can hold is refused (issue 12 item 10).
fn bounded_total(v: Option<&Value>, what: &str) -> Result<u64, Fail> {
    let Some(v) = v else { return Ok(1) };
    let max = crate::info::MAX_STORED_CREDENTIALS;
    match cbor::as_u64(v) {
        Some(n) if n <= max => Ok(n),
        _ => Err(Fail::Invalid(format!(
            "the key says it stores more than {max} {what}, more than any security key can hold; its answer is not usable"
        ))),
    }
}

fn rp_from(v: &Value) -> Result<(String, Option<String>, Vec<u8>), Fail> {
    let rp = cbor::get(v, 0x03);
    let id = rp
        .and_then(|r| cbor::get_text(r, "id"))
        .and_then(Value::as_text)
        .unwrap_or_default()
        .to_string();
    let name = rp
        .and_then(|r| cbor::get_text(r, "name"))
        .and_then(Value::as_text)
        .map(str::to_string);
    let hash = cbor::get(v, 0x04)
        .and_then(Value::as_bytes)
        .cloned()
        .ok_or_else(|| Fail::Invalid("enumerateRPs returned no rpIDHash".into()))?;
    Ok((id, name, hash))
}

fn credential_from(v: &Value) -> Result<StoredCredential, Fail> {
    let user = cbor::get(v, 0x06);
    let user_text = |k: &str| {
        user.and_then(|u| cbor::get_text(u, k))
            .and_then(Value::as_text)
            .map(str::to_string)
    };
    let user_id = user
        .and_then(|u| cbor::get_text(u, "id"))
        .and_then(Value::as_bytes)
        .cloned()
        .unwrap_or_default();
    let id = cbor::get(v, 0x07)
        .and_then(|c| cbor::get_text(c, "id"))
        .and_then(Value::as_bytes)
        .cloned()
        .ok_or_else(|| Fail::Invalid("enumerateCredentials returned no credential id".into()))?;
    Ok(StoredCredential {
        id: b64::url_nopad(&id),
        id_bytes: id,
        user_id: b64::url_nopad(&user_id),
        user_id_bytes: user_id,
        user_name: user_text("name"),
        user_display_name: user_text("displayName"),
        cred_protect: cbor::get(v, 0x0A).and_then(cbor::as_u64),
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses a credential id as given on the command line: base64url (with or without padding).
///
/// # Errors
/// When it is not base64url.
pub fn parse_credential_id(s: &str) -> Result<Vec<u8>, String> {
    b64::decode_lenient(s.trim())
        .ok()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            format!("{s:?} is not a credential id (base64url, as the key's passkey list shows it)")
        })
}
