//! Why a passkey self-test failed.

use super::AuthenticatorError;
use super::ErrorCode;

/// Why the self-test failed. The passkey stays registered either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelfTestError {
    /// The authenticator could not sign in with the passkey (no answer, no such credential,
    /// PIN problems, cancelled).
    #[error("the passkey is registered, but the authenticator could not use it: {0}")]
    Authenticator(AuthenticatorError),
    /// The authenticator answered, but the answer does not check out.
    #[error("the passkey is registered, but the authenticator's answer does not check out: {0}")]
    Invalid(String),
    /// The public key's algorithm cannot be checked here.
    #[error("the passkey is registered; its algorithm ({0}) cannot be checked by this app")]
    UnsupportedAlgorithm(i64),
}

impl SelfTestError {
    /// Stable machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            SelfTestError::Authenticator(_) => ErrorCode::SelfTestAuthenticator,
            SelfTestError::Invalid(_) => ErrorCode::SelfTestInvalid,
            SelfTestError::UnsupportedAlgorithm(_) => ErrorCode::SelfTestUnsupportedAlgorithm,
        }
    }

    /// What the person can do about it.
    pub fn advice(&self) -> &'static str {
        match self {
            SelfTestError::Authenticator(AuthenticatorError::Cancelled)
            | SelfTestError::Authenticator(AuthenticatorError::Timeout) => {
                "Test the passkey again; touch the key (and enter its PIN) when asked."
            }
            SelfTestError::UnsupportedAlgorithm(_) => {
                "Sign in once with the passkey to be sure it works."
            }
            _ => "Do not rely on this passkey: sign in once with it to check, and if that fails remove it and add it again, or use another authenticator.",
        }
    }
}
