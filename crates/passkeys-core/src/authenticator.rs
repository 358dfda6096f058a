//! The authenticator seam.
//!
//! The enrollment flow hands an [`Authenticator`] a [`MakeCredentialRequest`] that already
//! carries the `clientDataHash` (CTAP 2.1 §6.1 `authenticatorMakeCredential`), and gets back the
//! authenticator's own `attestationObject` bytes. USB/NFC security keys, platform
//! authenticators and phones plug in here without changing the flow.
//!
//! This module ships the [`SoftAuthenticator`]: a software authenticator for the demo and tests,
//! persisted to a file. It is **not** hardware: its keys live in a file on disk.

use async_trait::async_trait;
use serde::Serialize;

pub use crate::error::AuthenticatorError;

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

/// `userVerification` (WebAuthn L3 §5.8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    /// `required`: the authenticator must verify the user (PIN or biometrics).
    Required,
    /// `preferred` (also the default when absent).
    Preferred,
    /// `discouraged`.
    Discouraged,
}

mod soft;

pub use soft::{check_soft_allowed, SoftAuthenticator, SOFT_NOTICE, SOFT_REMOTE_FLAG};
