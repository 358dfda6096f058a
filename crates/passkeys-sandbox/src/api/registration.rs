//! WebAuthn registration shared by v1 AddMyPasswordless/VerifyMyPasswordless and v2
//! RegisterPasskey/VerifyPasskeyRegistration: ZITADEL's relying-party settings (contract
//! §2.2), go-webauthn's credential parsing rules (§3.2) and webauthn-rs verification (§3.3).

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AuthenticatorAttestationResponseRaw, COSEAlgorithm,
    RegisterPublicKeyCredential, UserVerificationPolicy,
};
use webauthn_rs_core::WebauthnCore;

use super::common::{ApiError, RAW_URL};
use crate::state::{Passkey, Shared};
use crate::users::SandboxUser;
use webauthn_rs_core::proto::RegistrationState;
use webauthn_rs_core::proto::{AuthenticatorAttachment, PublicKeyCredentialCreationOptions};

/// `WebAuthNName` default (contract §2.2 `rp.name`).
pub(super) const RP_NAME: &str = "ZITADEL";
/// Passwordless timeout (contract §2.2).
pub(super) const PASSWORDLESS_TIMEOUT_MS: u32 = 300_000;

/// go-webauthn's default credential parameters, in its order (contract §2.2).
pub(super) fn zitadel_algorithms() -> Vec<COSEAlgorithm> {
    vec![
        COSEAlgorithm::ES256,
        COSEAlgorithm::ES384,
        COSEAlgorithm::ES521,
        COSEAlgorithm::RS256,
        COSEAlgorithm::RS384,
        COSEAlgorithm::RS512,
        COSEAlgorithm::PS256,
        COSEAlgorithm::PS384,
        COSEAlgorithm::PS512,
        COSEAlgorithm::EDDSA,
    ]
}

pub(super) fn webauthn_core(rp_id: &str, origin: url::Url) -> WebauthnCore {
    WebauthnCore::new_unsafe_experts_only(
        RP_NAME,
        rp_id,
        vec![origin],
        Duration::from_millis(u64::from(PASSWORDLESS_TIMEOUT_MS)),
        None,
        None,
    )
}

/// go-webauthn `URLEncodedBase64`: trailing `=` trimmed, then RawURL-decoded; `null` is empty.
pub(super) fn url_b64_member(v: Option<&Value>) -> Result<Vec<u8>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => RAW_URL
            .decode(s.trim_end_matches('='))
            .map_err(|e| format!("not base64url: {e}")),
        Some(_) => Err("not a string".into()),
    }
}

/// Parses the credential JSON with go-webauthn v0.10.2's rules (contract §3.2). The error text
/// is only logged; the client sees `WEBAU-sEr8c`.
pub(super) fn parse_credential(bytes: &[u8]) -> Result<RegisterPublicKeyCredential, String> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("credential is not one JSON value: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("credential is not a JSON object".into());
    };
    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err("missing ID".into()),
    };
    match RAW_URL.decode(&id) {
        Ok(b) if !b.is_empty() => {}
        _ => return Err("ID not base64.RawURLEncoded".into()),
    }
    if obj.get("type").and_then(Value::as_str) != Some("public-key") {
        return Err("type is not public-key".into());
    }
    let raw_id = url_b64_member(obj.get("rawId")).map_err(|e| format!("rawId: {e}"))?;
    let Some(Value::Object(response)) = obj.get("response") else {
        return Err("missing response".into());
    };
    let client_data_json = url_b64_member(response.get("clientDataJSON"))
        .map_err(|e| format!("clientDataJSON: {e}"))?;
    match serde_json::from_slice::<Value>(&client_data_json) {
        Ok(Value::Object(_)) => {}
        _ => return Err("clientDataJSON is not a JSON object".into()),
    }
    let attestation_object = url_b64_member(response.get("attestationObject"))
        .map_err(|e| format!("attestationObject: {e}"))?;
    if attestation_object.is_empty() {
        return Err("missing attestationObject".into());
    }
    let raw_id = if raw_id.is_empty() {
        RAW_URL.decode(&id).unwrap_or_default()
    } else {
        raw_id
    };
    Ok(RegisterPublicKeyCredential {
        id,
        raw_id,
        response: AuthenticatorAttestationResponseRaw {
            attestation_object,
            client_data_json,
            transports: None,
        },
        type_: "public-key".into(),
        extensions: Default::default(),
    })
}

/// webauthn-rs errors that go-webauthn raises while *parsing* (CBOR, authData, JSON).
pub(super) fn is_parse_error(e: &WebauthnError) -> bool {
    matches!(
        e,
        WebauthnError::ParseBase64Failure(_)
            | WebauthnError::ParseCBORFailure(_)
            | WebauthnError::ParseJSONFailure(_)
            | WebauthnError::ParseNOMFailure
            | WebauthnError::ParseInsufficientBytesAvailable
    )
}

/// Verifies a registration with webauthn-rs (RP ID `rp_id`, allowed origin `origin`, the
/// stored challenge state) and turns the pending passkey `pending_id` READY under `name`
/// (contract §3.3, §8.2). Shared by v1 VerifyMyPasswordless and v2 VerifyPasskeyRegistration.
pub(crate) fn finish_registration(
    sh: &Shared,
    rp_id: &str,
    origin: url::Url,
    reg: &RegisterPublicKeyCredential,
    reg_state: &RegistrationState,
    pending_id: &str,
    name: String,
) -> Result<(), ApiError> {
    let core = webauthn_core(rp_id, origin.clone());
    let credential = core.register_credential(reg, reg_state, None).map_err(|e| {
        tracing::debug!(error = %e, rp_id = %rp_id, origin = %origin, "registration verification failed");
        if is_parse_error(&e) {
            ApiError::parse_credential()
        } else {
            ApiError::create_failed()
        }
    })?;
    sh.with(|s| {
        let p = s
            .passkeys
            .iter_mut()
            .find(|p| p.id == pending_id && !p.is_ready())?;
        p.credential = Some(credential);
        p.name = Some(name);
        p.reg_state = None;
        Some(())
    })
    .ok_or_else(ApiError::webauthn_not_found)
}

/// A registration begun by [`begin_registration`]: the options webauthn-rs generated (binary
/// members as bytes; v1 and v2 each marshal them their own way) and the pending passkey.
pub(super) struct Begun {
    pub(super) options: PublicKeyCredentialCreationOptions,
    /// The challenge, base64url without padding, as stored with the pending passkey.
    pub(super) challenge: String,
    /// The pending passkey's id.
    pub(super) passkey_id: String,
    /// The event sequence after the change (`details.sequence`).
    pub(super) sequence: u64,
}

/// BeginRegistration for `user`, shared by v1 AddMyPasswordless and v2 RegisterPasskey
/// (contract §1.4, §2.2; ZITADEL `webauthn.go` `BeginRegistration` with go-webauthn's
/// defaults): UV required, no attestation, the ten default algorithms, the user's ready
/// credentials excluded, resident key not required, `attachment` as asked. The user handle is
/// `user_handle` (the user id, or another user's for the `OptionsForAnotherUser` fault). The
/// new pending passkey replaces any pending one of the user: v1 and v2 share one token pool.
/// Errors: 500 `WEBAU-bM8sd` when webauthn-rs refuses.
pub(super) fn begin_registration(
    sh: &Shared,
    user: &SandboxUser,
    user_handle: &[u8],
    rp_id: &str,
    origin: url::Url,
    attachment: Option<AuthenticatorAttachment>,
) -> Result<Begun, ApiError> {
    let exclude: Vec<Vec<u8>> = sh.with(|s| {
        s.passkeys
            .iter()
            .filter(|p| p.user_id == user.id)
            .filter_map(|p| p.credential.as_ref().map(|c| c.cred_id.clone()))
            .collect()
    });
    let core = webauthn_core(rp_id, origin);
    let begin_failed = |e: WebauthnError| {
        tracing::warn!(error = %e, "BeginRegistration failed");
        ApiError::zitadel(13, "WEBAU-bM8sd", "Error on begin register")
    };
    let builder = core
        .new_challenge_register_builder(user_handle, &user.login_name(), &user.display_name())
        .map_err(begin_failed)?
        .attestation(AttestationConveyancePreference::None)
        .user_verification_policy(UserVerificationPolicy::Required)
        .credential_algorithms(zitadel_algorithms())
        .exclude_credentials((!exclude.is_empty()).then_some(exclude))
        .require_resident_key(false)
        .authenticator_attachment(attachment);
    let (ccr, reg_state) = core
        .generate_challenge_register(builder)
        .map_err(begin_failed)?;
    let options = ccr.public_key;
    let challenge = RAW_URL.encode(&options.challenge);
    let (passkey_id, sequence) = sh.with(|s| {
        s.passkeys.retain(|p| p.is_ready() || p.user_id != user.id);
        let id = s.next_id();
        s.passkeys.push(Passkey {
            user_id: user.id.clone(),
            rp_id: rp_id.to_string(),
            id: id.clone(),
            name: None,
            challenge: challenge.clone(),
            reg_state: Some(reg_state),
            credential: None,
        });
        (id, s.next_sequence())
    });
    Ok(Begun {
        options,
        challenge,
        passkey_id,
        sequence,
    })
}
