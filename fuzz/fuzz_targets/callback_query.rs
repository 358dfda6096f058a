//! The loopback callback request's query string.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeys_core::loopback::classify_callback;

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        let _ = classify_callback(query, "expected-state");
    }
});
