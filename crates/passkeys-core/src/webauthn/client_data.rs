//! `CollectedClientData` (WebAuthn L3 §5.8.1) for registration and assertion, and the origin
//! it names.

use serde::Serialize;
use url::Url;

/// The origin of the instance: `scheme://host[:port]`, no trailing slash (HTML origin
/// serialisation; default ports omitted).
pub fn origin_of(instance: &Url) -> String {
    instance.origin().ascii_serialization()
}

/// `CollectedClientData` for registration (WebAuthn L3 §5.8.1.1, "limited verification
/// algorithm" member order): `{"type":"webauthn.create","challenge":…,"origin":…,"crossOrigin":false}`.
/// The challenge is copied exactly as the server sent it.
pub fn client_data_json(challenge: &str, origin: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct ClientData<'a> {
        #[serde(rename = "type")]
        ty: &'a str,
        challenge: &'a str,
        origin: &'a str,
        #[serde(rename = "crossOrigin")]
        cross_origin: bool,
    }
    // Serialising a struct of strings and a bool cannot fail.
    serde_json::to_vec(&ClientData {
        ty: "webauthn.create",
        challenge,
        origin,
        cross_origin: false,
    })
    .unwrap_or_default()
}

/// `CollectedClientData` for an assertion (WebAuthn L3 §5.8.1), member order as for
/// registration.
pub fn client_data_json_get(challenge: &str, origin: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": "webauthn.get",
        "challenge": challenge,
        "origin": origin,
        "crossOrigin": false,
    }))
    .unwrap_or_default()
}
