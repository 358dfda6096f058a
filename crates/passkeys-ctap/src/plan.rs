//! Decisions made before talking to the key, as pure functions of getInfo and the request
//! (tested against the cases in shared/cases: C05 algorithms, C06 exclude-list limits, C07
//! PIN/UV).

use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::webauthn::UserVerification;

use crate::info::DeviceInfo;

/// COSE ES256, the one algorithm every FIDO2 key supports.
pub const ES256: i64 = -7;

/// COSE signature algorithms registered with IANA that authenticators implement: ES256,
/// EdDSA, ESP256, Ed25519, ES384, ES512, PS256/384/512, ES256K, RS256/384/512.
pub const KNOWN_COSE_SIGNATURE_ALGORITHMS: &[i64] = &[
    -7, -8, -9, -19, -35, -36, -37, -38, -39, -47, -257, -258, -259,
];

/// The `pubKeyCredParams` to send, and what to retry with if the key rejects them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgorithmPlan {
    /// Sent first, in the server's order of preference.
    pub first: Vec<i64>,
    /// Sent once more if the key answers UNSUPPORTED_ALGORITHM (0x26) or CBOR_UNEXPECTED_TYPE
    /// (0x11) to `first`: keys without a getInfo `algorithms` list sometimes choke on entries
    /// they do not know.
    pub fallback: Option<Vec<i64>>,
}

/// Chooses `pubKeyCredParams` (C05). `server` holds the server's `public-key` algorithms in
/// its order; `nfc` is true when the key is reached over NFC.
///
/// # Errors
/// [`AuthenticatorError::NotSupported`] when nothing is left: an empty list is never sent.
pub fn algorithms(
    server: &[i64],
    info: &DeviceInfo,
    nfc: bool,
) -> Result<AlgorithmPlan, AuthenticatorError> {
    let none = || {
        AuthenticatorError::NotSupported(
            "this security key supports none of the signature algorithms the server accepts".into(),
        )
    };
    if server.is_empty() {
        return Err(none());
    }
    if let Some(supported) = &info.algorithms {
        let first: Vec<i64> = server
            .iter()
            .copied()
            .filter(|alg| supported.iter().any(|(t, a)| t == "public-key" && a == alg))
            .collect();
        if first.is_empty() {
            return Err(none());
        }
        return Ok(AlgorithmPlan {
            first,
            fallback: None,
        });
    }
    // The key does not say (CTAP 2.0): send the server's registered COSE signature algorithms
    // (unknown numbers only make such keys choke). On constrained transports trim to ES256 so
    // the request fits; otherwise keep ES256 alone as the retry.
    let server: Vec<i64> = server
        .iter()
        .copied()
        .filter(|a| KNOWN_COSE_SIGNATURE_ALGORITHMS.contains(a))
        .collect();
    if server.is_empty() {
        return Err(none());
    }
    let has_es256 = server.contains(&ES256);
    if has_es256 && (nfc || info.msg_size() <= 1024) {
        return Ok(AlgorithmPlan {
            first: vec![ES256],
            fallback: None,
        });
    }
    Ok(AlgorithmPlan {
        first: server.clone(),
        fallback: (has_es256 && server.len() > 1).then(|| vec![ES256]),
    })
}

/// Room a silent pre-flight getAssertion needs besides its allow list (clientDataHash, rpId,
/// options, pinUvAuthParam and CBOR framing), in bytes.
const PREFLIGHT_OVERHEAD: usize = 200;

/// CBOR size of one `{"id": …, "type": "public-key"}` descriptor.
pub fn descriptor_size(id_len: usize) -> usize {
    let header = match id_len {
        0..=23 => 1,
        24..=255 => 2,
        256..=65535 => 3,
        _ => 5,
    };
    1 + 3 + header + id_len + 5 + 11
}

/// Splits the exclude list into batches the key accepts (C06): ids longer than
/// maxCredentialIdLength are dropped (they cannot belong to this key); each batch has at most
/// maxCredentialCountInList ids and fits maxMsgSize in a pre-flight getAssertion.
pub fn exclude_batches(ids: &[Vec<u8>], info: &DeviceInfo) -> Vec<Vec<Vec<u8>>> {
    let max_len = info
        .max_credential_id_length
        .and_then(|n| usize::try_from(n).ok());
    let max_count = info
        .max_credential_count_in_list
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(usize::MAX);
    let budget = info.msg_size().saturating_sub(PREFLIGHT_OVERHEAD).max(1);
    let mut batches: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut current: Vec<Vec<u8>> = Vec::new();
    let mut size = 0;
    for id in ids {
        if id.is_empty() || max_len.is_some_and(|m| id.len() > m) {
            continue;
        }
        let s = descriptor_size(id.len());
        if !current.is_empty() && (current.len() >= max_count || size + s > budget) {
            batches.push(std::mem::take(&mut current));
            size = 0;
        }
        size += s;
        current.push(id.clone());
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// How the user is verified for makeCredential (C07).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UvPlan {
    /// No user verification; a touch only. No pinUvAuthParam, no `uv` option.
    None,
    /// A pinUvAuthToken from the PIN.
    Pin,
    /// A pinUvAuthToken from built-in verification, falling back to the PIN when it is
    /// blocked.
    BuiltInUv,
    /// A CTAP 2.0 key with built-in verification but no pinUvAuthToken: `uv` option true.
    UvOption,
    /// The key supports a PIN but has none and verification is needed: set one, then Pin.
    SetPinThenPin,
}

/// Decides how to verify the user (C07): the server's requirement, the key's `alwaysUv`, and
/// whether the key itself demands verification (a PIN set on a CTAP 2.0 key; CTAP 2.1 keys
/// without `makeCredUvNotRqd`, or with it for discoverable credentials).
///
/// # Errors
/// [`AuthenticatorError::NotSupported`] when verification is required and the key can do none.
pub fn uv_plan(
    info: &DeviceInfo,
    requirement: UserVerification,
    discoverable: bool,
) -> Result<UvPlan, AuthenticatorError> {
    let pin_set = info.client_pin() == Some(true);
    let pin_supported = info.client_pin().is_some();
    let builtin = info.builtin_uv_ready();
    let configured = pin_set || builtin;
    let always_uv = info.option("alwaysUv") == Some(true);
    let wanted = always_uv
        || match requirement {
            UserVerification::Required => true,
            UserVerification::Preferred => configured,
            UserVerification::Discouraged => false,
        };
    let uv_not_required =
        info.is_ctap21() && info.option("makeCredUvNotRqd") == Some(true) && !discoverable;
    let key_demands = configured && !uv_not_required;
    if !wanted && !key_demands {
        return Ok(UvPlan::None);
    }
    if builtin {
        return Ok(if info.pin_uv_auth_token() {
            UvPlan::BuiltInUv
        } else {
            UvPlan::UvOption
        });
    }
    if pin_set {
        return Ok(UvPlan::Pin);
    }
    if pin_supported && wanted {
        return Ok(UvPlan::SetPinThenPin);
    }
    if wanted {
        return Err(AuthenticatorError::NotSupported(
            "this security key cannot verify you: it has neither a PIN nor built-in verification"
                .into(),
        ));
    }
    Ok(UvPlan::None)
}

/// Whether to make the credential discoverable ("stored on the key").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Discoverable {
    /// When the key can store credentials and has room (or does not say), and always when the
    /// server requires it.
    #[default]
    Auto,
    /// Always; fails when the key cannot store it.
    Always,
    /// Only when the server requires it.
    Never,
}

/// Decides discoverability.
///
/// # Errors
/// [`AuthenticatorError::NotSupported`] or [`AuthenticatorError::KeyStoreFull`] when a
/// discoverable credential is required and impossible.
pub fn discoverable(
    info: &DeviceInfo,
    choice: Discoverable,
    server_requires: bool,
) -> Result<bool, AuthenticatorError> {
    let full = info.remaining_discoverable_credentials == Some(0);
    let required = server_requires || choice == Discoverable::Always;
    if required {
        if !info.rk() {
            return Err(AuthenticatorError::NotSupported(
                "this security key cannot store passkeys on itself (no discoverable credentials)"
                    .into(),
            ));
        }
        if full {
            return Err(AuthenticatorError::KeyStoreFull);
        }
        return Ok(true);
    }
    Ok(choice == Discoverable::Auto && info.rk() && !full)
}
