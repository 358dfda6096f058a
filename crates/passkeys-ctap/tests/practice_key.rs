//! The practice key's seam as the demo uses it: a person's touch (the key waits, the engine
//! shows one touch prompt, `touch()` answers it), pulling the key out mid-command, Cancel while
//! it waits, and a power cycle that keeps the PIN and passkeys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::prompt::Script;
use common::request;
use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::Secret;
use passkeys_ctap::practice::{PracticeKey, PracticeStatus, Touch};
use passkeys_ctap::{CancellationToken, Device, Discoverable, KeyToken};

const PIN: &str = "123456";

async fn open(key: &PracticeKey, script: &Script) -> Device<KeyToken> {
    Device::open(
        KeyToken::Practice(key.token()),
        script.arc(),
        CancellationToken::new(),
    )
    .await
    .unwrap()
}

/// Waits until the key reports `wanted`.
async fn until(key: &PracticeKey, wanted: PracticeStatus) {
    let mut status = key.watch();
    status.wait_for(|s| *s == wanted).await.unwrap();
}

const WAITING: PracticeStatus = PracticeStatus {
    plugged: true,
    waiting_for_touch: true,
    changes: 0,
};

#[tokio::test]
async fn the_key_waits_for_the_persons_touch_and_the_engine_prompts_once() {
    let key = PracticeKey::with_touch(Touch::Person);
    let script = Script::new(&[PIN]);
    let mut d = open(&key, &script).await;
    d.set_pin(&Secret::new(PIN)).await.unwrap();
    assert!(!key.touch(), "no touch is awaited yet");
    let toucher = {
        let key = key.clone();
        tokio::spawn(async move {
            until(&key, WAITING).await;
            assert!(key.touch());
        })
    };
    let reply = d
        .make_credential(&request("alice"), Discoverable::Always)
        .await
        .unwrap();
    toucher.await.unwrap();
    assert!(!reply.attestation_object.is_empty());
    assert_eq!(script.touches(), 1, "one touch prompt");
    assert_eq!(
        key.status(),
        PracticeStatus {
            plugged: true,
            waiting_for_touch: false,
            changes: 0,
        }
    );
}

#[tokio::test]
async fn pulling_the_key_out_while_it_waits_for_a_touch_is_a_disconnect_and_it_comes_back() {
    let key = PracticeKey::with_touch(Touch::Person);
    let script = Script::new(&[PIN, PIN]);
    let mut d = open(&key, &script).await;
    d.set_pin(&Secret::new(PIN)).await.unwrap();
    let puller = {
        let key = key.clone();
        tokio::spawn(async move {
            until(&key, WAITING).await;
            key.unplug();
        })
    };
    let err = d
        .make_credential(&request("bob"), Discoverable::Always)
        .await
        .unwrap_err();
    puller.await.unwrap();
    assert!(matches!(err, AuthenticatorError::Disconnected), "{err:?}");
    assert!(!key.status().plugged);
    assert!(Device::open(
        KeyToken::Practice(key.token()),
        script.arc(),
        CancellationToken::new()
    )
    .await
    .is_err());

    // Re-inserted: the PIN is still set; with touches approved the enrollment goes through.
    key.plug_in();
    key.set_touch(Touch::Approve);
    let mut d = open(&key, &script).await;
    assert_eq!(d.info().client_pin(), Some(true));
    d.make_credential(&request("bob"), Discoverable::Always)
        .await
        .unwrap();
}

#[tokio::test]
async fn cancel_while_the_key_waits_stops_it_on_the_key() {
    let key = PracticeKey::with_touch(Touch::Person);
    let script = Script::new(&[PIN]);
    let mut d = open(&key, &script).await;
    d.set_pin(&Secret::new(PIN)).await.unwrap();
    let cancel = CancellationToken::new();
    d.set_cancel(cancel.clone());
    let canceller = {
        let key = key.clone();
        tokio::spawn(async move {
            until(&key, WAITING).await;
            cancel.cancel();
            // The key stops waiting once the engine has sent the transport's cancel.
            until(
                &key,
                PracticeStatus {
                    plugged: true,
                    waiting_for_touch: false,
                    changes: 0,
                },
            )
            .await;
        })
    };
    let err = d
        .make_credential(&request("carol"), Discoverable::Always)
        .await
        .unwrap_err();
    canceller.await.unwrap();
    assert!(matches!(err, AuthenticatorError::Cancelled), "{err:?}");
}

#[tokio::test]
async fn passkeys_and_pin_last_across_power_cycles_and_two_keys_are_independent() {
    let key = PracticeKey::new();
    let other = PracticeKey::new();
    let script = Script::new(&[PIN, PIN]);
    let mut d = open(&key, &script).await;
    d.set_pin(&Secret::new(PIN)).await.unwrap();
    d.make_credential(&request("dave"), Discoverable::Always)
        .await
        .unwrap();
    drop(d);
    key.replug();
    let mut d = open(&key, &script).await;
    assert_eq!(d.info().client_pin(), Some(true));
    let slots = d.credential_slots().await.unwrap().unwrap();
    assert_eq!(slots.used, 1);
    let fresh = open(&other, &Script::default()).await;
    assert_eq!(fresh.info().client_pin(), Some(false));
}
