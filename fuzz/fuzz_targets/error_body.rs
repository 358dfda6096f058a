//! ZITADEL error bodies (`{code, message, details[{id}]}`) with any status.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeys_core::zitadel::ApiError;

fuzz_target!(|data: &[u8]| {
    let status = data.first().map(|b| 400 + u16::from(*b)).unwrap_or(500);
    let e = ApiError::from_response(status, data.get(1..).unwrap_or_default());
    let _ = e.to_string();
});
