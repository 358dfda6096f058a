//! Test helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod fault;
pub mod prompt;
pub mod virt;

use std::time::Duration;

use passkeys_core::authenticator::MakeCredentialRequest;
use passkeys_core::webauthn::{self, UserVerification};

/// ZITADEL's algorithm list (go-webauthn's default, C05).
pub const ZITADEL_ALGS: [i64; 10] = [-7, -35, -36, -257, -258, -259, -37, -38, -39, -8];

/// A makeCredential request as the enrollment flow builds it.
pub fn request(user: &str) -> MakeCredentialRequest {
    MakeCredentialRequest {
        client_data_hash: webauthn::sha256(format!("client data for {user}").as_bytes()),
        rp_id: "example.com".into(),
        rp_name: "ZITADEL".into(),
        user_id: user.as_bytes().to_vec(),
        user_name: format!("{user}@example.com"),
        user_display_name: user.to_string(),
        algorithms: ZITADEL_ALGS.to_vec(),
        exclude_credentials: Vec::new(),
        user_verification: UserVerification::Required,
        resident_key: false,
        timeout: Duration::from_secs(30),
    }
}

/// The parsed attestation object of a reply.
pub fn parsed(
    reply: &passkeys_core::authenticator::MakeCredentialResponse,
) -> webauthn::ParsedAttestation {
    webauthn::parse_attestation_object(&reply.attestation_object).unwrap()
}
