//! Core of Passkey Enroll: everything the CLI (`passkeys`) and the desktop app do, with no
//! Tauri dependency. See docs/architecture.md.
//!
//! - [`oidc`]: sign-in (OAuth 2.0 authorization code + PKCE S256, RFC 8252 loopback redirect,
//!   OIDC discovery and ID token validation).
//! - [`display`]: text from servers and keys made safe for a terminal.
//! - [`tokens`]: token storage (OS keychain, 0600 file, memory) and [`session`]: refresh with
//!   rotation, one refresh at a time across processes.
//! - [`zitadel`]: the ZITADEL Auth API v1 client.
//! - [`webauthn`]: the WebAuthn client layer (options, rpId rule, clientDataJSON, credential JSON).
//! - [`authenticator`]: the authenticator seam and the software authenticator; [`prompt`]: what
//!   an authenticator asks of the person (PIN, new PIN, touch).
//! - [`enroll`]: the enrollment flow that ties them together (its front door is
//!   [`enroll::add_passkey_with`]; [`progress`] its events); [`selftest`]: signing in once with
//!   a new passkey, checked locally; [`inventory`]: the passkeys this app enrolled.
//! - [`error`]: the error type, the reason types beside it and the closed list of codes;
//!   [`files`]: private (0600/0700) files and directories.
//!
//! No module imports a module that imports it back (`tests/no_import_circles.rs`).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod authenticator;
pub mod b64;
pub mod browser;
pub mod config;
pub mod display;
pub mod enroll;
pub mod error;
pub mod files;
pub mod helpdesk;
pub mod http;
pub mod inventory;
pub mod link_enroll;
pub mod links;
pub mod loopback;
pub mod oidc;
pub use zitadel::passkey_api;
pub mod profiles;
pub mod progress;
pub mod prompt;
pub mod secret;
pub mod selftest;
pub mod session;
pub mod tokens;
pub mod webauthn;
pub mod zitadel;

pub use error::{Error, ErrorCode, Result};
pub use secret::Secret;

/// The crate version, shown by the CLI and the app.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
