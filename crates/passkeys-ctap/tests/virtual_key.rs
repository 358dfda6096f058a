//! The CTAP engine against the virtual key: Trussed's fido-authenticator 0.4, an independent
//! CTAP 2.1 implementation, in-process (shared/docs/virtual-ctap.md). A fresh device per test.
//! Everything here is the same code path a USB or NFC key takes; only the `Token` differs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::prompt::{enter, Script};
use common::virt::{Touch, VirtKey, SLOTS};
use common::{parsed, request};
use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::prompt::{PinRequest, PromptNotice};
use passkeys_core::webauthn::{self, UserVerification};
use passkeys_core::Secret;
use passkeys_ctap::{discovery, CancellationToken, Device, Discoverable};

const PIN: &str = "123456";

async fn open(key: &VirtKey, script: &Script) -> Device<common::virt::VirtToken> {
    Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap()
}

/// A fresh key with `PIN` set.
async fn key_with_pin() -> VirtKey {
    let key = VirtKey::new();
    let mut d = open(&key, &Script::default()).await;
    d.set_pin(&Secret::new(PIN)).await.unwrap();
    assert_eq!(d.info().client_pin(), Some(true));
    key
}

#[tokio::test]
async fn virtual_key_is_ctap21_with_pin_protocol_two() {
    let key = VirtKey::new();
    let d = open(&key, &Script::default()).await;
    let info = d.info();
    assert!(info.is_ctap21(), "{info:?}");
    assert_eq!(info.client_pin(), Some(false));
    assert!(info.pin_protocols.contains(&2));
    assert!(info.rk());
    assert_eq!(info.aaguid, *b"AAGUID0123456789");
    assert_eq!(
        passkeys_ctap::key::describe(&d).model,
        passkeys_ctap::aaguid::PRACTICE_NAME
    );
}

#[tokio::test]
async fn uv_required_on_a_key_without_pin_sets_one_then_registers() {
    let key = VirtKey::new();
    let script = Script::new(&[PIN]);
    let mut d = open(&key, &script).await;
    let req = request("alice");
    let reply = d.make_credential(&req, Discoverable::Auto).await.unwrap();

    assert_eq!(
        script.requests(),
        vec![PinRequest::SetNew {
            min_length: 4,
            max_bytes: 63
        }],
        "one prompt: the new PIN is used for the token without asking again"
    );
    assert!(script.notices().contains(&PromptNotice::PinSet));
    assert_eq!(d.info().client_pin(), Some(true));
    let att = parsed(&reply);
    assert_eq!(att.rp_id_hash, webauthn::sha256(b"example.com"));
    assert!(att.flags.user_present() && att.flags.user_verified());
    // The server's order is sent as is; this firmware prefers EdDSA whenever it is offered.
    assert!(matches!(att.alg, Some(-7 | -8)), "{:?}", att.alg);
    assert_eq!(att.aaguid, *b"AAGUID0123456789");
    assert!(!att.credential_id.is_empty());
    assert!(reply.discoverable, "Auto: the key has room");
    assert_eq!(reply.transports, vec!["usb".to_string()]);
}

#[tokio::test]
async fn a_too_short_new_pin_is_refused_before_the_key_sees_it() {
    let key = VirtKey::new();
    let script = Script::new(&["12", PIN]);
    let mut d = open(&key, &script).await;
    d.make_credential(&request("bob"), Discoverable::Never)
        .await
        .unwrap();
    assert_eq!(script.requests().len(), 2);
    assert!(matches!(
        script.notices()[0],
        PromptNotice::PinRejected { .. }
    ));
    // The management call checks too.
    let key = VirtKey::new();
    let mut d = open(&key, &Script::default()).await;
    assert!(matches!(
        d.set_pin(&Secret::new("123")).await,
        Err(AuthenticatorError::PinPolicy(_))
    ));
    assert_eq!(d.info().client_pin(), Some(false));
}

#[tokio::test]
async fn no_pin_set_and_none_given_is_pin_not_set() {
    let key = VirtKey::new();
    let mut d = open(&key, &Script::default()).await;
    let err = d
        .make_credential(&request("carol"), Discoverable::Never)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthenticatorError::PinNotSet(_)), "{err:?}");
}

#[tokio::test]
async fn wrong_pin_shows_attempts_left_and_asks_again() {
    let key = key_with_pin().await;
    let script = Script::new(&["000000", PIN]);
    let mut d = open(&key, &script).await;
    let reply = d
        .make_credential(&request("dave"), Discoverable::Never)
        .await
        .unwrap();
    assert_eq!(script.requests(), vec![enter(8, false), enter(7, true)]);
    assert!(parsed(&reply).flags.user_verified());
    assert!(!reply.discoverable);
    // A right PIN resets the counter.
    assert_eq!(d.pin_retries().await.unwrap(), (Some(8), false));
}

#[tokio::test]
async fn three_wrong_pins_stop_with_pin_auth_blocked_and_no_fourth_attempt() {
    let key = key_with_pin().await;
    let script = Script::new(&["000000", "111111", "222222", PIN]);
    let mut d = open(&key, &script).await;
    let err = d
        .make_credential(&request("erin"), Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::PinAuthBlocked);
    assert_eq!(err.code(), "pin_auth_blocked");
    assert_eq!(
        script.requests(),
        vec![enter(8, false), enter(7, true), enter(6, true)],
        "stops after the third wrong PIN; the right one is never asked for"
    );
    // Still blocked until the key is re-inserted, without asking for a PIN.
    let again = Script::new(&[PIN]);
    d = open(&key, &again).await;
    let err = d
        .make_credential(&request("erin"), Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::PinAuthBlocked);
    assert!(again.requests().len() <= 1);

    key.replug();
    let after = Script::new(&[PIN]);
    let mut d = open(&key, &after).await;
    d.make_credential(&request("erin"), Discoverable::Never)
        .await
        .unwrap();
    assert_eq!(after.requests(), vec![enter(5, false)]);
}

#[tokio::test]
async fn pin_blocked_after_every_attempt_is_used_and_never_prompts_again() {
    let key = key_with_pin().await;
    let mut left = 8;
    while left > 0 {
        let wrong: Vec<String> = (0..3).map(|i| format!("99999{i}")).collect();
        let wrong: Vec<&str> = wrong.iter().map(String::as_str).collect();
        let script = Script::new(&wrong);
        let mut d = open(&key, &script).await;
        let err = d
            .make_credential(&request("frank"), Discoverable::Never)
            .await
            .unwrap_err();
        left -= script.requests().len().min(left);
        if left == 0 {
            assert_eq!(err, AuthenticatorError::PinBlocked, "{script:?}");
        } else {
            assert_eq!(err, AuthenticatorError::PinAuthBlocked);
        }
        key.replug();
    }
    let script = Script::new(&[PIN]);
    let mut d = open(&key, &script).await;
    assert_eq!(d.pin_retries().await.unwrap().0, Some(0));
    let err = d
        .make_credential(&request("frank"), Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::PinBlocked);
    assert!(script.requests().is_empty(), "no prompt for a blocked PIN");
    assert!(err.to_string().contains("reset"));
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Script({:?})", self.requests())
    }
}

#[tokio::test]
async fn change_pin_with_wrong_and_right_current_pin() {
    let key = key_with_pin().await;
    let mut d = open(&key, &Script::default()).await;
    let err = d
        .change_pin(&Secret::new("654321"), &Secret::new("24682468"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AuthenticatorError::PinInvalid {
            attempts_left: Some(7)
        }
    );
    d.change_pin(&Secret::new(PIN), &Secret::new("24682468"))
        .await
        .unwrap();
    let script = Script::new(&["24682468"]);
    let mut d = open(&key, &script).await;
    d.make_credential(&request("grace"), Discoverable::Never)
        .await
        .unwrap();
    assert_eq!(script.requests(), vec![enter(8, false)]);
}

#[tokio::test]
async fn uv_discouraged_on_a_key_without_pin_asks_nothing() {
    let key = VirtKey::new();
    let script = Script::default();
    let mut d = open(&key, &script).await;
    let mut req = request("heidi");
    req.user_verification = UserVerification::Discouraged;
    let reply = d.make_credential(&req, Discoverable::Never).await.unwrap();
    assert!(script.requests().is_empty());
    let att = parsed(&reply);
    assert!(att.flags.user_present());
    assert!(!att.flags.user_verified());
}

#[tokio::test]
async fn excluded_credential_is_reported_as_already_registered() {
    let key = key_with_pin().await;
    let mut d = open(&key, &Script::new(&[PIN, PIN, PIN, PIN])).await;
    let first = d
        .make_credential(&request("ivan"), Discoverable::Never)
        .await
        .unwrap();
    let id = parsed(&first).credential_id;

    // A short list: sent with makeCredential.
    let mut req = request("ivan");
    req.exclude_credentials = vec![vec![1; 64], id.clone()];
    let err = d
        .make_credential(&req, Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::CredentialExcluded);

    // Longer than maxCredentialCountInList (10 here), with ids too long to be the key's: the
    // long ones are dropped, the rest pre-flighted in batches, the held one found.
    let mut many: Vec<Vec<u8>> = (0..14u8).map(|i| vec![i; 70]).collect();
    many.insert(3, vec![9; 400]);
    many.push(id.clone());
    req.exclude_credentials = many.clone();
    let err = d
        .make_credential(&req, Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::CredentialExcluded);

    // The same list without the held id registers normally; so does an empty one.
    many.pop();
    req.exclude_credentials = many;
    d.make_credential(&req, Discoverable::Never).await.unwrap();
}

#[tokio::test]
async fn discoverable_by_choice_with_slots_from_credential_management() {
    let key = key_with_pin().await;
    let script = Script::new(&[PIN, PIN, PIN, PIN]);
    let mut d = open(&key, &script).await;
    let slots = d.credential_slots().await.unwrap().unwrap();
    assert_eq!((slots.used, slots.remaining), (0, u64::from(SLOTS)));

    let reply = d
        .make_credential(&request("judy"), Discoverable::Never)
        .await
        .unwrap();
    assert!(!reply.discoverable);
    let reply = d
        .make_credential(&request("judy"), Discoverable::Auto)
        .await
        .unwrap();
    assert!(reply.discoverable);
    let slots = d.credential_slots().await.unwrap().unwrap();
    assert_eq!((slots.used, slots.remaining), (1, u64::from(SLOTS) - 1));
}

#[tokio::test]
async fn a_full_key_says_key_store_full_when_a_stored_passkey_is_required() {
    let key = VirtKey::new();
    let script = Script::default();
    let mut d = open(&key, &script).await;
    let mut req = request("user");
    req.user_verification = UserVerification::Discouraged;
    for i in 0..SLOTS {
        req.user_id = format!("user-{i}").into_bytes();
        let r = d.make_credential(&req, Discoverable::Always).await.unwrap();
        assert!(r.discoverable);
    }
    req.user_id = b"one too many".to_vec();
    let err = d
        .make_credential(&req, Discoverable::Always)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::KeyStoreFull);
    assert_eq!(err.code(), "key_store_full");
    // Auto falls back to a passkey that is not stored on the key.
    let r = d.make_credential(&req, Discoverable::Auto).await.unwrap();
    assert!(!r.discoverable);
}

#[tokio::test]
async fn algorithm_choice_follows_the_server_order_within_what_the_key_supports() {
    let key = VirtKey::new();
    let mut d = open(&key, &Script::default()).await;
    // This firmware lists ES256 and EdDSA in getInfo `algorithms` (0x0A): the server's list,
    // cut to those, is sent in the server's order and the key picks the first.
    assert_eq!(
        d.info().algorithms,
        Some(vec![("public-key".into(), -7), ("public-key".into(), -8)])
    );
    let mut req = request("ken");
    req.user_verification = UserVerification::Discouraged;
    req.algorithms = vec![-257, -8, -7];
    let r = d.make_credential(&req, Discoverable::Never).await.unwrap();
    assert_eq!(parsed(&r).alg, Some(-8));
    req.algorithms = vec![-257, -7];
    let r = d.make_credential(&req, Discoverable::Never).await.unwrap();
    assert_eq!(parsed(&r).alg, Some(-7));
    req.algorithms = vec![-257, -37];
    let err = d
        .make_credential(&req, Discoverable::Never)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AuthenticatorError::NotSupported(m) if m.contains("algorithms")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_refused_touch_is_cancelled() {
    let key = VirtKey::with_touch(Touch::Refuse);
    let mut d = open(&key, &Script::default()).await;
    let mut req = request("leo");
    req.user_verification = UserVerification::Discouraged;
    let err = d
        .make_credential(&req, Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::Cancelled);
}

#[tokio::test]
async fn several_keys_the_one_touched_is_chosen() {
    let refusing = VirtKey::with_touch(Touch::Refuse);
    let touched = VirtKey::new();
    for order in [[&refusing, &touched], [&touched, &refusing]] {
        let devices = vec![
            open(order[0], &Script::default()).await,
            open(order[1], &Script::default()).await,
        ];
        let cancel = CancellationToken::new();
        let mut chosen =
            discovery::select_by_touch(devices, &cancel, std::time::Duration::from_secs(10))
                .await
                .unwrap();
        // Only the touched key makes a credential (the other refuses every touch).
        let mut req = request("olga");
        req.user_verification = UserVerification::Discouraged;
        chosen
            .make_credential(&req, Discoverable::Never)
            .await
            .unwrap();
    }
}
