//! The one error type that crosses the IPC boundary.
//!
//! `code` is stable and machine-readable: for core errors it is exactly
//! [`passkeys_core::Error::code`]; the few errors the shell itself raises have codes of their
//! own (listed on [`IpcError::app`]'s callers). The UI switches on `code` and shows its own
//! wording from `ui/strings.js`, with `message` (the core's sentence) as the detail.

use serde::Serialize;

/// A serializable error: `{"code", "message", "credentialId"?, "causeCode"?, "attemptsLeft"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct IpcError {
    /// Stable machine code (e.g. `credential_rejected`, `not_signed_in`): one of [`error_codes`].
    #[cfg_attr(test, ts(type = "ErrorCode"))]
    pub code: &'static str,
    /// What happened and what to do, for people.
    pub message: String,
    /// For `not_registered`: the credential that was created but not registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub credential_id: Option<String>,
    /// For `not_registered`: the code of the error that stopped the registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional, type = "ErrorCode"))]
    pub cause_code: Option<&'static str>,
    /// For `pin_invalid`: PIN attempts left before the key blocks its PIN, when the key says.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub attempts_left: Option<u32>,
}

/// Every `code` an [`IpcError`] can carry: the core's (`passkeys_core::Error::code`, with the
/// authenticator, API and self-test codes it passes on) and the shell's own ([`IpcError::app`]).
/// ui/types/ipc.d.ts has them as the `ErrorCode` union (src-tauri/src/ipc_types.rs).
///
/// TODO(lead): once `passkeys_core::ErrorCode` lands, build this from `ErrorCode::ALL` (plus the
/// shell's codes) instead of the list below.
// Read by the ipc_types test only (it writes the union into ui/types/ipc.d.ts).
#[cfg_attr(not(test), allow(dead_code))]
pub fn error_codes() -> Vec<&'static str> {
    vec![
        // passkeys_core::Error::code
        "invalid_issuer",
        "insecure_url",
        "discovery_failed",
        "missing_client_id",
        "missing_issuer",
        "sign_in_timed_out",
        "authorization_failed",
        "token_request_failed",
        "invalid_id_token",
        "not_signed_in",
        "session_expired",
        "keychain_error",
        "file_error",
        "corrupt_file",
        "network_error",
        "response_too_large",
        "untrusted_link",
        "invalid_creation_options",
        "invalid_name",
        "not_registered",
        "browser_failed",
        "config_error",
        "cancelled",
        "not_in_inventory",
        // passkeys_core::zitadel::ApiErrorKind::code
        "no_pending_registration",
        "credential_unparsable",
        "credential_rejected",
        "not_found",
        "mfa_required",
        "permission_denied",
        "invalid_argument",
        "server_unavailable",
        "server_error",
        // passkeys_core::authenticator::AuthenticatorError::code
        "credential_excluded",
        "authenticator_not_supported",
        "authenticator_timeout",
        "authenticator_storage",
        "authenticator_failed",
        "authenticator_invalid_response",
        "authenticator_not_found",
        "authenticator_disconnected",
        "pin_invalid",
        "pin_auth_blocked",
        "pin_blocked",
        "pin_not_set",
        "pin_policy",
        "key_store_full",
        // passkeys_core::selftest::SelfTestError::code
        "self_test_authenticator",
        "self_test_invalid",
        "self_test_unsupported_algorithm",
        // The shell's own (IpcError::app)
        "busy",
        "cannot_check",
        "different_key",
        "internal",
        "invalid_id",
        "no_config_dir",
        "no_instance",
        "no_pin_request",
        "not_confirmed",
        "qr_failed",
        "sandbox_failed",
        "unknown_authenticator",
    ]
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
