//! The WebAuthn client steps of a registration, in order (WebAuthn L3 §5.1.3; the analogue of
//! passkey-rs `Client::register`): clamp the timeout, refuse an rpId the instance may not claim,
//! build clientDataJSON for the instance origin, call authenticatorMakeCredential with its
//! hash, and check the reply (rpIdHash, UP, UV, algorithm), taking the credential id from
//! authData. Shared by self-service ([`crate::enroll`]) and helpdesk ([`crate::helpdesk`])
//! enrollment.

use url::Url;

use super::{
    check_rp_id, client_data_json, credential_json, origin_of, parse_attestation_object, sha256,
    CreationOptions, ParsedAttestation, ResidentKey, UserVerification,
};
use crate::authenticator::{
    Authenticator, AuthenticatorError, AuthenticatorInfo, MakeCredentialRequest,
    MakeCredentialResponse,
};
use crate::error::{Error, Result};
use crate::progress::{EnrollEvent, EnrollObserver};

/// Default and bounds for the authenticator deadline when the options give none or an odd one.
const DEFAULT_TIMEOUT_MS: u64 = 300_000;
const MIN_TIMEOUT_MS: u64 = 30_000;
const MAX_TIMEOUT_MS: u64 = 600_000;

/// A credential the authenticator created and the client checked, ready for the verify call.
#[derive(Debug, Clone)]
pub struct CreatedCredential {
    /// The parsed attestation (credential id, AAGUID, algorithm, public key).
    pub parsed: ParsedAttestation,
    /// base64url credential id.
    pub credential_id: String,
    /// The `PublicKeyCredential` JSON to send.
    pub credential_json: Vec<u8>,
    /// The authenticator's reply.
    pub reply: MakeCredentialResponse,
}

/// The client steps of a registration (module docs): the rpId rule, clientDataJSON for the
/// instance origin, authenticatorMakeCredential, and the checks of the reply, with the
/// credential id taken from authData. Reports [`EnrollEvent::OptionsChecked`],
/// [`EnrollEvent::WaitingForAuthenticator`] and [`EnrollEvent::Created`].
///
/// # Errors
/// [`Error::Options`] (`RpIdRefused`) before the authenticator is touched; the authenticator's
/// errors; [`AuthenticatorError::InvalidResponse`] when the reply does not check out.
pub async fn create_credential(
    options: &CreationOptions,
    instance: &Url,
    authenticator: &mut dyn Authenticator,
    info: &AuthenticatorInfo,
    observer: &dyn EnrollObserver,
) -> Result<CreatedCredential> {
    check_rp_id(&options.rp_id, instance)?;
    observer.on_event(&EnrollEvent::OptionsChecked {
        rp_id: options.rp_id.clone(),
    });
    let client_data = client_data_json(&options.challenge, &origin_of(instance));
    let timeout_ms = options
        .timeout_ms
        .unwrap_or(DEFAULT_TIMEOUT_MS)
        .clamp(MIN_TIMEOUT_MS, MAX_TIMEOUT_MS);
    let request = MakeCredentialRequest {
        client_data_hash: sha256(&client_data),
        rp_id: options.rp_id.clone(),
        rp_name: options.rp_name.clone(),
        user_id: options.user_id.clone(),
        user_name: options.user_name.clone(),
        user_display_name: options.user_display_name.clone(),
        algorithms: options.algorithms.clone(),
        exclude_credentials: options.exclude_credentials.clone(),
        user_verification: options.user_verification,
        resident_key: options.resident_key == ResidentKey::Required,
        timeout: std::time::Duration::from_millis(timeout_ms),
    };
    observer.on_event(&EnrollEvent::WaitingForAuthenticator {
        authenticator: info.clone(),
    });
    let reply = authenticator.make_credential(&request).await?;

    let parsed = parse_attestation_object(&reply.attestation_object)
        .map_err(|e| AuthenticatorError::InvalidResponse(e.0))?;
    let invalid =
        |what: &str| Error::Authenticator(AuthenticatorError::InvalidResponse(what.to_string()));
    if parsed.rp_id_hash != sha256(options.rp_id.as_bytes()) {
        return Err(invalid("the rpIdHash does not match the requested rpId"));
    }
    if !parsed.flags.user_present() {
        return Err(invalid("user presence (UP) is not set"));
    }
    if options.user_verification == UserVerification::Required && !parsed.flags.user_verified() {
        return Err(invalid(
            "user verification (UV) is required but was not performed",
        ));
    }
    if let Some(alg) = parsed.alg {
        if !options.algorithms.contains(&alg) {
            return Err(invalid(&format!(
                "the key uses algorithm {alg}, which was not requested"
            )));
        }
    }
    let credential_id = crate::b64::url_nopad(&parsed.credential_id);
    observer.on_event(&EnrollEvent::Created {
        credential_id: credential_id.clone(),
    });
    let credential_json = credential_json(
        &parsed.credential_id,
        &client_data,
        &reply.attestation_object,
        &reply.transports,
        reply.attachment.as_deref(),
    );
    Ok(CreatedCredential {
        parsed,
        credential_id,
        credential_json,
        reply,
    })
}
