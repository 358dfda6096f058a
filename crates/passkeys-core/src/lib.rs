//! Core of Passkey Enroll. See docs/architecture.md.
#![forbid(unsafe_code)]

/// The crate version, shown by the CLI and the app.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
