//! The WebAuthn client layer: what a browser does between the relying party (ZITADEL) and the
//! authenticator, done by the app.
//!
//! - [`CreationOptions::from_add_response`] decodes ZITADEL's `key.publicKey`
//!   (ZITADEL contract §2; WebAuthn L3 §5.4 `PublicKeyCredentialCreationOptions`).
//! - [`check_rp_id`] enforces WebAuthn L3 §5.1.3 step 8 / §13.4.8: the rpId must be the origin's
//!   host or a registrable domain suffix of it (Public Suffix List).
//! - [`client_data_json`] builds `CollectedClientData` (WebAuthn L3 §5.8.1).
//! - [`parse_attestation_object`] reads the authenticator's `attestationObject` and `authData`
//!   (WebAuthn L3 §6.1, §6.5).
//! - [`credential_json`] builds the `PublicKeyCredential` JSON ZITADEL's verify step parses
//!   (contract §3.2: base64url without padding; `id` = credential id from authData).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use crate::b64;

/// Why the creation options from the server cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// A member could not be decoded; names the member.
    #[error("the server's passkey options are malformed: {member} {reason}. This is a server or proxy problem; report it to your ZITADEL administrator")]
    Malformed {
        /// JSON path of the member, e.g. `publicKey.challenge`.
        member: String,
        /// What is wrong.
        reason: String,
    },
    /// The rpId is not one the instance's origin may claim.
    #[error("refusing to create a passkey for {rp_id:?}: {reason}. The server at {host} may not ask for passkeys of another site")]
    RpIdRefused {
        /// The rpId in the options.
        rp_id: String,
        /// The instance host.
        host: String,
        /// Why.
        reason: String,
    },
    /// Helpdesk enrollment: the options are for another user than the one chosen (issue 12
    /// item 9); the passkey would end up on someone else's account.
    #[error("refusing the server's passkey options: they are for another user (user.id {got:?}) than the one you chose ({expected}). Nothing was created on the authenticator")]
    UserMismatch {
        /// The chosen user's id.
        expected: String,
        /// `publicKey.user.id` of the options, as text (lossy).
        got: String,
    },
    /// No algorithm in `pubKeyCredParams` is usable.
    #[error("the server offered no public-key algorithm this authenticator supports")]
    NoSupportedAlgorithm,
}

fn malformed(member: &str, reason: impl Into<String>) -> OptionsError {
    OptionsError::Malformed {
        member: member.to_string(),
        reason: reason.into(),
    }
}

/// `userVerification` (WebAuthn L3 §5.8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    /// `required`: the authenticator must verify the user (PIN or biometrics).
    Required,
    /// `preferred` (also the default when absent).
    Preferred,
    /// `discouraged`.
    Discouraged,
}

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

/// Checks that `rp_id` may be claimed by the instance at `instance` (WebAuthn L3 §5.1.3 step 8
/// and HTML's "is a registrable domain suffix of or is equal to"): equal to the host, or a
/// parent domain of it that is not a public suffix (Public Suffix List, via the `psl` crate).
/// IP addresses are refused: WebAuthn needs a domain.
///
/// # Errors
/// [`OptionsError::RpIdRefused`] with the reason.
pub fn check_rp_id(rp_id: &str, instance: &Url) -> Result<(), OptionsError> {
    let host = instance.host_str().unwrap_or_default().to_string();
    let refuse = |reason: &str| OptionsError::RpIdRefused {
        rp_id: rp_id.to_string(),
        host: host.clone(),
        reason: reason.to_string(),
    };
    match instance.host() {
        Some(url::Host::Domain(_)) => {}
        Some(_) => return Err(refuse("the instance is addressed by an IP address, and WebAuthn requires a domain name; use the instance's DNS name")),
        None => return Err(refuse("the instance URL has no host")),
    }
    if rp_id.is_empty() {
        return Err(refuse("the rpId is empty"));
    }
    // Canonicalise the rpId the way URL hosts are (percent-decoding, IDNA to punycode, ASCII
    // lower case). The authenticator hashes the rpId it is given as bytes, so only the exact
    // form that is checked here may reach it: anything that canonicalises to another string
    // (`LOCALHOST`, fullwidth letters, `%61`, a soft hyphen, Unicode instead of punycode) is
    // refused rather than passed on raw (issue 12 item 6).
    let canonical = match url::Host::parse(rp_id) {
        Ok(url::Host::Domain(d)) => d,
        Ok(_) => return Err(refuse("an IP address cannot be an rpId")),
        Err(_) => return Err(refuse("it is not a valid domain name")),
    };
    if canonical != rp_id {
        return Err(refuse(&format!(
            "it is not in canonical form (that would be {canonical:?}: lower-case ASCII, punycode for international names, no escapes or invisible characters), and only the exact form checked here may reach the authenticator"
        )));
    }
    let host_l = host.to_ascii_lowercase();
    if canonical == host_l {
        return Ok(());
    }
    if !host_l.ends_with(&format!(".{canonical}")) {
        return Err(refuse(
            "it is neither the instance's host nor a parent domain of it",
        ));
    }
    match psl::suffix(canonical.as_bytes()) {
        Some(suffix) if suffix.as_bytes() == canonical.as_bytes() => Err(refuse(
            "it is a public suffix (like a top-level domain), which no site may claim",
        )),
        Some(_) => Ok(()),
        None => Err(refuse("it is not a registrable domain")),
    }
}

/// The origin of the instance: `scheme://host[:port]`, no trailing slash (HTML origin
/// serialisation; default ports omitted).
pub fn origin_of(instance: &Url) -> String {
    instance.origin().ascii_serialization()
}

/// `CollectedClientData` for registration (WebAuthn L3 §5.8.1.1, "limited verification
/// algorithm" member order): `{"type":"webauthn.create","challenge":…,"origin":…,"crossOrigin":false}`.
/// The challenge is copied exactly as the server sent it.
pub fn client_data_json(challenge: &str, origin: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct ClientData<'a> {
        #[serde(rename = "type")]
        ty: &'a str,
        challenge: &'a str,
        origin: &'a str,
        #[serde(rename = "crossOrigin")]
        cross_origin: bool,
    }
    // Serialising a struct of strings and a bool cannot fail.
    serde_json::to_vec(&ClientData {
        ty: "webauthn.create",
        challenge,
        origin,
        cross_origin: false,
    })
    .unwrap_or_default()
}

/// SHA-256 (the `clientDataHash` of CTAP 2.1 §6.1, and `rpIdHash`).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Why an authenticator's reply cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the authenticator's reply is not valid: {0}")]
pub struct AttestationError(pub String);

/// Authenticator data flags (WebAuthn L3 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// UP: user present.
    pub fn user_present(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// UV: user verified.
    pub fn user_verified(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// BE: backup eligible.
    pub fn backup_eligible(self) -> bool {
        self.0 & 0x08 != 0
    }
    /// AT: attested credential data included.
    pub fn attested_credential_data(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// ED: extension data included.
    pub fn extension_data(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// What the app needs from an `attestationObject` (WebAuthn L3 §6.5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAttestation {
    /// Attestation statement format (`fmt`), e.g. `none` or `packed`.
    pub fmt: String,
    /// SHA-256 of the rpId the authenticator used.
    pub rp_id_hash: [u8; 32],
    /// Flags.
    pub flags: Flags,
    /// Signature counter.
    pub sign_count: u32,
    /// AAGUID.
    pub aaguid: [u8; 16],
    /// Credential id.
    pub credential_id: Vec<u8>,
    /// COSE `alg` of the credential public key.
    pub alg: Option<i64>,
    /// The credential public key (COSE_Key, RFC 9052 §7), its CBOR bytes exactly as in authData.
    pub public_key: Vec<u8>,
}

fn cbor_map_get<'a>(
    map: &'a [(ciborium::Value, ciborium::Value)],
    key: &str,
) -> Option<&'a ciborium::Value> {
    map.iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

/// Parses an `attestationObject` (CBOR map with `fmt`, `attStmt`, `authData`) and its
/// `authData` (WebAuthn L3 §6.1: rpIdHash 32, flags 1, signCount 4, then attested credential
/// data: AAGUID 16, credentialIdLength 2 (big endian), credentialId, COSE public key).
///
/// # Errors
/// [`AttestationError`] naming the part that is malformed. Trailing bytes after the
/// attestation object are refused.
pub fn parse_attestation_object(bytes: &[u8]) -> Result<ParsedAttestation, AttestationError> {
    let err = |s: &str| AttestationError(s.to_string());
    let mut reader = bytes;
    let value: ciborium::Value = ciborium::de::from_reader(&mut reader)
        .map_err(|e| AttestationError(format!("attestationObject is not CBOR ({e})")))?;
    if !reader.is_empty() {
        return Err(err("attestationObject has trailing bytes"));
    }
    let map = value
        .as_map()
        .ok_or_else(|| err("attestationObject is not a CBOR map"))?;
    let fmt = cbor_map_get(map, "fmt")
        .and_then(|v| v.as_text())
        .ok_or_else(|| err("attestationObject.fmt is missing"))?
        .to_string();
    if cbor_map_get(map, "attStmt")
        .and_then(|v| v.as_map())
        .is_none()
    {
        return Err(err("attestationObject.attStmt is missing"));
    }
    let auth_data = cbor_map_get(map, "authData")
        .and_then(|v| v.as_bytes())
        .ok_or_else(|| err("attestationObject.authData is missing"))?;
    parse_auth_data(fmt, auth_data)
}

fn parse_auth_data(fmt: String, data: &[u8]) -> Result<ParsedAttestation, AttestationError> {
    let err = |s: &str| AttestationError(s.to_string());
    if data.len() < 37 {
        return Err(err("authData is shorter than 37 bytes"));
    }
    let mut rp_id_hash = [0u8; 32];
    rp_id_hash.copy_from_slice(&data[..32]);
    let flags = Flags(data[32]);
    let sign_count = u32::from_be_bytes([data[33], data[34], data[35], data[36]]);
    if !flags.attested_credential_data() {
        return Err(err(
            "authData has no attested credential data (AT flag not set)",
        ));
    }
    let rest = &data[37..];
    if rest.len() < 18 {
        return Err(err("attested credential data is truncated"));
    }
    let mut aaguid = [0u8; 16];
    aaguid.copy_from_slice(&rest[..16]);
    let id_len = u16::from_be_bytes([rest[16], rest[17]]) as usize;
    let rest = &rest[18..];
    if id_len == 0 || id_len > 1023 || rest.len() < id_len {
        return Err(err("credentialId length is invalid"));
    }
    let credential_id = rest[..id_len].to_vec();
    let key_start = &rest[id_len..];
    let mut key_reader = key_start;
    let key: ciborium::Value = ciborium::de::from_reader(&mut key_reader)
        .map_err(|e| AttestationError(format!("credential public key is not CBOR ({e})")))?;
    let alg = key.as_map().and_then(|m| {
        m.iter()
            .find(|(k, _)| k.as_integer() == Some(3.into()))
            .and_then(|(_, v)| v.as_integer())
            .and_then(|i| i64::try_from(i).ok())
    });
    let public_key = key_start[..key_start.len() - key_reader.len()].to_vec();
    if flags.extension_data() {
        let _ext: ciborium::Value = ciborium::de::from_reader(&mut key_reader)
            .map_err(|e| AttestationError(format!("authData extensions are not CBOR ({e})")))?;
    }
    if !key_reader.is_empty() {
        return Err(err("authData has trailing bytes"));
    }
    Ok(ParsedAttestation {
        fmt,
        rp_id_hash,
        flags,
        sign_count,
        aaguid,
        credential_id,
        alg,
        public_key,
    })
}

/// Formats an AAGUID as a UUID string.
pub fn aaguid_string(aaguid: &[u8; 16]) -> String {
    let h = hex::encode(aaguid);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The `PublicKeyCredential` JSON for registration (WebAuthn L3 §5.1, `toJSON()`), as
/// go-webauthn parses it (contract §3.2): `id` and `rawId` are base64url without padding of the
/// credential id taken from authData, never from the backend.
pub fn credential_json(
    credential_id: &[u8],
    client_data_json: &[u8],
    attestation_object: &[u8],
    transports: &[String],
    authenticator_attachment: Option<&str>,
) -> Vec<u8> {
    let id = b64::url_nopad(credential_id);
    let mut response = serde_json::json!({
        "clientDataJSON": b64::url_nopad(client_data_json),
        "attestationObject": b64::url_nopad(attestation_object),
    });
    if !transports.is_empty() {
        response["transports"] = serde_json::json!(transports);
    }
    let mut cred = serde_json::json!({
        "id": id,
        "rawId": id,
        "type": "public-key",
        "response": response,
        "clientExtensionResults": {},
    });
    if let Some(a) = authenticator_attachment {
        cred["authenticatorAttachment"] = serde_json::json!(a);
    }
    serde_json::to_vec(&cred).unwrap_or_default()
}

/// Maximum token name length in Unicode code points (ZITADEL `WebAuthNVerification.token_name`,
/// PGV `max_len: 200`).
pub const MAX_NAME_CHARS: usize = 200;

/// Validates a passkey (token) name: trimmed, 1 to 200 Unicode code points, no control
/// characters. Returns the trimmed name; the text is otherwise kept as typed.
///
/// # Errors
/// A message a person can act on.
pub fn validate_token_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(
            "the name is empty; give the passkey a name such as \"YubiKey 5 (work)\"".into(),
        );
    }
    let count = trimmed.chars().count();
    if count > MAX_NAME_CHARS {
        return Err(format!(
            "the name is {count} characters long; ZITADEL accepts at most {MAX_NAME_CHARS}"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("the name contains control characters (such as a line break)".into());
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests;
