//! Helpdesk enrollment with a random PIN, then forcePINChange (issue 5): after the passkey is
//! registered, `helpdesk::force_pin_change` makes the key ask its user for a new PIN at first
//! use (CTAP 2.1 authenticatorConfig setMinPINLength with forceChangePin), answering the key's
//! PIN request with the PIN just set.
//!
//! The virtual Trussed key (fido-authenticator 0.4) has authenticatorConfig: against it, the
//! whole helpdesk flow runs with the sandbox, the change is forced, and the next use of the key
//! asks for the random PIN and then a new one. The wire format, a key without setMinPINLength
//! and a key that refuses run against the scripted key ("scripted key only").
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ciborium::Value;
use common::fault::{self, info_ctap21_pin, Reply, ScriptKey};
use common::prompt::Script;
use common::virt::VirtKey;
use passkeys_core::authenticator::SoftAuthenticator;
use passkeys_core::helpdesk::{
    enroll_for_user, force_pin_change, ForcePinChange, HelpdeskClient, PasskeyAuthenticator,
};
use passkeys_core::prompt::PinRequest;
use passkeys_core::Secret;
use passkeys_ctap::{CancellationToken, Device, Discoverable, SecurityKey};
use passkeys_sandbox::{Sandbox, SandboxConfig, ADMIN_PASSWORD, ADMIN_USERNAME, ALICE_USERNAME};

/// The random PIN the helpdesk prompt would have made up.
const PIN: &str = "604817";

async fn admin(sandbox: &Sandbox) -> HelpdeskClient {
    HelpdeskClient::new(
        passkeys_testkit::signed_in_as(sandbox, ADMIN_USERNAME, ADMIN_PASSWORD).await,
    )
}

#[tokio::test]
async fn the_virtual_key_gets_the_random_pin_and_its_user_must_change_it() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = admin(&sandbox).await;
    let alice = client.find_user(ALICE_USERNAME).await.unwrap();
    let key = VirtKey::new();
    // The helpdesk prompt: the random PIN as the first PIN, then the same PIN whenever the key
    // asks for it.
    let script = Script::new(&[PIN, PIN, PIN, PIN]);
    let device = Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap();
    // The sandbox verifies with webauthn-rs 0.6, which cannot verify EdDSA: keep ES256.
    let mut auth = SecurityKey::new(device, Discoverable::Auto).only_algorithms(vec![-7]);
    let enrolled = enroll_for_user(
        &client,
        &alice,
        &mut auth,
        PasskeyAuthenticator::CrossPlatform,
        Some("Alice key"),
        &|_: &_| {},
    )
    .await
    .unwrap();
    assert_eq!(enrolled.passkey.name, "Alice key");
    assert!(
        matches!(script.requests().first(), Some(PinRequest::SetNew { .. })),
        "{:?}",
        script.requests()
    );
    assert_eq!(auth.device().info().client_pin(), Some(true));

    let outcome = force_pin_change(&mut auth).await;
    assert_eq!(outcome, ForcePinChange::Set);
    assert_eq!(serde_json::to_value(&outcome).unwrap()["state"], "set");
    drop(auth);

    // Alice's first use: the key takes the random PIN only to change it (CTAP 2.1 §6.5.5.7:
    // no token while forcePINChange), then works with her new PIN.
    let alice_pin = "271828";
    let first_use = Script::new(&[PIN, alice_pin]);
    let mut device = Device::open(key.token(), first_use.arc(), CancellationToken::new())
        .await
        .unwrap();
    assert!(device.info().force_pin_change, "getInfo forcePINChange");
    assert!(device.credential_slots().await.is_ok());
    assert!(
        matches!(
            first_use.requests().as_slice(),
            [PinRequest::Enter { .. }, PinRequest::ChangeRequired { .. }]
        ),
        "{:?}",
        first_use.requests()
    );
    let mut again = Device::open(
        key.token(),
        Script::new(&[alice_pin]).arc(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(!again.info().force_pin_change);
    assert!(again.credential_slots().await.is_ok());
    sandbox.shutdown().await;
}

/// getInfo of a CTAP 2.1 key with authenticatorConfig; `pin_set` says whether it has a PIN.
fn config_info(pin_set: bool, set_min_pin_length: bool) -> Value {
    let mut info = info_ctap21_pin();
    if let Value::Map(m) = &mut info {
        if let Some((_, Value::Map(opts))) = m.iter_mut().find(|(k, _)| *k == fault::int(4)) {
            for (k, v) in opts.iter_mut() {
                if *k == fault::text("clientPin") {
                    *v = Value::Bool(pin_set);
                }
            }
            opts.push((fault::text("authnrCfg"), Value::Bool(true)));
            if set_min_pin_length {
                opts.push((fault::text("setMinPINLength"), Value::Bool(true)));
            }
        }
        m.push((fault::int(0x0D), fault::int(6)));
    }
    info
}

/// A fresh scripted key (no PIN) whose getInfo says "PIN set" once setPIN was sent; config
/// commands get `config`.
fn fresh_key(set_min_pin_length: bool, config: fn() -> Reply) -> ScriptKey {
    let pin_set = Arc::new(AtomicBool::new(false));
    ScriptKey::new(
        config_info(false, set_min_pin_length),
        move |seen, _| match (seen.cmd, seen.sub()) {
            (0x04, _) => Reply::Ok(config_info(
                pin_set.load(Ordering::SeqCst),
                set_min_pin_length,
            )),
            (0x06, Some(3)) => {
                pin_set.store(true, Ordering::SeqCst);
                Reply::Standard
            }
            (0x0D, _) => config(),
            _ => Reply::Standard,
        },
    )
}

/// The random PIN is set on a fresh key (as the enrollment does when the key asks for its
/// first PIN), then forcePINChange.
async fn random_pin_then_force(key: &ScriptKey, script: &Script) -> ForcePinChange {
    let mut device = Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap();
    device.set_first_pin(&Secret::new(PIN)).await.unwrap();
    let mut auth = SecurityKey::new(device, Discoverable::Auto);
    force_pin_change(&mut auth).await
}

#[tokio::test]
async fn force_pin_change_is_set_with_the_pin_just_set_scripted_key_only() {
    let key = fresh_key(true, || Reply::Ok(Value::Null));
    let script = Script::new(&[PIN]);
    let outcome = random_pin_then_force(&key, &script).await;
    assert_eq!(outcome, ForcePinChange::Set);
    assert!(outcome.is_set());
    // setMinPINLength with forceChangePin only: the minimum length is left alone.
    let sent = key.sent(0x0D);
    assert_eq!(sent.len(), 1);
    assert_eq!(fault::get(&sent[0].params, 1), Some(&fault::int(3)));
    assert_eq!(
        fault::get(&sent[0].params, 2),
        Some(&Value::Map(vec![(fault::int(3), Value::Bool(true))]))
    );
    assert!(fault::get(&sent[0].params, 4).is_some(), "pinUvAuthParam");
    // The token has the acfg permission; the key's PIN request was answered with the PIN just
    // set (one request, no wrong PIN).
    let acfg = key
        .sent(0x06)
        .iter()
        .find(|s| s.sub() == Some(9))
        .and_then(|s| fault::get(&s.params, 9))
        .cloned();
    assert_eq!(acfg, Some(fault::int(0x20)));
    assert_eq!(
        script.requests(),
        vec![common::prompt::enter(8, false)],
        "one PIN request"
    );
}

#[tokio::test]
async fn keys_without_set_min_pin_length_say_why_scripted_key_only() {
    let key = fresh_key(false, || Reply::Ok(Value::Null));
    let outcome = random_pin_then_force(&key, &Script::new(&[PIN])).await;
    let ForcePinChange::Unsupported { reason } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(reason.contains("minimum PIN length"), "{reason}");
    assert!(key.sent(0x0D).is_empty(), "nothing sent");
}

#[tokio::test]
async fn a_key_that_refuses_is_reported_as_failed_scripted_key_only() {
    // CTAP2_ERR_OPERATION_DENIED.
    let key = fresh_key(true, || Reply::Status(0x27));
    let outcome = random_pin_then_force(&key, &Script::new(&[PIN])).await;
    let ForcePinChange::Failed { reason } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(reason.contains("refused"), "{reason}");
    assert!(!reason.contains(PIN));
    let json = serde_json::to_string(&outcome).unwrap();
    assert!(!json.contains(PIN), "{json}");
}

#[tokio::test]
async fn a_software_authenticator_has_no_pin_to_force() {
    let mut soft = SoftAuthenticator::ephemeral().unwrap();
    let outcome = force_pin_change(&mut soft).await;
    assert!(
        matches!(outcome, ForcePinChange::Unsupported { .. }),
        "{outcome:?}"
    );
}
