//! AddMyPasswordless reply decoding: `key.publicKey` text and the decoded options JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeys_core::webauthn::{check_rp_id, CreationOptions};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = CreationOptions::from_add_response(text);
    }
    if let Ok(options) = CreationOptions::from_json(data) {
        let instance = url::Url::parse("https://auth.example.test").unwrap();
        let _ = check_rp_id(&options.rp_id, &instance);
    }
});
