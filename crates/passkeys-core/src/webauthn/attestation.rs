//! The authenticator's `attestationObject` and `authData` (WebAuthn L3 §6.1, §6.5).

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
