//! CTAP2 replies from a security key: the CBOR body and authenticatorGetInfo.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = passkeys_ctap::cbor::decode(data);
    let _ = passkeys_ctap::info::DeviceInfo::parse(data);
});
