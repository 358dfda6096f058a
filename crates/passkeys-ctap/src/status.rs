//! CTAP status codes (CTAP 2.1 §8.2) and what each means for the person.

use passkeys_core::authenticator::AuthenticatorError;

/// CTAP2_ERR_CBOR_UNEXPECTED_TYPE.
pub const CBOR_UNEXPECTED_TYPE: u8 = 0x11;
/// CTAP2_ERR_CREDENTIAL_EXCLUDED.
pub const CREDENTIAL_EXCLUDED: u8 = 0x19;
/// CTAP2_ERR_UNSUPPORTED_ALGORITHM.
pub const UNSUPPORTED_ALGORITHM: u8 = 0x26;
/// CTAP2_ERR_OPERATION_DENIED.
pub const OPERATION_DENIED: u8 = 0x27;
/// CTAP2_ERR_KEY_STORE_FULL.
pub const KEY_STORE_FULL: u8 = 0x28;
/// CTAP2_ERR_UNSUPPORTED_OPTION.
pub const UNSUPPORTED_OPTION: u8 = 0x2B;
/// CTAP2_ERR_INVALID_OPTION.
pub const INVALID_OPTION: u8 = 0x2C;
/// CTAP2_ERR_KEEPALIVE_CANCEL.
pub const KEEPALIVE_CANCEL: u8 = 0x2D;
/// CTAP2_ERR_NO_CREDENTIALS.
pub const NO_CREDENTIALS: u8 = 0x2E;
/// CTAP2_ERR_USER_ACTION_TIMEOUT.
pub const USER_ACTION_TIMEOUT: u8 = 0x2F;
/// CTAP2_ERR_PIN_INVALID.
pub const PIN_INVALID: u8 = 0x31;
/// CTAP2_ERR_PIN_BLOCKED.
pub const PIN_BLOCKED: u8 = 0x32;
/// CTAP2_ERR_PIN_AUTH_INVALID.
pub const PIN_AUTH_INVALID: u8 = 0x33;
/// CTAP2_ERR_PIN_TOKEN_EXPIRED (CTAP 2.0).
pub const PIN_TOKEN_EXPIRED: u8 = 0x38;
/// CTAP2_ERR_UNAUTHORIZED_PERMISSION.
pub const UNAUTHORIZED_PERMISSION: u8 = 0x40;

/// The key refused a pinUvAuthToken it once gave (expired, lost at power-off, or without the
/// permission): a fresh token may work.
pub fn token_refused(status: u8) -> bool {
    matches!(
        status,
        PIN_AUTH_INVALID | PIN_TOKEN_EXPIRED | UNAUTHORIZED_PERMISSION
    )
}

/// CTAP2_ERR_PIN_AUTH_BLOCKED.
pub const PIN_AUTH_BLOCKED: u8 = 0x34;
/// CTAP2_ERR_PIN_NOT_SET.
pub const PIN_NOT_SET: u8 = 0x35;
/// CTAP2_ERR_PUAT_REQUIRED (PIN_REQUIRED in CTAP 2.0).
pub const PUAT_REQUIRED: u8 = 0x36;
/// CTAP2_ERR_PIN_POLICY_VIOLATION.
pub const PIN_POLICY_VIOLATION: u8 = 0x37;
/// CTAP2_ERR_ACTION_TIMEOUT.
pub const ACTION_TIMEOUT: u8 = 0x3A;
/// CTAP2_ERR_UV_BLOCKED.
pub const UV_BLOCKED: u8 = 0x3C;
/// CTAP2_ERR_UV_INVALID.
pub const UV_INVALID: u8 = 0x3F;

/// The name of a status, for messages.
pub fn name(status: u8) -> &'static str {
    match status {
        0x01 => "INVALID_COMMAND",
        0x02 => "INVALID_PARAMETER",
        0x03 => "INVALID_LENGTH",
        0x11 => "CBOR_UNEXPECTED_TYPE",
        0x12 => "INVALID_CBOR",
        0x14 => "MISSING_PARAMETER",
        0x15 => "LIMIT_EXCEEDED",
        0x19 => "CREDENTIAL_EXCLUDED",
        0x22 => "INVALID_CREDENTIAL",
        0x26 => "UNSUPPORTED_ALGORITHM",
        0x27 => "OPERATION_DENIED",
        0x28 => "KEY_STORE_FULL",
        0x2B => "UNSUPPORTED_OPTION",
        0x2C => "INVALID_OPTION",
        0x2D => "KEEPALIVE_CANCEL",
        0x2E => "NO_CREDENTIALS",
        0x2F => "USER_ACTION_TIMEOUT",
        0x30 => "NOT_ALLOWED",
        0x31 => "PIN_INVALID",
        0x32 => "PIN_BLOCKED",
        0x33 => "PIN_AUTH_INVALID",
        0x34 => "PIN_AUTH_BLOCKED",
        0x35 => "PIN_NOT_SET",
        0x36 => "PUAT_REQUIRED",
        0x37 => "PIN_POLICY_VIOLATION",
        0x39 => "REQUEST_TOO_LARGE",
        0x3A => "ACTION_TIMEOUT",
        0x3C => "UV_BLOCKED",
        0x3F => "UV_INVALID",
        0x40 => "UNAUTHORIZED_PERMISSION",
        _ => "an unknown error",
    }
}

/// What a status means when nothing more specific handled it.
pub fn to_error(status: u8) -> AuthenticatorError {
    match status {
        CREDENTIAL_EXCLUDED => AuthenticatorError::CredentialExcluded,
        KEY_STORE_FULL => AuthenticatorError::KeyStoreFull,
        OPERATION_DENIED | KEEPALIVE_CANCEL => AuthenticatorError::Cancelled,
        USER_ACTION_TIMEOUT | ACTION_TIMEOUT => AuthenticatorError::Timeout,
        PIN_INVALID => AuthenticatorError::PinInvalid {
            attempts_left: None,
        },
        PIN_BLOCKED => AuthenticatorError::PinBlocked,
        PIN_AUTH_BLOCKED => AuthenticatorError::PinAuthBlocked,
        PIN_NOT_SET => AuthenticatorError::PinNotSet("set a PIN on the key first".into()),
        PIN_POLICY_VIOLATION => AuthenticatorError::PinPolicy(
            "the key's PIN rules (length or complexity) refuse it".into(),
        ),
        UNSUPPORTED_ALGORITHM => AuthenticatorError::NotSupported(
            "this security key supports none of the signature algorithms the server accepts".into(),
        ),
        UV_BLOCKED => AuthenticatorError::NotSupported(
            "built-in verification on this key is blocked; use its PIN".into(),
        ),
        other => {
            AuthenticatorError::Device(format!("the key answered {} (0x{other:02X})", name(other)))
        }
    }
}
