//! Passkey Enroll's CTAP 2.1 client engine for security keys.
//!
//! One code path for every key: [`Device`] speaks CTAP2 over webauthn-authenticator-rs's
//! public `transport::Token` trait, which its USB HID (fido-hid-rs) and NFC (PC/SC) transports
//! implement, and which the tests implement with an in-process Trussed fido-authenticator.
//! The client-side rules that webauthn-authenticator-rs 0.6 leaves out are here:
//!
//! - discoverable credentials (`rk`) by choice ([`Discoverable`]), slots from credential
//!   management;
//! - user verification: built-in UV, else the PIN (PIN/UV auth protocol 2, or 1 for CTAP 2.0
//!   keys), a PIN set first on keys without one; attempts left on every prompt; a stop on
//!   PIN_AUTH_BLOCKED and PIN_BLOCKED ([`plan::uv_plan`]);
//! - `pubKeyCredParams` filtered to the key's algorithms in the server's order
//!   ([`plan::algorithms`]); the exclude list within the key's limits ([`plan::exclude_batches`]);
//! - keepalives as one touch prompt, an overall deadline, Cancel that cancels on the device, and
//!   unplugging reported as such.
//!
//! Prompts reach the person through [`passkeys_core::prompt::Prompt`].
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod aaguid;
pub mod assertion;
pub mod bio;
pub mod cbor;
mod client_pin;
pub mod config;
pub mod credmgmt;
pub mod device;
pub mod discovery;
pub mod info;
pub mod key;
mod make_credential;
pub mod manage;
pub mod pin;
pub mod plan;
#[cfg(feature = "practice")]
pub mod practice;
pub mod session;
pub mod status;
pub mod token;

pub use device::{CredentialSlots, Device};
pub use info::DeviceInfo;
pub use key::SecurityKey;
pub use plan::Discoverable;
pub use token::KeyToken;
pub use tokio_util::sync::CancellationToken;
