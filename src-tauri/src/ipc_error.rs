//! The one error type that crosses the IPC boundary.
//!
//! `code` is stable and machine-readable: for core errors it is exactly
//! [`passkeys_core::Error::code`]; the few errors the shell itself raises have codes of their
//! own (listed on [`IpcError::app`]'s callers). The UI switches on `code` and shows its own
//! wording from `ui/strings.js`, with `message` (the core's sentence) as the detail.

use serde::Serialize;

/// A serializable error: `{"code", "message", "credentialId"?, "causeCode"?, "attemptsLeft"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IpcError {
    /// Stable machine code (e.g. `credential_rejected`, `not_signed_in`).
    pub code: &'static str,
    /// What happened and what to do, for people.
    pub message: String,
    /// For `not_registered`: the credential that was created but not registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// For `not_registered`: the code of the error that stopped the registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause_code: Option<&'static str>,
    /// For `pin_invalid`: PIN attempts left before the key blocks its PIN, when the key says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
}

impl IpcError {
    /// An error raised by the shell itself (not by the core).
    pub fn app(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            credential_id: None,
            cause_code: None,
            attempts_left: None,
        }
    }
}

impl From<passkeys_core::Error> for IpcError {
    fn from(e: passkeys_core::Error) -> Self {
        let (credential_id, cause_code) = match &e {
            passkeys_core::Error::NotRegistered {
                credential_id,
                source,
                ..
            } => (Some(credential_id.clone()), Some(source.code())),
            _ => (None, None),
        };
        let attempts_left = match &e {
            passkeys_core::Error::Authenticator(
                passkeys_core::authenticator::AuthenticatorError::PinInvalid { attempts_left },
            ) => *attempts_left,
            _ => None,
        };
        Self {
            code: e.code(),
            message: e.to_string(),
            credential_id,
            cause_code,
            attempts_left,
        }
    }
}

impl From<passkeys_core::authenticator::AuthenticatorError> for IpcError {
    fn from(e: passkeys_core::authenticator::AuthenticatorError) -> Self {
        passkeys_core::Error::from(e).into()
    }
}

impl std::fmt::Display for IpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for IpcError {}
