//! What an authenticator asks of the person while it works: a PIN, a new PIN, a touch.
//!
//! Security-key engines (crate `passkeys-ctap`) call a [`Prompt`]; each shell implements it:
//! the CLI on the terminal (or from `--pin-env VAR`), the desktop app over its IPC channel.
//! PINs travel as [`Secret`]s: never logged, never in `Debug` output, zeroized on drop.

use async_trait::async_trait;
use serde::Serialize;

use crate::Secret;

/// Shortest PIN CTAP accepts when the key does not say otherwise (CTAP 2.1 §6.5.1: 4 code points).
pub const DEFAULT_MIN_PIN_LENGTH: usize = 4;
/// Longest PIN in UTF-8 bytes (CTAP 2.1 §6.5.5.1: 63 bytes).
pub const MAX_PIN_BYTES: usize = 63;

/// A PIN the authenticator needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum PinRequest {
    /// Enter the key's current PIN.
    #[serde(rename_all = "camelCase")]
    Enter {
        /// PIN attempts left before the key blocks its PIN (authenticatorClientPIN
        /// getPINRetries), when the key says.
        attempts_left: Option<u32>,
        /// The previous attempt was wrong.
        after_wrong_pin: bool,
    },
    /// The key has no PIN and one is required: choose a new PIN. The shell asks twice
    /// (confirmation) and returns it once.
    #[serde(rename_all = "camelCase")]
    SetNew {
        /// Minimum length in Unicode code points (getInfo minPINLength, else 4).
        min_length: usize,
        /// Maximum length in UTF-8 bytes (63).
        max_bytes: usize,
    },
    /// The key requires a new PIN before it can be used (getInfo forcePINChange, e.g. after an
    /// administrator set a temporary one). The current PIN was asked for just before. The shell
    /// asks twice (confirmation) and returns it once.
    #[serde(rename_all = "camelCase")]
    ChangeRequired {
        /// Minimum length in Unicode code points.
        min_length: usize,
        /// Maximum length in UTF-8 bytes (63).
        max_bytes: usize,
    },
}

/// Something to show the person; nothing to answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum PromptNotice {
    /// The key is working (CTAPHID keepalive "processing").
    Processing,
    /// Verify with the key's built-in method (fingerprint).
    UseBuiltInVerification,
    /// Built-in verification failed or is blocked; the PIN is used instead.
    FallingBackToPin,
    /// A new PIN was refused before or by the key; the reason says why. A new one is asked next.
    #[serde(rename_all = "camelCase")]
    PinRejected {
        /// Why.
        reason: String,
    },
    /// A PIN was set on the key.
    PinSet,
}

/// The person, as the authenticator engine sees them.
#[async_trait]
pub trait Prompt: Send + Sync {
    /// Asks for a PIN. `None` cancels the operation.
    async fn request_pin(&self, request: &PinRequest) -> Option<Secret>;
    /// Touch (or tap) the security key now. Must not block; called once per waiting period,
    /// not for every keepalive.
    fn touch(&self);
    /// Shows a notice. Must not block.
    fn notice(&self, _notice: &PromptNotice) {}
}

/// Checks a new PIN against CTAP's rules before it is sent (so a bad one never reaches the key):
/// at least `min_length` Unicode code points, at most 63 UTF-8 bytes, no NUL.
///
/// # Errors
/// A sentence saying which rule the PIN breaks.
pub fn check_new_pin(pin: &str, min_length: usize) -> Result<(), String> {
    let min_length = min_length.max(DEFAULT_MIN_PIN_LENGTH);
    if pin.chars().count() < min_length {
        return Err(format!("a PIN needs at least {min_length} characters"));
    }
    if pin.len() > MAX_PIN_BYTES {
        return Err(format!("a PIN can have at most {MAX_PIN_BYTES} bytes"));
    }
    if pin.contains('\0') {
        return Err("a PIN cannot contain a NUL character".into());
    }
    Ok(())
}

/// A prompt for runs without a person: no PIN, touches are only logged.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPrompt;

#[async_trait]
impl Prompt for NoPrompt {
    async fn request_pin(&self, _request: &PinRequest) -> Option<Secret> {
        None
    }
    fn touch(&self) {
        tracing::info!("touch the security key");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_pin_rules() {
        assert!(check_new_pin("123", 4).is_err());
        assert!(check_new_pin("1234", 4).is_ok());
        assert!(check_new_pin("12345", 6).is_err());
        assert!(check_new_pin("ääää", 4).is_ok(), "code points, not bytes");
        assert!(check_new_pin(&"x".repeat(64), 4).is_err());
        assert!(check_new_pin(&"x".repeat(63), 4).is_ok());
        assert!(check_new_pin("12\u{0}3", 2).is_err());
        assert!(check_new_pin("123", 0).is_err(), "never below 4");
    }
}
