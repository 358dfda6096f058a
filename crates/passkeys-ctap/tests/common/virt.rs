//! The virtual key: the practice security key of `passkeys_ctap::practice` (Trussed's
//! fido-authenticator 0.4.0-rc.4 on trussed's in-process `virt` platform), touches approved at once
//! unless a test says otherwise. `replug` power-cycles it (PIN, retries and discoverable
//! credentials kept).

#[allow(unused_imports)]
pub use passkeys_ctap::practice::{
    PracticeKey as VirtKey, PracticeToken as VirtToken, Touch, SLOTS,
};
