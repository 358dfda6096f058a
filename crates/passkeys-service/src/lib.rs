//! Passkey Enroll's service layer: every ceremony the desktop app and the CLI run, once.
//!
//! The shells parse arguments, call one function here and render the result in their own
//! words; they keep their `Prompt` implementations. This crate sits between them and the core
//! (`passkeys_core`: OIDC, ZITADEL, WebAuthn, enrollment) and the CTAP engine
//! (`passkeys_ctap`), and knows no transport (no Tauri, no terminal):
//!
//! - [`choose`]: the [`AuthenticatorChoice`] grammar and opening a security key (by index or by
//!   touch);
//! - [`environment`]: the [`Environment`] an instance runs in (real or demo) and its
//!   [`AuthenticatorSource`];
//! - [`locate`]: which authenticator holds a passkey, and testing it;
//! - [`key_ops`]: PIN set/change, the reset ceremony, credentials with their standing, orphans;
//! - [`passkeys`]: removing a passkey together with its inventory entry;
//! - [`helpdesk`]: enrolling a security key for another user with a random PIN.
#![forbid(unsafe_code)]

pub mod choose;
pub mod demo_folder;
pub mod environment;
pub mod helpdesk;
pub mod key_ops;
pub mod locate;
pub mod passkeys;

pub use choose::{AuthenticatorChoice, ChoiceError, KeyChoice, Transport};
pub use environment::{AuthenticatorSource, Environment};
