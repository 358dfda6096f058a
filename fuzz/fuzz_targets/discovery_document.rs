//! The discovery document check (issue 12, items 4–5): any bytes, never a panic; a document it
//! accepts has every endpoint on the issuer's origin.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeys_core::config::parse_issuer;
use passkeys_core::oidc::check_discovery_document;

fuzz_target!(|data: &[u8]| {
    let issuer = parse_issuer("https://acme.example.com").unwrap();
    if check_discovery_document(data, &issuer).is_ok() {
        let v: serde_json::Value = serde_json::from_slice(data).unwrap();
        for member in [
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "revocation_endpoint",
            "end_session_endpoint",
            "jwks_uri",
            "device_authorization_endpoint",
        ] {
            if let Some(s) = v.get(member).and_then(|x| x.as_str()) {
                let u = url::Url::parse(s).unwrap();
                assert_eq!(u.origin(), issuer.url.origin(), "{member}");
            }
        }
    }
});
