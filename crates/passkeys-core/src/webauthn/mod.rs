//! The WebAuthn client layer: what a browser does between the relying party (ZITADEL) and the
//! authenticator, done by the app.
//!
//! - [`CreationOptions::from_add_response`] decodes ZITADEL's `key.publicKey`
//!   (ZITADEL contract §2; WebAuthn L3 §5.4 `PublicKeyCredentialCreationOptions`).
//! - [`check_rp_id`] enforces WebAuthn L3 §5.1.3 step 8 / §13.4.8: the rpId must be the origin's
//!   host or a registrable domain suffix of it (Public Suffix List).
//! - [`client_data_json`] builds `CollectedClientData` (WebAuthn L3 §5.8.1).
//! - [`parse_attestation_object`] reads the authenticator's `attestationObject` and `authData`
//!   (WebAuthn L3 §6.1, §6.5).
//! - [`credential_json`] builds the `PublicKeyCredential` JSON ZITADEL's verify step parses
//!   (contract §3.2: base64url without padding; `id` = credential id from authData).

//! - [`create_credential`] runs the client steps of a registration in order (the analogue of
//!   passkey-rs `Client::register`): rpId rule, clientDataJSON, authenticatorMakeCredential,
//!   checks of the reply.

use sha2::{Digest, Sha256};

mod attestation;
mod client;
mod client_data;
mod credential;
mod options;
mod rp_id;

pub use crate::error::OptionsError;
pub use attestation::{
    aaguid_string, parse_attestation_object, AttestationError, Flags, ParsedAttestation,
};
pub use client::{create_credential, CreatedCredential};
pub use client_data::{client_data_json, client_data_json_get, origin_of};
pub use credential::{credential_json, validate_token_name, MAX_NAME_CHARS};
pub use options::{CreationOptions, ResidentKey, UserVerification};
pub use rp_id::check_rp_id;

/// SHA-256 (the `clientDataHash` of CTAP 2.1 §6.1, and `rpIdHash`).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests;
