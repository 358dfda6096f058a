//! Decoding the server's `PublicKeyCredentialCreationOptions` (WebAuthn L3 §5.4; ZITADEL
//! contract §2).

use serde::{Deserialize, Serialize};

use crate::b64;
use crate::error::options::malformed;
use crate::error::OptionsError;

pub use crate::authenticator::UserVerification;

/// `residentKey` (WebAuthn L3 §5.4.6). Absent means `discouraged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResidentKey {
    /// `required`.
    Required,
    /// `preferred`.
    Preferred,
    /// `discouraged`.
    Discouraged,
}

/// Decoded `PublicKeyCredentialCreationOptions` (WebAuthn L3 §5.4), binary members as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreationOptions {
    /// `rp.id`.
    pub rp_id: String,
    /// `rp.name`.
    pub rp_name: String,
    /// `user.id` bytes (for ZITADEL: the ASCII bytes of the user id).
    pub user_id: Vec<u8>,
    /// `user.name`.
    pub user_name: String,
    /// `user.displayName`.
    pub user_display_name: String,
    /// `challenge` exactly as sent (the string goes into clientDataJSON unchanged).
    pub challenge: String,
    /// `challenge` decoded.
    pub challenge_bytes: Vec<u8>,
    /// COSE algorithm identifiers of `pubKeyCredParams` entries of type `public-key`, RP order.
    pub algorithms: Vec<i64>,
    /// `timeout` in milliseconds, if sent.
    pub timeout_ms: Option<u64>,
    /// `excludeCredentials[].id` bytes (type `public-key` only). Empty when absent.
    pub exclude_credentials: Vec<Vec<u8>>,
    /// `authenticatorSelection.userVerification`.
    pub user_verification: UserVerification,
    /// `authenticatorSelection.residentKey` / `requireResidentKey`.
    pub resident_key: ResidentKey,
    /// `authenticatorSelection.authenticatorAttachment`, if any.
    pub authenticator_attachment: Option<String>,
    /// `attestation` conveyance preference (`none` if absent).
    pub attestation: String,
}

#[derive(Deserialize)]
struct RawWrapper {
    #[serde(rename = "publicKey")]
    public_key: Option<serde_json::Value>,
}

fn str_member<'a>(
    v: &'a serde_json::Value,
    path: &str,
    key: &str,
) -> Result<&'a str, OptionsError> {
    match v.get(key) {
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(_) => Err(malformed(&format!("{path}.{key}"), "is not a string")),
        None => Err(malformed(&format!("{path}.{key}"), "is missing")),
    }
}

fn bin_member(
    v: &serde_json::Value,
    path: &str,
    key: &str,
) -> Result<(String, Vec<u8>), OptionsError> {
    let s = str_member(v, path, key)?;
    let bytes =
        b64::decode_lenient(s).map_err(|e| malformed(&format!("{path}.{key}"), e.to_string()))?;
    Ok((s.to_string(), bytes))
}

impl CreationOptions {
    /// Decodes the `key.publicKey` value of an AddMyPasswordless reply: standard (or URL-safe)
    /// base64 of the JSON `{"publicKey": PublicKeyCredentialCreationOptions}` (contract §2.1).
    ///
    /// # Errors
    /// [`OptionsError::Malformed`] naming the member that failed. The text is never used as
    /// bytes when it does not decode.
    pub fn from_add_response(public_key_b64: &str) -> Result<Self, OptionsError> {
        let json = b64::decode_lenient(public_key_b64)
            .map_err(|e| malformed("key.publicKey", e.to_string()))?;
        Self::from_json(&json)
    }

    /// Decodes the JSON `{"publicKey": {...}}` (or the bare options object).
    pub fn from_json(json: &[u8]) -> Result<Self, OptionsError> {
        let value: serde_json::Value = serde_json::from_slice(json)
            .map_err(|e| malformed("key.publicKey", format!("is not valid JSON ({e})")))?;
        let wrapper: RawWrapper = serde_json::from_value(value.clone())
            .map_err(|e| malformed("key.publicKey", format!("is not a JSON object ({e})")))?;
        let pk = wrapper.public_key.unwrap_or(value);
        if !pk.is_object() {
            return Err(malformed("publicKey", "is not a JSON object"));
        }
        let p = "publicKey";
        let rp = pk
            .get("rp")
            .ok_or_else(|| malformed("publicKey.rp", "is missing"))?;
        let rp_id = str_member(rp, "publicKey.rp", "id")?.to_string();
        let rp_name = str_member(rp, "publicKey.rp", "name")
            .unwrap_or_default()
            .to_string();
        let user = pk
            .get("user")
            .ok_or_else(|| malformed("publicKey.user", "is missing"))?;
        let (_, user_id) = bin_member(user, "publicKey.user", "id")?;
        if user_id.is_empty() || user_id.len() > 64 {
            return Err(malformed(
                "publicKey.user.id",
                "must be 1 to 64 bytes (WebAuthn L3 §5.4.3)",
            ));
        }
        let user_name = str_member(user, "publicKey.user", "name")?.to_string();
        let user_display_name = str_member(user, "publicKey.user", "displayName")
            .unwrap_or(&user_name)
            .to_string();
        let (challenge, challenge_bytes) = bin_member(&pk, p, "challenge")?;
        if challenge_bytes.len() < 16 {
            return Err(malformed(
                "publicKey.challenge",
                "is shorter than 16 bytes (WebAuthn L3 §13.4.3)",
            ));
        }
        let params = pk
            .get("pubKeyCredParams")
            .and_then(|v| v.as_array())
            .ok_or_else(|| malformed("publicKey.pubKeyCredParams", "is missing or not a list"))?;
        let mut algorithms = Vec::new();
        for (i, param) in params.iter().enumerate() {
            let ty = param.get("type").and_then(|t| t.as_str());
            let alg = param.get("alg").and_then(|a| a.as_i64());
            match (ty, alg) {
                (Some("public-key"), Some(alg)) => algorithms.push(alg),
                (Some(_), Some(_)) => {} // unknown credential type: skipped (WebAuthn L3 §5.1.3 step 10)
                _ => {
                    return Err(malformed(
                        &format!("publicKey.pubKeyCredParams[{i}]"),
                        "needs a type and a numeric alg",
                    ))
                }
            }
        }
        if algorithms.is_empty() {
            return Err(OptionsError::NoSupportedAlgorithm);
        }
        let timeout_ms = match pk.get("timeout") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                malformed(
                    "publicKey.timeout",
                    "is not a positive number of milliseconds",
                )
            })?),
        };
        let mut exclude_credentials = Vec::new();
        match pk.get("excludeCredentials") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Array(list)) => {
                for (i, c) in list.iter().enumerate() {
                    let path = format!("publicKey.excludeCredentials[{i}]");
                    if c.get("type")
                        .and_then(|t| t.as_str())
                        .unwrap_or("public-key")
                        != "public-key"
                    {
                        continue;
                    }
                    let (_, id) = bin_member(c, &path, "id")?;
                    exclude_credentials.push(id);
                }
            }
            Some(_) => return Err(malformed("publicKey.excludeCredentials", "is not a list")),
        }
        let sel = pk.get("authenticatorSelection");
        let uv = sel
            .and_then(|s| s.get("userVerification"))
            .and_then(|v| v.as_str());
        let user_verification = match uv {
            Some("required") => UserVerification::Required,
            Some("discouraged") => UserVerification::Discouraged,
            _ => UserVerification::Preferred,
        };
        let rk = sel
            .and_then(|s| s.get("residentKey"))
            .and_then(|v| v.as_str());
        let require_rk = sel
            .and_then(|s| s.get("requireResidentKey"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let resident_key = match (rk, require_rk) {
            (Some("required"), _) | (None, true) => ResidentKey::Required,
            (Some("preferred"), _) => ResidentKey::Preferred,
            _ => ResidentKey::Discouraged,
        };
        let authenticator_attachment = sel
            .and_then(|s| s.get("authenticatorAttachment"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let attestation = pk
            .get("attestation")
            .and_then(|v| v.as_str())
            .unwrap_or("none")
            .to_string();
        Ok(CreationOptions {
            rp_id,
            rp_name,
            user_id,
            user_name,
            user_display_name,
            challenge,
            challenge_bytes,
            algorithms,
            timeout_ms,
            exclude_credentials,
            user_verification,
            resident_key,
            authenticator_attachment,
            attestation,
        })
    }
}
