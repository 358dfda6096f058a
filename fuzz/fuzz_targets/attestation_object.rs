//! attestationObject / authData parsing (CBOR from an authenticator).
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeys_core::webauthn::parse_attestation_object;

fuzz_target!(|data: &[u8]| {
    let _ = parse_attestation_object(data);
});
