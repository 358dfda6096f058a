//! The passkey self-test: right after enrollment (and on demand for a passkey in the inventory), ask the
//! authenticator to sign in with the new credential and check the assertion **locally** against
//! the public key from the attestation, so a passkey that ZITADEL accepted but the key cannot
//! use is found now rather than at the next sign-in.
//!
//! - clientDataJSON `{"type":"webauthn.get",...}` (WebAuthn L3 §5.8.1) with a fresh random
//!   challenge and the instance origin;
//! - authenticatorGetAssertion (CTAP 2.1 §6.2) with the credential id in `allowList`, `up` and
//!   user verification;
//! - checks (WebAuthn L3 §7.2 steps 15–21, as far as they apply without a server): rpIdHash,
//!   UP, UV when required, and the signature over `authenticatorData || SHA-256(clientDataJSON)`
//!   with the credential public key (ES256 with RustCrypto `p256`, EdDSA with `ed25519-dalek`).
//!
//! Nothing here hand-rolls cryptography.

use rand::RngCore as _;
use serde::Serialize;

use crate::authenticator::{Authenticator, AuthenticatorError, GetAssertionRequest};
use crate::webauthn::{self, Flags, UserVerification};

/// Deadline for the self-test's getAssertion (a touch and maybe a PIN).
pub const SELF_TEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// What the self-test needs to know about the passkey.
#[derive(Debug, Clone)]
pub struct SelfTestTarget<'a> {
    /// The rpId the passkey is bound to.
    pub rp_id: &'a str,
    /// The instance origin (`scheme://host[:port]`).
    pub origin: &'a str,
    /// The credential id.
    pub credential_id: &'a [u8],
    /// The credential public key (COSE_Key bytes from authData).
    pub public_key: &'a [u8],
    /// User verification requirement.
    pub user_verification: UserVerification,
}

/// A passed self-test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SelfTestReport {
    /// Always true here; present so the JSON reads on its own.
    pub passed: bool,
    /// The authenticator verified the person (UV flag).
    pub user_verified: bool,
    /// The signature counter the authenticator reported.
    pub sign_count: u32,
    /// COSE algorithm of the verified signature.
    pub algorithm: i64,
}

pub use crate::error::SelfTestError;

/// Runs the self-test on `authenticator`.
///
/// # Errors
/// [`SelfTestError`]: what failed; the passkey is registered in any case.
pub async fn self_test(
    authenticator: &mut dyn Authenticator,
    target: &SelfTestTarget<'_>,
) -> Result<SelfTestReport, SelfTestError> {
    let mut challenge = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut challenge);
    let client_data =
        webauthn::client_data_json_get(&crate::b64::url_nopad(&challenge), target.origin);
    let client_data_hash = webauthn::sha256(&client_data);
    let request = GetAssertionRequest {
        client_data_hash,
        rp_id: target.rp_id.to_string(),
        allow_credentials: vec![target.credential_id.to_vec()],
        user_presence: true,
        user_verification: target.user_verification,
        timeout: SELF_TEST_TIMEOUT,
    };
    let reply = authenticator
        .get_assertion(&request)
        .await
        .map_err(SelfTestError::Authenticator)?;
    let invalid = |s: &str| SelfTestError::Invalid(s.to_string());
    if let Some(id) = &reply.credential_id {
        if id.as_slice() != target.credential_id {
            return Err(invalid("another credential answered"));
        }
    }
    let data = &reply.authenticator_data;
    if data.len() < 37 {
        return Err(invalid("authenticatorData is shorter than 37 bytes"));
    }
    if data[..32] != webauthn::sha256(target.rp_id.as_bytes()) {
        return Err(invalid("the rpIdHash does not match the passkey's rpId"));
    }
    let flags = Flags(data[32]);
    if !flags.user_present() {
        return Err(invalid("user presence (UP) is not set"));
    }
    if target.user_verification == UserVerification::Required && !flags.user_verified() {
        return Err(invalid(
            "user verification (UV) is required but was not performed",
        ));
    }
    let sign_count = u32::from_be_bytes([data[33], data[34], data[35], data[36]]);
    let signed = [data.as_slice(), &client_data_hash].concat();
    let algorithm = verify_signature(target.public_key, &signed, &reply.signature)?;
    Ok(SelfTestReport {
        passed: true,
        user_verified: flags.user_verified(),
        sign_count,
        algorithm,
    })
}

fn cose_get(map: &[(ciborium::Value, ciborium::Value)], label: i64) -> Option<&ciborium::Value> {
    map.iter()
        .find(|(k, _)| k.as_integer() == Some(label.into()))
        .map(|(_, v)| v)
}

fn cose_int(map: &[(ciborium::Value, ciborium::Value)], label: i64) -> Option<i64> {
    cose_get(map, label)
        .and_then(ciborium::Value::as_integer)
        .and_then(|i| i64::try_from(i).ok())
}

/// Verifies `signature` over `message` with a COSE_Key (RFC 9053): EC2 P-256 ES256 (-7) and
/// OKP Ed25519 EdDSA (-8). Returns the algorithm.
///
/// # Errors
/// [`SelfTestError::Invalid`] for a bad key or signature, [`SelfTestError::UnsupportedAlgorithm`]
/// for other algorithms.
pub fn verify_signature(
    cose_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<i64, SelfTestError> {
    let invalid = |s: &str| SelfTestError::Invalid(s.to_string());
    let key: ciborium::Value = ciborium::de::from_reader(cose_key)
        .map_err(|_| invalid("the credential public key is not CBOR"))?;
    let map = key
        .as_map()
        .ok_or_else(|| invalid("the credential public key is not a COSE_Key map"))?;
    let kty = cose_int(map, 1);
    let alg = cose_int(map, 3).ok_or_else(|| invalid("the credential public key has no alg"))?;
    let crv = cose_int(map, -1);
    let bytes = |label: i64| {
        cose_get(map, label)
            .and_then(ciborium::Value::as_bytes)
            .ok_or_else(|| invalid("the credential public key lacks a coordinate"))
    };
    match (kty, alg, crv) {
        (Some(2), -7, Some(1)) => {
            use p256::ecdsa::signature::Verifier as _;
            let (x, y) = (bytes(-2)?, bytes(-3)?);
            if x.len() != 32 || y.len() != 32 {
                return Err(invalid("the P-256 public key coordinates are not 32 bytes"));
            }
            let point = [&[0x04u8][..], x, y].concat();
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| invalid("the P-256 public key is not on the curve"))?;
            let sig = p256::ecdsa::Signature::from_der(signature)
                .map_err(|_| invalid("the signature is not a DER ECDSA signature"))?;
            key.verify(message, &sig).map_err(|_| {
                invalid("the signature does not verify with the passkey's public key")
            })?;
            Ok(alg)
        }
        (Some(1), -8, Some(6)) => {
            use ed25519_dalek::Verifier as _;
            let x: [u8; 32] = bytes(-2)?
                .as_slice()
                .try_into()
                .map_err(|_| invalid("the Ed25519 public key is not 32 bytes"))?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                .map_err(|_| invalid("the Ed25519 public key is not valid"))?;
            let sig = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| invalid("the signature is not an Ed25519 signature"))?;
            key.verify(message, &sig).map_err(|_| {
                invalid("the signature does not verify with the passkey's public key")
            })?;
            Ok(alg)
        }
        _ => Err(SelfTestError::UnsupportedAlgorithm(alg)),
    }
}

/// The self-test's outcome as reported to the CLI (`--json`) and the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SelfTestOutcome {
    /// It worked.
    Passed(SelfTestReport),
    /// It did not; the passkey is registered anyway.
    Failed {
        /// Always false.
        passed: bool,
        /// Stable code ([`SelfTestError::code`]).
        #[cfg_attr(feature = "ts", ts(type = "ErrorCode"))]
        code: crate::error::ErrorCode,
        /// What failed.
        message: String,
        /// What to do.
        advice: String,
    },
}

impl SelfTestOutcome {
    /// True when the passkey worked.
    pub fn passed(&self) -> bool {
        matches!(self, SelfTestOutcome::Passed(_))
    }
}

impl From<Result<SelfTestReport, SelfTestError>> for SelfTestOutcome {
    fn from(r: Result<SelfTestReport, SelfTestError>) -> Self {
        match r {
            Ok(report) => SelfTestOutcome::Passed(report),
            Err(e) => SelfTestOutcome::Failed {
                passed: false,
                code: e.code(),
                message: e.to_string(),
                advice: e.advice().to_string(),
            },
        }
    }
}

/// The self-test for a passkey in the inventory (run again on demand).
///
/// # Errors
/// [`SelfTestError::Invalid`] when the entry lacks its public key (enrolled by an older
/// version); otherwise as [`self_test`].
pub async fn test_entry(
    authenticator: &mut dyn Authenticator,
    entry: &crate::inventory::InventoryEntry,
) -> Result<SelfTestReport, SelfTestError> {
    let public_key = entry
        .public_key
        .as_deref()
        .and_then(|k| crate::b64::decode_lenient(k).ok())
        .ok_or_else(|| {
            SelfTestError::Invalid("the inventory has no public key for this passkey".into())
        })?;
    let credential_id = crate::b64::decode_lenient(&entry.credential_id)
        .map_err(|_| SelfTestError::Invalid("the credential id is not base64url".into()))?;
    let origin = url::Url::parse(&entry.instance)
        .map(|u| webauthn::origin_of(&u))
        .map_err(|_| SelfTestError::Invalid("the instance URL is not valid".into()))?;
    let target = SelfTestTarget {
        rp_id: &entry.rp_id,
        origin: &origin,
        credential_id: &credential_id,
        public_key: &public_key,
        user_verification: entry
            .user_verification
            .unwrap_or(UserVerification::Preferred),
    };
    self_test(authenticator, &target).await
}

/// Whether `authenticator` holds the passkey of `entry`: a silent getAssertion (`up=false`,
/// no user verification) with its credential id. `Ok(false)` when it answers "no credentials".
///
/// # Errors
/// Other authenticator failures (including [`AuthenticatorError::NotSupported`]).
pub async fn holds(
    authenticator: &mut dyn Authenticator,
    entry: &crate::inventory::InventoryEntry,
) -> Result<bool, AuthenticatorError> {
    let credential_id = crate::b64::decode_lenient(&entry.credential_id)
        .map_err(|_| AuthenticatorError::InvalidResponse("bad credential id".into()))?;
    let request = GetAssertionRequest {
        client_data_hash: webauthn::sha256(b"passkeys: which key holds this passkey?"),
        rp_id: entry.rp_id.clone(),
        allow_credentials: vec![credential_id],
        user_presence: false,
        user_verification: UserVerification::Discouraged,
        timeout: std::time::Duration::from_secs(10),
    };
    match authenticator.get_assertion(&request).await {
        Ok(_) => Ok(true),
        Err(AuthenticatorError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
