//! The authenticator seam.
//!
//! The enrollment flow hands an [`Authenticator`] a [`MakeCredentialRequest`] that already
//! carries the `clientDataHash` (CTAP 2.1 §6.1 `authenticatorMakeCredential`), and gets back the
//! authenticator's own `attestationObject` bytes. USB/NFC security keys, platform
//! authenticators and phones plug in here without changing the flow.
//!
//! This module ships the [`SoftAuthenticator`]: a software authenticator for the demo and tests,
//! persisted to a file. It is **not** hardware: its keys live in a file on disk.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Serialize;
use webauthn_authenticator_rs::softtoken::{SoftToken, AAGUID as SOFT_AAGUID};
use webauthn_authenticator_rs::AuthenticatorBackendHashedClientData;
use webauthn_rs_proto as proto;

use crate::webauthn::UserVerification;

/// Errors from an authenticator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthenticatorError {
    /// The authenticator already holds a credential from the exclude list
    /// (CTAP2_ERR_CREDENTIAL_EXCLUDED, CTAP 2.1 §6.1.2 step 7).
    #[error("this authenticator is already registered for your account; use another one")]
    CredentialExcluded,
    /// The authenticator cannot do what the server requires.
    #[error("this authenticator cannot be used here: {0}")]
    NotSupported(String),
    /// The person cancelled.
    #[error("the operation was cancelled on the authenticator")]
    Cancelled,
    /// No answer in time.
    #[error("the authenticator did not answer in time; try again and touch it when asked")]
    Timeout,
    /// The authenticator's state file is unusable.
    #[error("the software authenticator file {path} could not be used: {reason}")]
    Storage {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Any other device failure.
    #[error("the authenticator failed: {0}")]
    Device(String),
    /// The reply does not match the request (wrong rpId hash, missing UP/UV, bad CBOR).
    #[error("the authenticator's reply is not valid: {0}")]
    InvalidResponse(String),
    /// No authenticator of the requested kind is attached.
    #[error("no security key found: {0}")]
    NotFound(String),
    /// The key was removed (or stopped answering on its transport) during the operation.
    #[error("the security key was removed during the operation; insert it and try again")]
    Disconnected,
    /// A wrong PIN, and no further attempt was made (CTAP2_ERR_PIN_INVALID, 0x31).
    #[error("wrong PIN{}", attempts_left.map(|n| format!("; {n} attempts left before the PIN is blocked")).unwrap_or_default())]
    PinInvalid {
        /// PIN attempts left (authenticatorClientPIN getPINRetries).
        attempts_left: Option<u32>,
    },
    /// Too many wrong PINs since the key was plugged in (CTAP2_ERR_PIN_AUTH_BLOCKED, 0x34).
    #[error("too many wrong PINs in a row: unplug the security key, insert it again and retry")]
    PinAuthBlocked,
    /// No PIN attempts left (CTAP2_ERR_PIN_BLOCKED, 0x32).
    #[error("the PIN of this security key is blocked: only a reset of the key helps, and a reset erases every passkey on it")]
    PinBlocked,
    /// User verification is required but the key has no PIN yet, and none was set.
    #[error("this security key has no PIN yet and a PIN is required: {0}")]
    PinNotSet(String),
    /// The key refused a new PIN (CTAP2_ERR_PIN_POLICY_VIOLATION, 0x37) or it breaks the rules.
    #[error("the new PIN is not accepted: {0}")]
    PinPolicy(String),
    /// No room for another discoverable credential (CTAP2_ERR_KEY_STORE_FULL, 0x28).
    #[error("this security key has no room for another passkey stored on it: delete one from the key, or create a passkey that is not stored on the key")]
    KeyStoreFull,
}

impl AuthenticatorError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthenticatorError::CredentialExcluded => "credential_excluded",
            AuthenticatorError::NotSupported(_) => "authenticator_not_supported",
            AuthenticatorError::Cancelled => "cancelled",
            AuthenticatorError::Timeout => "authenticator_timeout",
            AuthenticatorError::Storage { .. } => "authenticator_storage",
            AuthenticatorError::Device(_) => "authenticator_failed",
            AuthenticatorError::InvalidResponse(_) => "authenticator_invalid_response",
            AuthenticatorError::NotFound(_) => "authenticator_not_found",
            AuthenticatorError::Disconnected => "authenticator_disconnected",
            AuthenticatorError::PinInvalid { .. } => "pin_invalid",
            AuthenticatorError::PinAuthBlocked => "pin_auth_blocked",
            AuthenticatorError::PinBlocked => "pin_blocked",
            AuthenticatorError::PinNotSet(_) => "pin_not_set",
            AuthenticatorError::PinPolicy(_) => "pin_policy",
            AuthenticatorError::KeyStoreFull => "key_store_full",
        }
    }
}

/// What kind of authenticator this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum AuthenticatorKind {
    /// Software authenticator (demo and tests; not hardware).
    Software,
    /// USB security key.
    Usb,
    /// NFC security key.
    Nfc,
    /// Platform authenticator.
    Platform,
}

/// Describes an authenticator for the UI and for default passkey names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorInfo {
    /// Kind.
    pub kind: AuthenticatorKind,
    /// Model name, e.g. "YubiKey 5 NFC".
    pub model: String,
    /// AAGUID as a UUID string, when known.
    pub aaguid: Option<String>,
    /// False for the software authenticator.
    pub hardware: bool,
    /// A sentence to show the person about this authenticator.
    pub notice: Option<String>,
}

/// `authenticatorMakeCredential` parameters (CTAP 2.1 §6.1), after the WebAuthn client layer
/// has done its checks.
#[derive(Debug, Clone)]
pub struct MakeCredentialRequest {
    /// SHA-256 of the exact clientDataJSON bytes.
    pub client_data_hash: [u8; 32],
    /// `rp.id`.
    pub rp_id: String,
    /// `rp.name`.
    pub rp_name: String,
    /// `user.id` bytes.
    pub user_id: Vec<u8>,
    /// `user.name`.
    pub user_name: String,
    /// `user.displayName`.
    pub user_display_name: String,
    /// COSE algorithms in RP order.
    pub algorithms: Vec<i64>,
    /// Credential ids the authenticator must not already hold.
    pub exclude_credentials: Vec<Vec<u8>>,
    /// User verification requirement.
    pub user_verification: UserVerification,
    /// Create a discoverable credential.
    pub resident_key: bool,
    /// Overall deadline.
    pub timeout: std::time::Duration,
}

/// The authenticator's answer.
#[derive(Debug, Clone)]
pub struct MakeCredentialResponse {
    /// The authenticator's own `attestationObject` bytes.
    pub attestation_object: Vec<u8>,
    /// Transports to report in the credential JSON.
    pub transports: Vec<String>,
    /// `authenticatorAttachment` to report (`platform` / `cross-platform`), if known.
    pub attachment: Option<String>,
    /// Whether the credential is discoverable (stored on the authenticator).
    pub discoverable: bool,
}

/// `authenticatorGetAssertion` parameters (CTAP 2.1 §6.2) for a given credential: the
/// self-test after enrollment (`up`, user verification) and the silent probe (`up=false`).
#[derive(Debug, Clone)]
pub struct GetAssertionRequest {
    /// SHA-256 of the exact clientDataJSON bytes.
    pub client_data_hash: [u8; 32],
    /// `rpId`.
    pub rp_id: String,
    /// Credential ids that may answer (`allowList`); never empty here.
    pub allow_credentials: Vec<Vec<u8>>,
    /// Test for user presence (`up`); `false` for a silent probe.
    pub user_presence: bool,
    /// User verification requirement.
    pub user_verification: UserVerification,
    /// Overall deadline.
    pub timeout: std::time::Duration,
}

/// The authenticator's assertion (CTAP 2.1 §6.2.2).
#[derive(Debug, Clone)]
pub struct GetAssertionResponse {
    /// The credential that answered, when the authenticator says.
    pub credential_id: Option<Vec<u8>>,
    /// `authenticatorData` bytes.
    pub authenticator_data: Vec<u8>,
    /// The signature over `authenticatorData || clientDataHash`.
    pub signature: Vec<u8>,
}

/// An authenticator the enrollment flow can use.
#[async_trait]
pub trait Authenticator: Send {
    /// Describes the authenticator.
    fn info(&self) -> AuthenticatorInfo;

    /// Creates a credential (CTAP 2.1 §6.1). Implementations must return
    /// [`AuthenticatorError::CredentialExcluded`] when they hold an excluded credential.
    async fn make_credential(
        &mut self,
        request: &MakeCredentialRequest,
    ) -> Result<MakeCredentialResponse, AuthenticatorError>;

    /// Gets an assertion from one of `request.allow_credentials` (CTAP 2.1 §6.2). Answers
    /// `CTAP2_ERR_NO_CREDENTIALS` as [`AuthenticatorError::NotFound`]. The default says the
    /// authenticator cannot do it.
    async fn get_assertion(
        &mut self,
        request: &GetAssertionRequest,
    ) -> Result<GetAssertionResponse, AuthenticatorError> {
        let _ = request;
        Err(AuthenticatorError::NotSupported(
            "this authenticator cannot be asked to sign in from this app".into(),
        ))
    }

    /// Makes the authenticator require a new PIN at its next use (CTAP 2.1
    /// authenticatorConfig setMinPINLength with forceChangePin; it may ask for the current PIN
    /// through its prompt). The default says the authenticator cannot.
    async fn force_pin_change(&mut self) -> Result<(), AuthenticatorError> {
        Err(AuthenticatorError::NotSupported(
            "this authenticator has no PIN that can be forced to change".into(),
        ))
    }
}

/// The software authenticator, built on webauthn-authenticator-rs's `SoftToken` (P-256,
/// packed attestation, non-discoverable credentials, reports UV).
///
/// With a path, its keys are saved to that file (0600, written atomically) after each
/// registration, so a passkey made in one run is still there in the next.
pub struct SoftAuthenticator {
    token: SoftToken,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The notice shown wherever the software authenticator is used.
pub const SOFT_NOTICE: &str = "This is a software authenticator for demos and tests, not a security key: its private keys are stored in a file on this computer.";

/// The loud flag that lets the software authenticator enroll with an issuer that is not on
/// this machine (issue 12 item 12).
pub const SOFT_REMOTE_FLAG: &str = "--dangerously-allow-soft-authenticator";

/// True when `issuer` is on this machine: exactly `localhost`, 127.0.0.0/8 or `[::1]`.
fn is_loopback_issuer(issuer: &url::Url) -> bool {
    match issuer.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The software authenticator claims user verification while its keys sit in a file, so a
/// policy that demands phishing-resistant MFA would be met by a file: it may enroll only with a
/// loopback issuer (the sandbox, the demo), unless the person passes [`SOFT_REMOTE_FLAG`].
pub fn check_soft_allowed(issuer: &url::Url, dangerously_allowed: bool) -> crate::Result<()> {
    if dangerously_allowed || is_loopback_issuer(issuer) {
        return Ok(());
    }
    Err(crate::Error::Config(format!(
        "the software authenticator (soft:PATH) keeps its private keys in a plain file and is only for the local sandbox and tests; refusing to enroll it with {}. Use a security key, or pass {SOFT_REMOTE_FLAG} if you really mean to put a file-based passkey on this instance",
        issuer.host_str().unwrap_or(issuer.as_str())
    )))
}

impl SoftAuthenticator {
    /// An authenticator that lives only in memory.
    pub fn ephemeral() -> Result<Self, AuthenticatorError> {
        let (token, _ca) =
            SoftToken::new(true).map_err(|e| AuthenticatorError::Device(format!("{e:?}")))?;
        Ok(Self { token, path: None })
    }

    /// Opens the authenticator saved at `path`, or creates a new one there.
    pub fn open_or_create(path: &Path) -> Result<Self, AuthenticatorError> {
        let storage = |reason: String| AuthenticatorError::Storage {
            path: path.to_path_buf(),
            reason,
        };
        let token = match crate::tokens::read_private_file(path) {
            Ok(Some(bytes)) => SoftToken::from_cbor(&bytes)
                .map_err(|e| storage(format!("it is not a software authenticator file ({e:?})")))?,
            Ok(None) => {
                let (token, _ca) = SoftToken::new(true).map_err(|e| storage(format!("{e:?}")))?;
                token
            }
            Err(e) => return Err(storage(e.to_string())),
        };
        let me = Self {
            token,
            path: Some(path.to_path_buf()),
        };
        me.save()?;
        Ok(me)
    }

    fn save(&self) -> Result<(), AuthenticatorError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let storage = |reason: String| AuthenticatorError::Storage {
            path: path.clone(),
            reason,
        };
        let bytes = self
            .token
            .to_cbor()
            .map_err(|e| storage(format!("{e:?}")))?;
        crate::tokens::write_private_file(path, &bytes).map_err(|e| storage(e.to_string()))
    }

    /// True when the token holds one of `ids` (a silent probe, like a CTAP pre-flight
    /// getAssertion with `up=false`).
    fn holds_any(&mut self, rp_id: &str, ids: &[Vec<u8>]) -> bool {
        if ids.is_empty() {
            return false;
        }
        let options = proto::PublicKeyCredentialRequestOptions {
            challenge: vec![0; 32],
            timeout: None,
            rp_id: rp_id.to_string(),
            allow_credentials: ids
                .iter()
                .map(|id| proto::AllowCredentials {
                    type_: "public-key".into(),
                    id: id.clone(),
                    transports: None,
                })
                .collect(),
            user_verification: proto::UserVerificationPolicy::Discouraged_DO_NOT_USE,
            hints: None,
            extensions: None,
        };
        AuthenticatorBackendHashedClientData::perform_auth(
            &mut self.token,
            vec![0; 32],
            options,
            1000,
        )
        .is_ok()
    }
}

#[async_trait]
impl Authenticator for SoftAuthenticator {
    fn info(&self) -> AuthenticatorInfo {
        AuthenticatorInfo {
            kind: AuthenticatorKind::Software,
            model: "Software authenticator".into(),
            aaguid: Some(SOFT_AAGUID.to_string()),
            hardware: false,
            notice: Some(SOFT_NOTICE.into()),
        }
    }

    async fn make_credential(
        &mut self,
        request: &MakeCredentialRequest,
    ) -> Result<MakeCredentialResponse, AuthenticatorError> {
        if request.resident_key {
            return Err(AuthenticatorError::NotSupported(
                "the software authenticator cannot store discoverable credentials".into(),
            ));
        }
        if self.holds_any(&request.rp_id, &request.exclude_credentials) {
            return Err(AuthenticatorError::CredentialExcluded);
        }
        let options = proto::PublicKeyCredentialCreationOptions {
            rp: proto::RelyingParty {
                name: request.rp_name.clone(),
                id: request.rp_id.clone(),
            },
            user: proto::User {
                id: request.user_id.clone(),
                name: request.user_name.clone(),
                display_name: request.user_display_name.clone(),
            },
            challenge: Vec::new(),
            pub_key_cred_params: request
                .algorithms
                .iter()
                .map(|alg| proto::PubKeyCredParams {
                    type_: "public-key".into(),
                    alg: *alg,
                })
                .collect(),
            timeout: None,
            exclude_credentials: None,
            authenticator_selection: Some(proto::AuthenticatorSelectionCriteria {
                authenticator_attachment: None,
                resident_key: None,
                require_resident_key: false,
                user_verification: match request.user_verification {
                    UserVerification::Required => proto::UserVerificationPolicy::Required,
                    UserVerification::Preferred => proto::UserVerificationPolicy::Preferred,
                    UserVerification::Discouraged => {
                        proto::UserVerificationPolicy::Discouraged_DO_NOT_USE
                    }
                },
            }),
            hints: None,
            attestation: None,
            attestation_formats: None,
            extensions: None,
        };
        if !request.algorithms.contains(&-7) {
            return Err(AuthenticatorError::NotSupported(
                "the software authenticator only supports ES256 (-7)".into(),
            ));
        }
        let timeout_ms = u32::try_from(request.timeout.as_millis()).unwrap_or(u32::MAX);
        let reply = AuthenticatorBackendHashedClientData::perform_register(
            &mut self.token,
            request.client_data_hash.to_vec(),
            options,
            timeout_ms,
        )
        .map_err(|e| AuthenticatorError::Device(format!("{e:?}")))?;
        self.save()?;
        Ok(MakeCredentialResponse {
            attestation_object: reply.response.attestation_object,
            transports: Vec::new(),
            attachment: None,
            discoverable: false,
        })
    }

    async fn get_assertion(
        &mut self,
        request: &GetAssertionRequest,
    ) -> Result<GetAssertionResponse, AuthenticatorError> {
        let options = proto::PublicKeyCredentialRequestOptions {
            challenge: Vec::new(),
            timeout: None,
            rp_id: request.rp_id.clone(),
            allow_credentials: request
                .allow_credentials
                .iter()
                .map(|id| proto::AllowCredentials {
                    type_: "public-key".into(),
                    id: id.clone(),
                    transports: None,
                })
                .collect(),
            user_verification: match request.user_verification {
                UserVerification::Required => proto::UserVerificationPolicy::Required,
                UserVerification::Preferred => proto::UserVerificationPolicy::Preferred,
                UserVerification::Discouraged => {
                    proto::UserVerificationPolicy::Discouraged_DO_NOT_USE
                }
            },
            hints: None,
            extensions: None,
        };
        if !self.holds_any(&request.rp_id, &request.allow_credentials) {
            return Err(AuthenticatorError::NotFound(
                "the software authenticator does not hold this passkey".into(),
            ));
        }
        let timeout_ms = u32::try_from(request.timeout.as_millis()).unwrap_or(u32::MAX);
        let reply = AuthenticatorBackendHashedClientData::perform_auth(
            &mut self.token,
            request.client_data_hash.to_vec(),
            options,
            timeout_ms,
        )
        .map_err(|e| AuthenticatorError::Device(format!("{e:?}")))?;
        // The signature counter moved.
        self.save()?;
        Ok(GetAssertionResponse {
            credential_id: Some(reply.raw_id),
            authenticator_data: reply.response.authenticator_data,
            signature: reply.response.signature,
        })
    }
}

#[cfg(test)]
mod soft_policy_tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn soft_authenticator_refused_for_a_remote_issuer() {
        for remote in [
            "https://my-instance.zitadel.cloud",
            "https://localhost.evil.example",
            "http://sub.localhost:8080",
            "https://10.0.0.1",
        ] {
            let e = check_soft_allowed(&url(remote), false).unwrap_err();
            assert!(e.to_string().contains(SOFT_REMOTE_FLAG), "{remote}: {e}");
        }
        assert!(check_soft_allowed(&url("https://my-instance.zitadel.cloud"), true).is_ok());
        for local in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
            "http://127.8.0.1",
        ] {
            assert!(check_soft_allowed(&url(local), false).is_ok(), "{local}");
        }
    }
}
