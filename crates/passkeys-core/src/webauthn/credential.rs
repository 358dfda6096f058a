//! The `PublicKeyCredential` JSON sent to ZITADEL's verify step, and passkey (token) names.

use crate::b64;

/// The `PublicKeyCredential` JSON for registration (WebAuthn L3 §5.1, `toJSON()`), as
/// go-webauthn parses it (contract §3.2): `id` and `rawId` are base64url without padding of the
/// credential id taken from authData, never from the backend.
pub fn credential_json(
    credential_id: &[u8],
    client_data_json: &[u8],
    attestation_object: &[u8],
    transports: &[String],
    authenticator_attachment: Option<&str>,
) -> Vec<u8> {
    let id = b64::url_nopad(credential_id);
    let mut response = serde_json::json!({
        "clientDataJSON": b64::url_nopad(client_data_json),
        "attestationObject": b64::url_nopad(attestation_object),
    });
    if !transports.is_empty() {
        response["transports"] = serde_json::json!(transports);
    }
    let mut cred = serde_json::json!({
        "id": id,
        "rawId": id,
        "type": "public-key",
        "response": response,
        "clientExtensionResults": {},
    });
    if let Some(a) = authenticator_attachment {
        cred["authenticatorAttachment"] = serde_json::json!(a);
    }
    serde_json::to_vec(&cred).unwrap_or_default()
}

/// Maximum token name length in Unicode code points (ZITADEL `WebAuthNVerification.token_name`,
/// PGV `max_len: 200`).
pub const MAX_NAME_CHARS: usize = 200;

/// Validates a passkey (token) name: trimmed, 1 to 200 Unicode code points, no control
/// characters. Returns the trimmed name; the text is otherwise kept as typed.
///
/// # Errors
/// A message a person can act on.
pub fn validate_token_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(
            "the name is empty; give the passkey a name such as \"YubiKey 5 (work)\"".into(),
        );
    }
    let count = trimmed.chars().count();
    if count > MAX_NAME_CHARS {
        return Err(format!(
            "the name is {count} characters long; ZITADEL accepts at most {MAX_NAME_CHARS}"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("the name contains control characters (such as a line break)".into());
    }
    Ok(trimmed.to_string())
}
