//! Errors from an authenticator (CTAP 2.1 statuses and device failures, said in words).

use super::ErrorCode;
use std::path::PathBuf;

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
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthenticatorError::CredentialExcluded => ErrorCode::CredentialExcluded,
            AuthenticatorError::NotSupported(_) => ErrorCode::AuthenticatorNotSupported,
            AuthenticatorError::Cancelled => ErrorCode::Cancelled,
            AuthenticatorError::Timeout => ErrorCode::AuthenticatorTimeout,
            AuthenticatorError::Storage { .. } => ErrorCode::AuthenticatorStorage,
            AuthenticatorError::Device(_) => ErrorCode::AuthenticatorFailed,
            AuthenticatorError::InvalidResponse(_) => ErrorCode::AuthenticatorInvalidResponse,
            AuthenticatorError::NotFound(_) => ErrorCode::AuthenticatorNotFound,
            AuthenticatorError::Disconnected => ErrorCode::AuthenticatorDisconnected,
            AuthenticatorError::PinInvalid { .. } => ErrorCode::PinInvalid,
            AuthenticatorError::PinAuthBlocked => ErrorCode::PinAuthBlocked,
            AuthenticatorError::PinBlocked => ErrorCode::PinBlocked,
            AuthenticatorError::PinNotSet(_) => ErrorCode::PinNotSet,
            AuthenticatorError::PinPolicy(_) => ErrorCode::PinPolicy,
            AuthenticatorError::KeyStoreFull => ErrorCode::KeyStoreFull,
        }
    }
}
