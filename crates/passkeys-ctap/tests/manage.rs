//! Security-key management (`passkeys key …`) against the virtual Trussed key (a fresh device per
//! test): info, PIN set/change/wrong/blocked, discoverable credentials list/delete, orphan
//! detection, reset. What the virtual key lacks (fingerprints, authenticatorConfig, a reset
//! outside the power-up window, transportsForReset) runs against the scripted key and is
//! marked "scripted key only".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use ciborium::Value;
use common::fault::{self, info_ctap21_pin, map, Reply, ScriptKey};
use common::prompt::Script;
use common::request;
use common::virt::{VirtKey, SLOTS};
use hmac::Mac;
use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::Secret;
use passkeys_ctap::config::ConfigOutcome;
use passkeys_ctap::manage::PinState;
use passkeys_ctap::{CancellationToken, Device, Discoverable};
use passkeys_service::key_ops::{classify, InstanceView, Standing};

const PIN: &str = "123456";

async fn open(key: &VirtKey, script: &Script) -> Device<common::virt::VirtToken> {
    Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap()
}

async fn key_with_pin() -> VirtKey {
    let key = VirtKey::new();
    let mut d = open(&key, &Script::default()).await;
    d.set_first_pin(&Secret::new(PIN)).await.unwrap();
    key
}

/// Creates a discoverable credential for `user` at `rp`.
async fn store(key: &VirtKey, rp: &str, user: &str) -> Vec<u8> {
    let mut d = open(key, &Script::new(&[PIN])).await;
    let mut req = request(user);
    req.rp_id = rp.into();
    req.resident_key = true;
    let reply = d.make_credential(&req, Discoverable::Always).await.unwrap();
    assert!(reply.discoverable);
    common::parsed(&reply).credential_id
}

#[tokio::test]
async fn info_reports_model_options_retries_and_capabilities() {
    let key = VirtKey::new();
    let mut d = open(&key, &Script::default()).await;
    let r = d.report(false).await.unwrap();
    assert_eq!(r.model, passkeys_ctap::aaguid::PRACTICE_NAME);
    assert_eq!(r.transport, "usb");
    assert!(r.versions.contains(&"FIDO_2_1".to_string()));
    assert_eq!(r.pin, PinState::NotSet);
    assert_eq!(r.pin_state, "no PIN set");
    assert_eq!(r.min_pin_length, 4);
    assert!(!r.force_pin_change && !r.always_uv);
    assert!(r.supports.discoverable && r.supports.credential_management);
    assert!(!r.supports.fingerprints && r.supports.config);
    assert_eq!(r.options.get("rk"), Some(&true));
    assert_eq!(r.slots, None, "no PIN: slots not read");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["pin"], "not set");
    assert!(json["supports"]["credentialManagement"].as_bool().unwrap());

    // With a PIN: retries and slots (asks for the PIN once).
    d.set_first_pin(&Secret::new(PIN)).await.unwrap();
    let script = Script::new(&[PIN]);
    let mut d = open(&key, &script).await;
    let r = d.report(true).await.unwrap();
    assert_eq!(r.pin, PinState::Set);
    assert_eq!(r.pin_retries, Some(8));
    assert_eq!(r.pin_state, "set, 8 attempts left");
    let slots = r.slots.unwrap();
    assert_eq!((slots.used, slots.remaining), (0, u64::from(SLOTS)));
    assert_eq!(script.requests().len(), 1);
}

#[tokio::test]
async fn pin_set_change_wrong_and_blocked() {
    let key = VirtKey::new();
    let mut d = open(&key, &Script::default()).await;
    // Policy before the key sees it.
    assert!(matches!(
        d.set_first_pin(&Secret::new("12")).await,
        Err(AuthenticatorError::PinPolicy(_))
    ));
    assert!(matches!(
        d.set_first_pin(&Secret::new("x".repeat(64))).await,
        Err(AuthenticatorError::PinPolicy(_))
    ));
    d.set_first_pin(&Secret::new(PIN)).await.unwrap();
    // A second "set" is refused with a pointer to "change".
    let err = d.set_first_pin(&Secret::new("654321")).await.unwrap_err();
    assert!(err.to_string().contains("change it"), "{err}");
    // Change with the right PIN.
    d.change_pin(&Secret::new(PIN), &Secret::new("24681357"))
        .await
        .unwrap();
    // Wrong current PIN: attempts left.
    let err = d
        .change_pin(&Secret::new("00000000"), &Secret::new("11112222"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AuthenticatorError::PinInvalid {
            attempts_left: Some(7)
        }
    );
    // Three wrong in a row: re-insert needed (the key's per-power-cycle limit).
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            d.change_pin(&Secret::new("00000000"), &Secret::new("11112222"))
                .await
                .unwrap_err(),
        );
    }
    assert_eq!(last.unwrap(), AuthenticatorError::PinAuthBlocked);
    // (Trussed does not report powerCycleState in getPINRetries; the words come from here.)
    let text = passkeys_ctap::manage::pin_state_text(Some(true), Some(4), true);
    assert!(text.contains("unplug the key"), "{text}");

    // Burn the rest with re-inserts: then blocked for good, and the report says so.
    loop {
        key.replug();
        let mut d = open(&key, &Script::default()).await;
        let err = d
            .change_pin(&Secret::new("00000000"), &Secret::new("11112222"))
            .await
            .unwrap_err();
        if err == AuthenticatorError::PinBlocked {
            let r = d.report(false).await.unwrap();
            assert_eq!(r.pin_retries, Some(0));
            assert!(
                r.pin_state.contains("only a reset helps"),
                "{}",
                r.pin_state
            );
            break;
        }
        assert!(
            matches!(
                err,
                AuthenticatorError::PinInvalid { .. } | AuthenticatorError::PinAuthBlocked
            ),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn credentials_are_listed_by_relying_party_and_deleted() {
    let key = key_with_pin().await;
    let alice = store(&key, "example.com", "alice").await;
    let bob = store(&key, "example.com", "bob").await;
    let other = store(&key, "other.org", "alice").await;

    let script = Script::new(&[PIN]);
    let mut d = open(&key, &script).await;
    let mut cm = d.credential_manager().await.unwrap();
    let slots = cm.metadata().await.unwrap();
    assert_eq!(slots.used, 3);
    let rps = cm.list().await.unwrap();
    let mut ids: Vec<_> = rps.iter().map(|rp| rp.rp_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["example.com", "other.org"]);
    let example = rps.iter().find(|rp| rp.rp_id == "example.com").unwrap();
    assert_eq!(example.credentials.len(), 2);
    let mut users: Vec<_> = example
        .credentials
        .iter()
        .map(|c| c.user_name.clone().unwrap())
        .collect();
    users.sort();
    assert_eq!(users, ["alice@example.com", "bob@example.com"]);
    let found: BTreeSet<Vec<u8>> = rps
        .iter()
        .flat_map(|rp| rp.credentials.iter().map(|c| c.id_bytes.clone()))
        .collect();
    assert_eq!(found, BTreeSet::from([alice.clone(), bob.clone(), other]));
    // The id shown is what `delete` parses back.
    let shown = &example.credentials[0].id;
    assert_eq!(
        passkeys_ctap::credmgmt::parse_credential_id(shown).unwrap(),
        example.credentials[0].id_bytes
    );

    cm.delete(&bob).await.unwrap();
    let err = cm.delete(&bob).await.unwrap_err();
    assert!(matches!(err, AuthenticatorError::NotFound(_)), "{err:?}");
    let rps = cm.list().await.unwrap();
    let example = rps.iter().find(|rp| rp.rp_id == "example.com").unwrap();
    assert_eq!(example.credentials.len(), 1);
    assert_eq!(example.credentials[0].id_bytes, alice);
    assert_eq!(cm.metadata().await.unwrap().used, 2);
    assert_eq!(script.requests().len(), 1, "one PIN for the whole session");
}

#[tokio::test]
async fn an_empty_key_lists_nothing_and_a_key_without_pin_says_set_one() {
    let key = VirtKey::new();
    let mut d = open(&key, &Script::default()).await;
    let err = d.credential_manager().await.unwrap_err();
    assert!(matches!(err, AuthenticatorError::PinNotSet(_)), "{err:?}");
    let key = key_with_pin().await;
    let mut d = open(&key, &Script::new(&[PIN])).await;
    let mut cm = d.credential_manager().await.unwrap();
    assert!(cm.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn orphans_are_told_apart_from_known_and_unknown_credentials() {
    let key = key_with_pin().await;
    // A key keeps one credential per (rpId, user.id): the same user's second one is for a
    // registrable parent domain, which also belongs to the instance.
    let alice = store(&key, "auth.example.com", "218662596918640897").await;
    let alice2 = store(&key, "example.com", "218662596918640897").await;
    store(&key, "example.com", "999").await;
    store(&key, "other.org", "218662596918640897").await;
    let mut d = open(&key, &Script::new(&[PIN])).await;
    let mut cm = d.credential_manager().await.unwrap();
    let rps = cm.list().await.unwrap();

    let view = |ready: &[&str], inventory: Option<Vec<(Vec<u8>, String)>>| InstanceView {
        instance: url::Url::parse("https://auth.example.com").unwrap(),
        user_id: "218662596918640897".into(),
        ready_token_ids: ready.iter().map(|s| s.to_string()).collect(),
        inventory,
        removed: Vec::new(),
    };
    let standings = |v: &InstanceView| -> Vec<(String, Vec<u8>, Standing)> {
        rps.iter()
            .flat_map(|rp| {
                rp.credentials
                    .iter()
                    .map(move |c| (rp.rp_id.clone(), c.id_bytes.clone(), classify(rp, c, v)))
            })
            .collect()
    };
    let count = |s: &[(String, Vec<u8>, Standing)], f: fn(&Standing) -> bool| {
        s.iter().filter(|(_, _, st)| f(st)).count()
    };

    // Another site or another user is never ours to judge.
    let all = standings(&view(&[], None));
    for (rp, _, st) in &all {
        if rp == "other.org" {
            assert_eq!(*st, Standing::Other);
        }
    }
    assert_eq!(count(&all, |s| *s == Standing::Other), 2);
    // No inventory: ZITADEL's word alone never proves an orphan.
    assert_eq!(count(&all, |s| matches!(s, Standing::Unknown { .. })), 2);

    // No inventory while ZITADEL lists passkeys: no way to tell, nothing offered for deletion.
    let s = standings(&view(&["t1"], None));
    assert_eq!(count(&s, |s| matches!(s, Standing::Unknown { .. })), 2);
    assert_eq!(count(&s, |s| matches!(s, Standing::Orphan { .. })), 0);

    // The inventory knows one credential: READY in ZITADEL → known; removed → orphan; the other
    // one (a registration that failed, or added elsewhere) stays unknown.
    let inv = Some(vec![(alice.clone(), "t1".to_string())]);
    let s = standings(&view(&["t1"], inv.clone()));
    let alice_standing = &s.iter().find(|(_, id, _)| *id == alice).unwrap().2;
    assert_eq!(
        *alice_standing,
        Standing::Known {
            token_id: "t1".into()
        }
    );
    assert_eq!(count(&s, |s| matches!(s, Standing::Unknown { .. })), 1);
    // The inventory knows both; ZITADEL lists the second as READY (its list agrees with the
    // inventory) but not the first: the first was removed in ZITADEL, an orphan.
    let both = Some(vec![
        (alice.clone(), "t1".to_string()),
        (alice2.clone(), "t2".to_string()),
    ]);
    let all = standings(&view(&["t2"], both));
    let alice_standing = &all.iter().find(|(_, id, _)| *id == alice).unwrap().2;
    assert!(
        matches!(alice_standing, Standing::Orphan { reason } if reason.contains("removed")),
        "{alice_standing:?}"
    );
    assert_eq!(count(&all, |s| matches!(s, Standing::Known { .. })), 1);

    // A passkey this app removed from ZITADEL (ZITADEL confirmed it): its credential is an
    // orphan for certain, even where ZITADEL's list proves nothing (empty); the other stays
    // "can't tell".
    let removed = InstanceView {
        removed: vec![(alice.clone(), "t1".to_string())],
        ..view(&[], Some(vec![(alice2.clone(), "t2".to_string())]))
    };
    let s = standings(&removed);
    let alice_standing = &s.iter().find(|(_, id, _)| *id == alice).unwrap().2;
    assert!(
        matches!(alice_standing, Standing::Orphan { reason } if reason.contains("you removed")),
        "{alice_standing:?}"
    );
    assert_eq!(count(&s, |s| matches!(s, Standing::Orphan { .. })), 1);
    // ... unless ZITADEL still lists it as READY: ZITADEL's word wins, it is known.
    let still_listed = InstanceView {
        removed: vec![(alice.clone(), "t1".to_string())],
        ..view(&["t1"], Some(vec![(alice2.clone(), "t2".to_string())]))
    };
    let s = standings(&still_listed);
    assert_eq!(
        s.iter().find(|(_, id, _)| *id == alice).unwrap().2,
        Standing::Known {
            token_id: "t1".into()
        }
    );

    // Deleting the orphans leaves the rest.
    let orphans: Vec<Vec<u8>> = all
        .iter()
        .filter(|(_, _, st)| matches!(st, Standing::Orphan { .. }))
        .map(|(_, id, _)| id.clone())
        .collect();
    for id in &orphans {
        cm.delete(id).await.unwrap();
    }
    assert_eq!(orphans, vec![alice]);
    assert_eq!(cm.metadata().await.unwrap().used, 3);
}

/// Issue 12 item 11: a server that answers with an empty passkey list (or a list that matches
/// nothing this computer enrolled) must not turn working passkeys on the key into "orphans"
/// offered for deletion.
#[tokio::test]
async fn empty_server_list_does_not_prove_orphans() {
    let key = key_with_pin().await;
    let user = "218662596918640897";
    let a = store(&key, "auth.example.com", user).await;
    let b = store(&key, "example.com", user).await;
    let mut d = open(&key, &Script::new(&[PIN])).await;
    let mut cm = d.credential_manager().await.unwrap();
    let rps = cm.list().await.unwrap();
    let inventory = Some(vec![
        (a.clone(), "t1".to_string()),
        (b.clone(), "t2".to_string()),
    ]);
    let view = |ready: &[&str]| InstanceView {
        instance: url::Url::parse("https://auth.example.com").unwrap(),
        user_id: user.into(),
        ready_token_ids: ready.iter().map(|s| s.to_string()).collect(),
        inventory: inventory.clone(),
        removed: Vec::new(),
    };
    // Empty, and a list of passkeys this computer never enrolled: "can't tell", never orphan.
    for ready in [&[][..], &["t9"][..]] {
        for rp in &rps {
            for c in &rp.credentials {
                let st = classify(rp, c, &view(ready));
                assert!(
                    matches!(&st, Standing::Unknown { reason } if reason.contains("cannot prove")),
                    "{ready:?}: {st:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn reset_in_the_power_up_window_erases_credentials_and_pin() {
    let key = key_with_pin().await;
    store(&key, "example.com", "alice").await;
    // A fresh power-up: the virtual key, like YubiKeys, allows a reset within 10 s of it.
    key.replug();
    let script = Script::default();
    let mut d = open(&key, &script).await;
    d.reset(Duration::from_secs(30)).await.unwrap();
    assert_eq!(d.info().client_pin(), Some(false), "the PIN is gone");
    d.set_first_pin(&Secret::new(PIN)).await.unwrap();
    let mut d = open(&key, &Script::new(&[PIN])).await;
    let mut cm = d.credential_manager().await.unwrap();
    assert!(cm.list().await.unwrap().is_empty(), "the passkeys are gone");
}

// --- scripted key only: what the virtual key cannot show on demand ---

#[tokio::test]
async fn reset_outside_the_window_is_explained() {
    let key = ScriptKey::new(info_ctap21_pin(), |seen, _| match seen.cmd {
        0x07 => Reply::Status(0x30),
        _ => Reply::Standard,
    });
    let mut d = Device::open(
        key.token(),
        Script::default().arc(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let err = d.reset(Duration::from_secs(30)).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("NOT_ALLOWED"), "{text}");
    assert!(text.contains("unplug the key, insert it again"), "{text}");
    assert!(text.contains("10 s"), "{text}");

    // Refused touch and no touch in time are told apart.
    for (status, says) in [(0x27u8, "refused"), (0x2F, "no touch in time")] {
        let key = ScriptKey::new(info_ctap21_pin(), move |seen, _| match seen.cmd {
            0x07 => Reply::Status(status),
            _ => Reply::Standard,
        });
        let mut d = Device::open(
            key.token(),
            Script::default().arc(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
        let err = d.reset(Duration::from_secs(30)).await.unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
}

#[tokio::test]
async fn reset_over_a_transport_the_key_excludes_is_refused_before_sending() {
    let mut info = info_ctap21_pin();
    if let Value::Map(m) = &mut info {
        m.push((fault::int(0x1A), Value::Array(vec![fault::text("nfc")])));
        m.push((fault::int(0x18), Value::Bool(true)));
    }
    let key = ScriptKey::standard(info);
    let mut d = Device::open(
        key.token(),
        Script::default().arc(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let extra = d.extra_info().await.unwrap();
    assert!(extra.long_touch_for_reset);
    let err = d.reset(Duration::from_secs(30)).await.unwrap_err();
    assert!(err.to_string().contains("only over nfc"), "{err}");
    assert!(key.sent(0x07).is_empty(), "no reset was sent");
}

#[tokio::test]
async fn policy_switches_on_the_virtual_key() {
    let key = key_with_pin().await;
    let script = Script::new(&[PIN, PIN, PIN, PIN]);
    let mut d = open(&key, &script).await;
    assert!(d.info().option("authnrCfg").unwrap_or(false));
    // Always require UV: on, already on (nothing sent), off again.
    assert_eq!(d.set_always_uv(true).await.unwrap(), ConfigOutcome::Changed);
    assert_eq!(d.info().option("alwaysUv"), Some(true));
    assert_eq!(
        d.set_always_uv(true).await.unwrap(),
        ConfigOutcome::AlreadySo
    );
    assert_eq!(
        d.set_always_uv(false).await.unwrap(),
        ConfigOutcome::Changed
    );
    assert_eq!(d.info().option("alwaysUv"), Some(false));
    // The minimum PIN length: raised to 8, and a shorter one refused before anything is sent.
    assert_eq!(
        d.set_min_pin_length(Some(8), false).await.unwrap(),
        ConfigOutcome::Changed
    );
    assert_eq!(d.report(false).await.unwrap().min_pin_length, 8);
    assert!(
        d.set_min_pin_length(Some(6), false).await.is_err(),
        "never lowered"
    );
    // A PIN for each change sent (the app keeps the token for a visit: tests/visit.rs); none
    // when there was nothing to change or the change was refused before sending.
    assert_eq!(script.requests(), vec![common::prompt::enter(8, false); 3]);
}

#[tokio::test]
async fn config_is_refused_on_keys_without_it_scripted_key_only() {
    let key = ScriptKey::new(info_ctap21_pin(), |_, _| Reply::Standard);
    let mut d = Device::open(
        key.token(),
        Script::new(&[PIN]).arc(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    for err in [
        d.set_always_uv(true).await.unwrap_err(),
        d.set_min_pin_length(Some(8), false).await.unwrap_err(),
    ] {
        assert!(matches!(err, AuthenticatorError::NotSupported(_)), "{err}");
    }
    assert!(key.sent(0x0D).is_empty(), "nothing sent");
}

/// The pinUvAuthToken the scripted key hands out.
const SCRIPTED_TOKEN: [u8; 32] = [0x42; 32];

fn hmac(message: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&SCRIPTED_TOKEN).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn config_info(always_uv: bool) -> Value {
    let mut info = info_ctap21_pin();
    if let Value::Map(m) = &mut info {
        if let Some((_, Value::Map(opts))) = m.iter_mut().find(|(k, _)| *k == fault::int(4)) {
            opts.push((fault::text("authnrCfg"), Value::Bool(true)));
            opts.push((fault::text("setMinPINLength"), Value::Bool(true)));
            opts.push((fault::text("alwaysUv"), Value::Bool(always_uv)));
        }
        m.push((fault::int(0x0D), fault::int(6)));
    }
    info
}

#[tokio::test]
async fn config_wire_format_scripted_key_only() {
    let key = ScriptKey::new(config_info(false), |seen, _| match seen.cmd {
        0x0D => Reply::Ok(Value::Null),
        _ => Reply::Standard,
    });
    let script = Script::new(&[PIN, PIN]);
    let mut d = Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap();
    // alwaysUv: toggled with an acfg token; the MAC covers 32×0xff ‖ 0x0d ‖ subCommand.
    d.set_always_uv(true).await.unwrap();
    let sent = key.sent(0x0D);
    assert_eq!(sent.len(), 1);
    assert_eq!(fault::get(&sent[0].params, 1), Some(&fault::int(2)));
    let mut message = vec![0xff; 32];
    message.extend_from_slice(&[0x0D, 0x02]);
    assert_eq!(
        fault::get(&sent[0].params, 4).and_then(Value::as_bytes),
        Some(&hmac(&message))
    );
    let token_requests = key.sent(0x06);
    let acfg = token_requests
        .iter()
        .find(|s| s.sub() == Some(9))
        .and_then(|s| fault::get(&s.params, 9))
        .cloned();
    assert_eq!(acfg, Some(fault::int(0x20)), "acfg permission");

    // Min PIN length: lower than the key's is refused locally; higher is sent with forceChangePin.
    let err = d.set_min_pin_length(Some(4), false).await.unwrap_err();
    assert!(err.to_string().contains("only be raised"), "{err}");
    d.set_min_pin_length(Some(8), true).await.unwrap();
    let sent = key.sent(0x0D);
    assert_eq!(sent.len(), 2);
    assert_eq!(fault::get(&sent[1].params, 1), Some(&fault::int(3)));
    let params = fault::get(&sent[1].params, 2).unwrap();
    assert_eq!(fault::get(params, 1), Some(&fault::int(8)));
    assert_eq!(fault::get(params, 3), Some(&Value::Bool(true)));
    let mut message = vec![0xff; 32];
    message.extend_from_slice(&[0x0D, 0x03]);
    message.extend_from_slice(&passkeys_ctap::cbor::encode(params));
    assert_eq!(
        fault::get(&sent[1].params, 4).and_then(Value::as_bytes),
        Some(&hmac(&message))
    );
}

fn bio_info() -> Value {
    let mut info = info_ctap21_pin();
    if let Value::Map(m) = &mut info {
        if let Some((_, Value::Map(opts))) = m.iter_mut().find(|(k, _)| *k == fault::int(4)) {
            opts.push((fault::text("bioEnroll"), Value::Bool(false)));
        }
    }
    info
}

#[tokio::test]
async fn fingerprints_scripted_key_only() {
    // Enrollment takes three samples: begin (one good), one "too fast", one good.
    let mut captures = 0;
    let key = ScriptKey::new(bio_info(), move |seen, _| {
        if seen.cmd != 0x09 {
            return Reply::Standard;
        }
        let sub = fault::get(&seen.params, 2).and_then(fault::as_i64);
        match sub {
            Some(1) => Reply::Ok(map(vec![
                (4, Value::Bytes(vec![0xAB, 0xCD])),
                (5, fault::int(0)),
                (6, fault::int(2)),
            ])),
            Some(2) => {
                captures += 1;
                let (status, remaining) = if captures == 1 { (5, 1) } else { (0, 0) };
                Reply::Ok(map(vec![
                    (5, fault::int(status)),
                    (6, fault::int(remaining)),
                ]))
            }
            Some(4) => Reply::Ok(map(vec![(
                7,
                Value::Array(vec![map(vec![
                    (1, Value::Bytes(vec![0xAB, 0xCD])),
                    (2, fault::text("right thumb")),
                ])]),
            )])),
            Some(5 | 6) => Reply::Ok(Value::Null),
            _ => Reply::Status(0x2C),
        }
    });
    let script = Script::new(&[PIN]);
    let mut d = Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap();
    let mut bio = d.bio_manager().await.unwrap();
    let mut samples = Vec::new();
    let fp = bio
        .enroll(Some("right thumb"), |s| samples.push(s.clone()))
        .await
        .unwrap();
    assert_eq!(fp.id, "q80");
    assert_eq!(
        samples
            .iter()
            .map(|s| (s.status, s.remaining))
            .collect::<Vec<_>>(),
        vec![(0, 2), (5, 1), (0, 0)]
    );
    assert!(samples[1].feedback.contains("too fast"));
    let list = bio.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name.as_deref(), Some("right thumb"));
    bio.rename(&list[0].id_bytes, "left thumb").await.unwrap();
    bio.remove(&list[0].id_bytes).await.unwrap();
    drop(bio);

    // Wire format: modality 1, subcommands in order, `be` permission, MACs over
    // modality ‖ subCommand ‖ params.
    let sent = key.sent(0x09);
    let subs: Vec<_> = sent
        .iter()
        .map(|s| fault::get(&s.params, 2).and_then(fault::as_i64).unwrap())
        .collect();
    assert_eq!(subs, vec![1, 2, 2, 5, 4, 5, 6]);
    for s in &sent {
        assert_eq!(fault::get(&s.params, 1), Some(&fault::int(1)));
        let sub = fault::get(&s.params, 2).and_then(fault::as_i64).unwrap() as u8;
        let mut message = vec![1, sub];
        if let Some(p) = fault::get(&s.params, 3) {
            message.extend_from_slice(&passkeys_ctap::cbor::encode(p));
        }
        assert_eq!(
            fault::get(&s.params, 5).and_then(Value::as_bytes),
            Some(&hmac(&message)),
            "subcommand {sub}"
        );
    }
    let rename = fault::get(&sent[5].params, 3).unwrap();
    assert_eq!(fault::get(rename, 2), Some(&fault::text("left thumb")));
    let be = key
        .sent(0x06)
        .iter()
        .find(|s| s.sub() == Some(9))
        .and_then(|s| fault::get(&s.params, 9))
        .cloned();
    assert_eq!(be, Some(fault::int(0x08)));
    assert_eq!(script.requests().len(), 1);
}

#[tokio::test]
async fn fingerprints_are_refused_on_keys_without_a_reader() {
    let key = key_with_pin().await;
    let mut d = open(&key, &Script::new(&[PIN])).await;
    let err = d.bio_manager().await.unwrap_err();
    assert!(err.to_string().contains("no fingerprint reader"), "{err}");
}
