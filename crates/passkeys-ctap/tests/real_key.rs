//! Tests on a real security key: opt-in. Set `PASSKEYS_REAL_KEY` to the key to use — `usb`,
//! `nfc`, or part of its model name or AAGUID as `passkeys authenticators` shows it — and, if
//! the key has a PIN, `PASSKEYS_REAL_KEY_PIN`. The tests refuse to run when more than one key is
//! attached (so they can never touch the wrong one) and never change the key's PIN or store a
//! credential on it; the registration test needs a touch.
//!
//! ```sh
//! PASSKEYS_REAL_KEY=yubikey PASSKEYS_REAL_KEY_PIN=... cargo test -p passkeys-ctap --test real_key -- --nocapture
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::prompt::Script;
use passkeys_core::prompt::Prompt;
use passkeys_ctap::discovery;
use passkeys_ctap::{CancellationToken, Discoverable};

/// The one attached key, if the person asked for real-key tests.
async fn the_key(
    prompt: Arc<dyn Prompt>,
) -> Option<passkeys_ctap::Device<passkeys_ctap::KeyToken>> {
    let Ok(wanted) = std::env::var("PASSKEYS_REAL_KEY") else {
        eprintln!("skipped: set PASSKEYS_REAL_KEY to run tests on a real security key");
        return None;
    };
    let wanted = wanted.to_lowercase();
    let mut devices = discovery::open_all(prompt, CancellationToken::new())
        .await
        .unwrap();
    assert!(
        devices.len() <= 1,
        "refusing to run: {} security keys are attached; leave only the one named by PASSKEYS_REAL_KEY",
        devices.len()
    );
    let device = devices
        .pop()
        .expect("PASSKEYS_REAL_KEY is set but no key is attached");
    let s = discovery::summary(&device);
    let matches = s.transport == wanted
        || s.model.to_lowercase().contains(&wanted)
        || s.aaguid.contains(&wanted);
    assert!(matches, "the attached key ({s:?}) is not {wanted:?}");
    Some(device)
}

#[tokio::test]
async fn real_key_answers_get_info() {
    let Some(device) = the_key(Script::default().arc()).await else {
        return;
    };
    let s = discovery::summary(&device);
    eprintln!("{s:#?}");
    assert!(!s.versions.is_empty());
}

#[tokio::test]
async fn real_key_registers_a_non_discoverable_credential() {
    let pin = std::env::var("PASSKEYS_REAL_KEY_PIN").unwrap_or_default();
    // One PIN answer only: a wrong PIN in the variable must not burn more attempts.
    let script = Script::new(&[pin.as_str()]);
    let Some(mut device) = the_key(script.arc()).await else {
        return;
    };
    if device.info().client_pin() == Some(false) {
        eprintln!("skipped: the key has no PIN, and these tests never set one");
        return;
    }
    eprintln!("touch the key when it blinks");
    let reply = device
        .make_credential(&common::request("real-key-test"), Discoverable::Never)
        .await
        .unwrap();
    let att = common::parsed(&reply);
    assert!(att.flags.user_present() && att.flags.user_verified());
    assert!(!reply.discoverable, "nothing is stored on the key");
}
