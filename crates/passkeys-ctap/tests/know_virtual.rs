//! Issue 8 on the CTAP engine: getAssertion for the self-test (PIN token with the `ga`
//! permission) checked locally, the silent probe picking the key that holds a passkey among
//! several virtual keys, and a key answering with a bad signature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ciborium::Value;
use common::fault::{self, map, text, Reply, ScriptKey};
use common::prompt::Script;
use common::virt::VirtKey;
use passkeys_core::authenticator::Authenticator;
use passkeys_core::selftest::{self, SelfTestError, SelfTestTarget};
use passkeys_core::webauthn::UserVerification;
use passkeys_ctap::assertion::find_holder;
use passkeys_ctap::device::{cmd, permission};
use passkeys_ctap::{CancellationToken, Device, Discoverable, SecurityKey};
use passkeys_testkit::SignedIn;
use sha2::{Digest, Sha256};

const ORIGIN: &str = "https://example.com";

fn target<'a>(id: &'a [u8], key: &'a [u8]) -> SelfTestTarget<'a> {
    SelfTestTarget {
        rp_id: "example.com",
        origin: ORIGIN,
        credential_id: id,
        public_key: key,
        user_verification: UserVerification::Required,
    }
}

#[tokio::test]
async fn self_test_on_the_virtual_key_with_a_pin_token_for_ga() {
    let key = VirtKey::new();
    // A key without a PIN: one is set for makeCredential, then entered for the self-test.
    let script = Script::new(&["314159", "314159"]);
    let device = Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap();
    let mut auth = SecurityKey::new(device, Discoverable::Never);
    let reply = auth
        .make_credential(&common::request("alice"))
        .await
        .unwrap();
    let parsed = common::parsed(&reply);
    // Trussed firmware picks EdDSA when offered: the Ed25519 path of the local check.
    assert_eq!(parsed.alg, Some(-8));
    let report = selftest::self_test(
        &mut auth,
        &target(&parsed.credential_id, &parsed.public_key),
    )
    .await
    .unwrap();
    assert!(report.passed && report.user_verified);
    assert_eq!(report.algorithm, -8);
    assert_eq!(script.requests().len(), 2, "{:?}", script.requests());

    // Another key's public key does not verify.
    let other = VirtKey::new();
    let d = Device::open(
        other.token(),
        Script::new(&[]).arc(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let mut req = common::request("bob");
    req.user_verification = UserVerification::Discouraged;
    let other_reply = SecurityKey::new(d, Discoverable::Never)
        .make_credential(&req)
        .await
        .unwrap();
    let other_key = common::parsed(&other_reply).public_key;
    let script2 = Script::new(&["314159"]);
    let device = Device::open(key.token(), script2.arc(), CancellationToken::new())
        .await
        .unwrap();
    let mut auth = SecurityKey::new(device, Discoverable::Never);
    let err = selftest::self_test(&mut auth, &target(&parsed.credential_id, &other_key))
        .await
        .unwrap_err();
    assert!(matches!(err, SelfTestError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn the_silent_probe_finds_the_key_that_holds_the_passkey_among_several() {
    let keys = [VirtKey::new(), VirtKey::new(), VirtKey::new()];
    let script = Script::new(&[]);
    let mut devices = Vec::new();
    for k in &keys {
        devices.push(
            Device::open(k.token(), script.arc(), CancellationToken::new())
                .await
                .unwrap(),
        );
    }
    let mut req = common::request("carol");
    req.user_verification = UserVerification::Discouraged;
    req.algorithms = vec![-7];
    let reply = devices[1]
        .make_credential(&req, Discoverable::Never)
        .await
        .unwrap();
    let id = common::parsed(&reply).credential_id;
    let touches_before = script.touches();

    assert_eq!(
        find_holder(&mut devices, "example.com", &id).await.unwrap(),
        Some(1)
    );
    // Not for another site, and not an unknown id.
    assert_eq!(
        find_holder(&mut devices, "other.example", &id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        find_holder(&mut devices, "example.com", &[0x55; 64])
            .await
            .unwrap(),
        None
    );
    // Silent: no PIN and no touch asked.
    assert!(script.requests().is_empty());
    assert_eq!(script.touches(), touches_before);
}

fn bad_assertion(seen: &fault::Seen) -> Value {
    let allow = fault::ids(seen, 3);
    let mut auth_data = Sha256::digest(b"example.com").to_vec();
    auth_data.push(0x05); // UP + UV
    auth_data.extend_from_slice(&7u32.to_be_bytes());
    map(vec![
        (
            1,
            Value::Map(vec![
                (text("id"), Value::Bytes(allow[0].clone())),
                (text("type"), text("public-key")),
            ]),
        ),
        (2, Value::Bytes(auth_data)),
        // A well-formed DER ECDSA signature (r = s = 1) that verifies with no key.
        (
            3,
            Value::Bytes(vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]),
        ),
    ])
}

#[tokio::test]
async fn a_key_answering_with_a_bad_signature_fails_the_self_test() {
    let key = ScriptKey::new(fault::info_ctap21_pin(), |seen, _| {
        if seen.cmd == cmd::GET_ASSERTION {
            Reply::Ok(bad_assertion(seen))
        } else {
            Reply::Standard
        }
    });
    let script = Script::new(&["1234", "1234"]);
    let device = Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap();
    let mut auth = SecurityKey::new(device, Discoverable::Never);
    let mut req = common::request("dave");
    req.algorithms = vec![-7];
    let reply = auth.make_credential(&req).await.unwrap();
    let parsed = common::parsed(&reply);
    let err = selftest::self_test(
        &mut auth,
        &target(&parsed.credential_id, &parsed.public_key),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SelfTestError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("does not verify"), "{err}");

    // What the engine sent: allowList with the id, up=true, a pinUvAuthParam, and a token
    // requested with the ga permission for the rpId.
    let ga = key.sent(cmd::GET_ASSERTION);
    let last = &ga.last().unwrap().params;
    assert_eq!(
        fault::ids(ga.last().unwrap(), 3),
        vec![parsed.credential_id.clone()]
    );
    let options = fault::get(last, 5).unwrap();
    assert_eq!(
        fault::get_text(options, "up").and_then(Value::as_bool),
        Some(true)
    );
    assert!(fault::get_text(options, "uv").is_none());
    assert!(fault::get(last, 6).is_some());
    let token_requests: Vec<_> = key
        .sent(cmd::CLIENT_PIN)
        .into_iter()
        .filter(|s| s.sub() == Some(9))
        .collect();
    let perms = fault::get(&token_requests.last().unwrap().params, 9)
        .and_then(fault::as_i64)
        .unwrap();
    assert_eq!(perms, i64::from(permission::GET_ASSERTION));
}

#[tokio::test]
async fn no_credentials_is_not_found() {
    let key = ScriptKey::standard(fault::info_ctap21_pin());
    let mut device = Device::open(
        key.token(),
        Script::new(&[]).arc(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(!device.holds("example.com", &[vec![1; 16]]).await.unwrap());
    // The probe sent up=false and no pinUvAuthParam.
    let ga = key.sent(cmd::GET_ASSERTION);
    let options = fault::get(&ga[0].params, 5).unwrap();
    assert_eq!(
        fault::get_text(options, "up").and_then(Value::as_bool),
        Some(false)
    );
    assert!(fault::get(&ga[0].params, 6).is_none());
}

/// The enrollment flow with the self-test on: the virtual key's passkey is registered with the
/// sandbox, tested right away (the PIN asked again for the `ga` token), and recorded in the
/// inventory with the key's model and transport.
#[tokio::test]
async fn enrollment_with_self_test_and_inventory_on_the_virtual_key() {
    use passkeys_core::enroll::{self, EnrollEvent, EnrollOptions};
    use passkeys_core::selftest::SelfTestOutcome;
    let SignedIn { sandbox, api } = SignedIn::demo().await;
    let key = VirtKey::new();
    let script = Script::new(&["314159", "314159"]);
    let device = Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap();
    let mut auth = SecurityKey::new(device, Discoverable::Auto).only_algorithms(vec![-7]);
    let dir = tempfile::tempdir().unwrap();
    let options = EnrollOptions {
        self_test: true,
        inventory: Some(dir.path().join("inventory.json")),
    };
    let events = std::sync::Mutex::new(Vec::new());
    let observer = |e: &EnrollEvent| events.lock().unwrap().push(e.clone());
    let enrollment =
        enroll::add_passkey_with(&api, &mut auth, Some("Blue key"), &observer, &options)
            .await
            .unwrap();
    match &enrollment.self_test {
        Some(SelfTestOutcome::Passed(r)) => assert!(r.user_verified && r.algorithm == -7),
        other => panic!("{other:?}"),
    }
    assert!(events.lock().unwrap().contains(&EnrollEvent::SelfTesting));
    let inv = passkeys_core::inventory::Inventory::load(&dir.path().join("inventory.json"));
    let id = enrollment.passkey.id.clone().unwrap();
    let entry = inv.find(sandbox.issuer().as_str(), &id).unwrap().clone();
    assert_eq!(entry.aaguid, "41414755-4944-3031-3233-343536373839");
    assert_eq!(entry.credential_id, enrollment.passkey.credential_id);
    assert!(entry.discoverable);
    assert_eq!(entry.rp_id, "localhost");
    // The on-demand test from the inventory entry, on a fresh connection to the same key.
    let script = Script::new(&["314159"]);
    let device = Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap();
    let mut auth = SecurityKey::new(device, Discoverable::Auto);
    assert!(
        selftest::test_entry(&mut auth, &entry)
            .await
            .unwrap()
            .passed
    );
    sandbox.shutdown().await;
}

/// A key that registers fine but answers the self-test with a bad signature: the enrollment
/// still succeeds (the passkey is registered), and the outcome says what failed and what to do.
#[tokio::test]
async fn a_failed_self_test_is_reported_not_an_enrollment_failure() {
    use passkeys_core::enroll::{self, EnrollOptions};
    use passkeys_core::selftest::SelfTestOutcome;
    let SignedIn { sandbox, api } = SignedIn::demo().await;
    let key = ScriptKey::new(fault::info_ctap21_pin(), |seen, _| {
        if seen.cmd == cmd::GET_ASSERTION && fault::ids(seen, 3).len() == 1 {
            let up = fault::get(&seen.params, 5)
                .and_then(|o| fault::get_text(o, "up"))
                .and_then(Value::as_bool);
            if up != Some(false) {
                return Reply::Ok(bad_assertion_for(seen, "localhost"));
            }
        }
        Reply::Standard
    });
    let script = Script::new(&["1234", "1234"]);
    let device = Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap();
    let mut auth = SecurityKey::new(device, Discoverable::Never);
    let options = EnrollOptions {
        self_test: true,
        inventory: None,
    };
    let enrollment = enroll::add_passkey_with(
        &api,
        &mut auth,
        Some("Flaky"),
        &|_: &enroll::EnrollEvent| {},
        &options,
    )
    .await
    .unwrap();
    assert_eq!(enrollment.passkey.state, "ready");
    match &enrollment.self_test {
        Some(SelfTestOutcome::Failed {
            passed,
            code,
            message,
            advice,
        }) => {
            assert!(!passed);
            assert_eq!(code, "self_test_invalid");
            assert!(message.contains("registered"), "{message}");
            assert!(advice.contains("remove"), "{advice}");
        }
        other => panic!("{other:?}"),
    }
    let json = serde_json::to_value(&enrollment).unwrap();
    assert_eq!(json["selfTest"]["passed"], false);
    assert_eq!(json["name"], "Flaky");
    sandbox.shutdown().await;
}

fn bad_assertion_for(seen: &fault::Seen, rp_id: &str) -> Value {
    let mut v = bad_assertion(seen);
    if let Value::Map(entries) = &mut v {
        for (k, val) in entries.iter_mut() {
            if k.as_integer() == Some(2.into()) {
                let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
                auth_data.push(0x05);
                auth_data.extend_from_slice(&7u32.to_be_bytes());
                *val = Value::Bytes(auth_data);
            }
        }
    }
    v
}
