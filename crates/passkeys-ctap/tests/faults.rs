//! The engine against a scripted key, for what the virtual key cannot do: PIN_AUTH_BLOCKED and
//! PIN_BLOCKED straight away, the C07 three-wrong-PINs sequence, blocked built-in UV, keepalive
//! floods, Cancel, unplugging mid-command, garbage CBOR, and keys that reject algorithms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use ciborium::Value;
use common::fault::{self, info_ctap21_pin, map, Reply, ScriptKey};
use common::prompt::{enter, Script};
use common::request;
use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::prompt::{PinRequest, Prompt, PromptNotice};
use passkeys_core::webauthn::UserVerification;
use passkeys_core::Secret;
use passkeys_ctap::{CancellationToken, Device, Discoverable};

async fn open(key: &ScriptKey, script: &Script) -> Device<fault::ScriptToken> {
    Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap()
}

const TOKEN_BY_PIN: i64 = 9;

#[tokio::test]
async fn pin_auth_blocked_stops_at_once_and_says_reinsert() {
    let key = ScriptKey::new(info_ctap21_pin(), |seen, _| match (seen.cmd, seen.sub()) {
        (0x06, Some(TOKEN_BY_PIN)) => Reply::Status(0x34),
        _ => Reply::Standard,
    });
    let script = Script::new(&["123456", "123456"]);
    let mut d = open(&key, &script).await;
    let err = d
        .make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::PinAuthBlocked);
    assert!(err.to_string().contains("insert it again"));
    assert_eq!(script.requests(), vec![enter(8, false)]);
    assert_eq!(key.pin_requests(TOKEN_BY_PIN), 1);
    assert!(
        key.sent(0x01).is_empty(),
        "no makeCredential without a token"
    );
}

#[tokio::test]
async fn pin_blocked_answer_stops_and_says_only_a_reset_helps() {
    let key = ScriptKey::new(info_ctap21_pin(), |seen, _| match (seen.cmd, seen.sub()) {
        (0x06, Some(TOKEN_BY_PIN)) => Reply::Status(0x32),
        _ => Reply::Standard,
    });
    let script = Script::new(&["123456", "123456"]);
    let mut d = open(&key, &script).await;
    let err = d
        .make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::PinBlocked);
    assert_eq!(err.code(), "pin_blocked");
    assert_eq!(key.pin_requests(TOKEN_BY_PIN), 1);
}

#[tokio::test]
async fn no_retries_left_means_no_prompt_and_no_attempt() {
    let key = ScriptKey::standard(info_ctap21_pin());
    key.set_pin_retries(0);
    let script = Script::new(&["123456"]);
    let mut d = open(&key, &script).await;
    let err = d
        .make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::PinBlocked);
    assert!(script.requests().is_empty());
    assert_eq!(key.pin_requests(TOKEN_BY_PIN), 0);
}

/// C07 `pinSequence`: 0x31 (7 left), 0x31 (6 left), 0x34 without powerCycleState: the app
/// stops, says re-insert, and never sends a fourth attempt.
#[tokio::test]
async fn c07_three_wrong_pins_in_one_power_cycle() {
    let case: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/C07-pin-uv-state-matrix.json")).unwrap();
    let replies: Vec<(u8, Option<u32>)> = case["pinSequence"]["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = r["status"].as_str().unwrap().trim_start_matches("0x");
            (
                u8::from_str_radix(s, 16).unwrap(),
                r["pinRetriesAfter"].as_u64().map(|n| n as u32),
            )
        })
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(replies.clone()));
    let retries = Arc::new(std::sync::Mutex::new(8u32));
    let (q, r) = (queue.clone(), retries.clone());
    let key = ScriptKey::new(info_ctap21_pin(), move |seen, _| {
        match (seen.cmd, seen.sub()) {
            (0x06, Some(1)) => Reply::Ok(map(vec![(3, fault::int(i64::from(*r.lock().unwrap())))])),
            (0x06, Some(TOKEN_BY_PIN)) => {
                let (status, after) = q.lock().unwrap().remove(0);
                if let Some(after) = after {
                    *r.lock().unwrap() = after;
                }
                Reply::Status(status)
            }
            _ => Reply::Standard,
        }
    });
    let script = Script::new(&["111111", "222222", "333333", "444444"]);
    let mut d = open(&key, &script).await;
    let err = d
        .make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::PinAuthBlocked);
    assert_eq!(
        script.requests(),
        vec![enter(8, false), enter(7, true), enter(6, true)]
    );
    assert_eq!(key.pin_requests(TOKEN_BY_PIN), replies.len());
    assert!(queue.lock().unwrap().is_empty());
}

/// C07 row 8: built-in UV with no retries left falls back to the PIN.
#[tokio::test]
async fn c07_blocked_builtin_uv_falls_back_to_pin() {
    let mut info = info_ctap21_pin();
    if let Some(Value::Map(opts)) = fault_get_mut(&mut info, 4) {
        opts.push((fault::text("uv"), Value::Bool(true)));
    }
    let key = ScriptKey::standard(info.clone());
    key.set_uv_retries(0);
    let script = Script::new(&["123456"]);
    let mut d = open(&key, &script).await;
    d.make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap();
    assert_eq!(key.pin_requests(6), 0, "no UV attempt with 0 retries");
    assert_eq!(key.pin_requests(TOKEN_BY_PIN), 1);
    assert!(script.notices().contains(&PromptNotice::FallingBackToPin));

    // Retries left, but the key answers UV_BLOCKED (0x3C): PIN as well.
    let key = ScriptKey::new(info, |seen, _| match (seen.cmd, seen.sub()) {
        (0x06, Some(6)) => Reply::Status(0x3C),
        _ => Reply::Standard,
    });
    let script = Script::new(&["123456"]);
    let mut d = open(&key, &script).await;
    d.make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap();
    assert_eq!(key.pin_requests(6), 1);
    assert!(script
        .notices()
        .contains(&PromptNotice::UseBuiltInVerification));
    assert_eq!(script.requests(), vec![enter(8, false)]);
}

/// Built-in UV that works: no PIN prompt at all.
#[tokio::test]
async fn builtin_uv_is_used_before_the_pin() {
    let mut info = info_ctap21_pin();
    if let Some(Value::Map(opts)) = fault_get_mut(&mut info, 4) {
        opts.push((fault::text("uv"), Value::Bool(true)));
    }
    let key = ScriptKey::standard(info);
    let script = Script::default();
    let mut d = open(&key, &script).await;
    d.make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap();
    assert!(script.requests().is_empty());
    assert_eq!(key.pin_requests(6), 1);
}

fn fault_get_mut(v: &mut Value, key: i64) -> Option<&mut Value> {
    match v {
        Value::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| *k == fault::int(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// C07 row 7: with a PIN, pinUvAuthParam is sent and `uv` is not.
#[tokio::test]
async fn c07_pin_uv_auth_param_without_uv_option() {
    let key = ScriptKey::standard(info_ctap21_pin());
    let mut d = open(&key, &Script::new(&["123456"])).await;
    d.make_credential(&request("a"), Discoverable::Auto)
        .await
        .unwrap();
    let mc = &key.sent(0x01)[0];
    assert!(fault::get(&mc.params, 8).is_some(), "pinUvAuthParam");
    assert_eq!(
        fault::get(&mc.params, 9),
        Some(&fault::int(2)),
        "protocol 2"
    );
    let options = fault::get(&mc.params, 7).unwrap();
    assert!(fault::get_text(options, "uv").is_none());
    assert_eq!(
        fault::get_text(options, "rk"),
        Some(&Value::Bool(true)),
        "Auto: the key stores passkeys"
    );
}

/// C07 row 5: CTAP 2.1 with makeCredUvNotRqd, UV discouraged, not discoverable: no PIN.
#[tokio::test]
async fn c07_uv_not_required_for_non_discoverable() {
    let mut info = info_ctap21_pin();
    if let Some(Value::Map(opts)) = fault_get_mut(&mut info, 4) {
        opts.push((fault::text("makeCredUvNotRqd"), Value::Bool(true)));
    }
    let key = ScriptKey::standard(info);
    let script = Script::default();
    let mut d = open(&key, &script).await;
    let mut req = request("a");
    req.user_verification = UserVerification::Discouraged;
    d.make_credential(&req, Discoverable::Never).await.unwrap();
    assert!(script.requests().is_empty());
    assert!(fault::get(&key.sent(0x01)[0].params, 8).is_none());
}

/// A key that keeps sending keepalives and never answers: one touch prompt, the deadline,
/// and a cancel sent to the device. Virtual time: deterministic and instant.
#[tokio::test(start_paused = true)]
async fn keepalive_flood_ends_at_the_deadline_with_one_touch_prompt() {
    let key = ScriptKey::new(info_ctap21_pin(), |seen, _| match seen.cmd {
        0x01 => Reply::KeepAliveForever,
        _ => Reply::Standard,
    });
    let script = Script::new(&["123456"]);
    let mut d = open(&key, &script).await;
    let mut req = request("a");
    req.timeout = Duration::from_secs(30);
    let started = tokio::time::Instant::now();
    let err = d
        .make_credential(&req, Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::Timeout);
    assert!(started.elapsed() >= Duration::from_secs(30));
    assert!(started.elapsed() < Duration::from_secs(32));
    assert_eq!(script.touches(), 1, "one prompt, not one per keepalive");
    assert_eq!(key.cancels(), 1, "the device operation is cancelled");
    // The channel is not reused after an interrupted command.
    assert!(matches!(
        d.refresh_info().await,
        Err(AuthenticatorError::Device(_))
    ));
}

/// Keepalives then an answer: the touch prompt, then success.
#[tokio::test(start_paused = true)]
async fn keepalives_then_answer_prompt_touch_once() {
    let key = ScriptKey::new(info_ctap21_pin(), |seen, _| match seen.cmd {
        0x01 => Reply::KeepAlive(25, Box::new(Reply::Standard)),
        _ => Reply::Standard,
    });
    let script = Script::new(&["123456"]);
    let mut d = open(&key, &script).await;
    d.make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap();
    assert_eq!(script.touches(), 1);
    assert_eq!(key.cancels(), 0);
}

/// A prompt that presses Cancel when asked to touch.
struct CancelOnTouch(CancellationToken, Script);

#[async_trait::async_trait]
impl Prompt for CancelOnTouch {
    async fn request_pin(&self, r: &PinRequest) -> Option<Secret> {
        self.1.request_pin(r).await
    }
    fn touch(&self) {
        self.0.cancel();
    }
}

#[tokio::test(start_paused = true)]
async fn cancel_while_waiting_for_touch_cancels_on_the_device() {
    let key = ScriptKey::new(info_ctap21_pin(), |seen, _| match seen.cmd {
        0x01 => Reply::KeepAliveForever,
        _ => Reply::Standard,
    });
    let cancel = CancellationToken::new();
    let prompt = Arc::new(CancelOnTouch(cancel.clone(), Script::new(&["123456"])));
    let mut d = Device::open(key.token(), prompt, cancel).await.unwrap();
    let err = d
        .make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::Cancelled);
    assert_eq!(key.cancels(), 1);
}

#[tokio::test]
async fn cancel_during_the_pin_prompt() {
    struct CancelInsteadOfPin(CancellationToken);
    #[async_trait::async_trait]
    impl Prompt for CancelInsteadOfPin {
        async fn request_pin(&self, _: &PinRequest) -> Option<Secret> {
            self.0.cancel();
            std::future::pending().await
        }
        fn touch(&self) {}
    }
    let key = ScriptKey::standard(info_ctap21_pin());
    let cancel = CancellationToken::new();
    let mut d = Device::open(
        key.token(),
        Arc::new(CancelInsteadOfPin(cancel.clone())),
        cancel,
    )
    .await
    .unwrap();
    let err = d
        .make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::Cancelled);
    assert_eq!(key.pin_requests(TOKEN_BY_PIN), 0);
}

#[tokio::test]
async fn unplugged_mid_command_is_reported_as_removed() {
    let key = ScriptKey::new(info_ctap21_pin(), |seen, _| match seen.cmd {
        0x01 => Reply::KeepAlive(2, Box::new(Reply::Disconnect)),
        _ => Reply::Standard,
    });
    let mut d = open(&key, &Script::new(&["123456"])).await;
    let err = d
        .make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::Disconnected);
    assert_eq!(err.code(), "authenticator_disconnected");
}

#[tokio::test]
async fn garbage_cbor_is_an_invalid_reply_never_a_panic() {
    for garbage in [
        vec![0xff, 0x00, 0x13],
        vec![0xa1, 0x01],             // truncated map
        vec![0xa0, 0xa0],             // trailing bytes
        vec![0x5b, 0xff, 0xff, 0xff], // huge byte string length
    ] {
        let g = garbage.clone();
        let key = ScriptKey::new(info_ctap21_pin(), move |_, _| Reply::Raw(g.clone()));
        let err = Device::open(
            key.token(),
            Script::default().arc(),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, AuthenticatorError::InvalidResponse(_)),
            "{garbage:?}: {err:?}"
        );

        let g = garbage.clone();
        let key = ScriptKey::new(info_ctap21_pin(), move |seen, _| match seen.cmd {
            0x01 => Reply::Raw(g.clone()),
            _ => Reply::Standard,
        });
        let mut d = open(&key, &Script::new(&["123456"])).await;
        let err = d
            .make_credential(&request("a"), Discoverable::Never)
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthenticatorError::InvalidResponse(_)),
            "{garbage:?}: {err:?}"
        );
    }
    // Well-formed CBOR of the wrong shape.
    let key = ScriptKey::new(info_ctap21_pin(), |seen, _| match seen.cmd {
        0x01 => Reply::Ok(map(vec![(1, fault::int(5))])),
        0x06 if seen.sub() == Some(2) => Reply::Ok(map(vec![(1, fault::text("key"))])),
        _ => Reply::Standard,
    });
    let mut d = open(&key, &Script::new(&["123456"])).await;
    let err = d
        .make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AuthenticatorError::InvalidResponse(_)),
        "{err:?}"
    );
}

fn info_without_algorithms(max_msg_size: i64, transports: &[&str]) -> Value {
    map(vec![
        (
            1,
            Value::Array(vec![fault::text("U2F_V2"), fault::text("FIDO_2_0")]),
        ),
        (3, Value::Bytes(vec![0x11; 16])),
        (4, Value::Map(vec![(fault::text("rk"), Value::Bool(true))])),
        (5, fault::int(max_msg_size)),
        (
            9,
            Value::Array(transports.iter().map(|t| fault::text(t)).collect()),
        ),
    ])
}

/// C05 `ctap20-no-algorithms-field`: the server's list is sent; on 0x26 or 0x11 once more
/// with ES256 alone.
#[tokio::test]
async fn c05_key_that_chokes_on_unknown_algorithms_gets_es256_alone() {
    for status in [0x26u8, 0x11] {
        let key = ScriptKey::new(
            info_without_algorithms(1200, &["usb"]),
            move |seen, _| match seen.cmd {
                0x01 if fault::algorithms(seen).len() > 1 => Reply::Status(status),
                _ => Reply::Standard,
            },
        );
        let mut d = open(&key, &Script::default()).await;
        let mut req = request("a");
        req.user_verification = UserVerification::Discouraged;
        d.make_credential(&req, Discoverable::Never).await.unwrap();
        let sent: Vec<Vec<i64>> = key.sent(0x01).iter().map(fault::algorithms).collect();
        assert_eq!(
            sent,
            vec![common::ZITADEL_ALGS.to_vec(), vec![-7]],
            "status 0x{status:02x}"
        );
    }
}

/// C06 end to end: 10 excluded ids (one of 300 bytes) on a key with maxCredentialCountInList
/// 8, maxCredentialIdLength 128 and maxMsgSize 1200 that holds one of them.
#[tokio::test]
async fn c06_exclude_list_within_the_keys_limits_finds_the_held_credential() {
    let case: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/C06-exclude-list-limits.json")).unwrap();
    let decode = |s: &str| passkeys_core::b64::decode_lenient(s).unwrap();
    let ids: Vec<Vec<u8>> = case["decodedOptions"]["publicKey"]["excludeCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| decode(c["id"].as_str().unwrap()))
        .collect();
    let held = decode(case["authenticatorHoldsCredential"].as_str().unwrap());
    let info = case["authenticatorGetInfo"].clone();
    let max_count = info["maxCredentialCountInList"].as_u64().unwrap() as usize;
    let max_len = info["maxCredentialIdLength"].as_u64().unwrap() as usize;
    let max_msg = info["maxMsgSize"].as_u64().unwrap() as usize;

    let h = held.clone();
    let key = ScriptKey::new(info_ctap21_pin(), move |seen, _| match seen.cmd {
        0x02 => {
            if fault::ids(seen, 3).contains(&h) {
                Reply::Ok(map(vec![(
                    1,
                    Value::Map(vec![
                        (fault::text("id"), Value::Bytes(h.clone())),
                        (fault::text("type"), fault::text("public-key")),
                    ]),
                )]))
            } else {
                Reply::Status(0x2E)
            }
        }
        0x01 if fault::ids(seen, 5).contains(&h) => Reply::Status(0x19),
        _ => Reply::Standard,
    });
    let mut d = open(&key, &Script::new(&["123456"])).await;
    let mut req = request("a");
    req.exclude_credentials = ids.clone();
    let err = d
        .make_credential(&req, Discoverable::Never)
        .await
        .unwrap_err();
    assert_eq!(err, AuthenticatorError::CredentialExcluded);
    assert_eq!(err.code(), "credential_excluded");

    for seen in key.log() {
        for list in [fault::ids(&seen, 3), fault::ids(&seen, 5)] {
            assert!(list.len() <= max_count, "{} ids in one request", list.len());
            assert!(list.iter().all(|id| id.len() <= max_len));
        }
        assert!(
            fault::size(&seen) <= max_msg,
            "{} bytes",
            fault::size(&seen)
        );
    }
    let preflights = key.sent(0x02);
    // 9 usable ids: batches of 8 and 1; the held id is in the first, so one pre-flight.
    assert_eq!(preflights.len(), 1);
    assert_eq!(fault::ids(&preflights[0], 3).len(), max_count);
    for p in &preflights {
        let options = fault::get(&p.params, 5).unwrap();
        assert_eq!(fault::get_text(options, "up"), Some(&Value::Bool(false)));
    }
    assert_eq!(fault::ids(&key.sent(0x01)[0], 5), vec![held.clone()]);

    // alsoTest: an empty exclude list behaves like none.
    let key = ScriptKey::standard(info_ctap21_pin());
    let mut d = open(&key, &Script::new(&["123456"])).await;
    req.exclude_credentials = Vec::new();
    d.make_credential(&req, Discoverable::Never).await.unwrap();
    assert!(key.sent(0x02).is_empty());
    assert!(fault::get(&key.sent(0x01)[0].params, 5).is_none());
}

/// A CTAP 2.0 key with only PIN protocol one: getPinToken, 16-byte pinUvAuthParam.
#[tokio::test]
async fn ctap20_key_with_pin_protocol_one() {
    let info = map(vec![
        (1, Value::Array(vec![fault::text("FIDO_2_0")])),
        (3, Value::Bytes(vec![0x11; 16])),
        (
            4,
            Value::Map(vec![
                (fault::text("rk"), Value::Bool(true)),
                (fault::text("clientPin"), Value::Bool(true)),
            ]),
        ),
        (6, Value::Array(vec![fault::int(1)])),
    ]);
    let key = ScriptKey::standard(info);
    let script = Script::new(&["123456"]);
    let mut d = open(&key, &script).await;
    d.make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap();
    assert_eq!(key.pin_requests(5), 1, "getPinToken");
    assert_eq!(key.pin_requests(TOKEN_BY_PIN), 0);
    let mc = &key.sent(0x01)[0];
    assert_eq!(fault::get(&mc.params, 9), Some(&fault::int(1)));
    assert_eq!(
        fault::get(&mc.params, 8)
            .and_then(Value::as_bytes)
            .map(Vec::len),
        Some(16)
    );
}

/// forcePINChange: the current PIN, then a new one (not the same), changePIN, then the token.
#[tokio::test]
async fn forced_pin_change_asks_for_a_new_pin_first() {
    let mut info = info_ctap21_pin();
    if let Value::Map(entries) = &mut info {
        entries.push((fault::int(0x0C), Value::Bool(true)));
    }
    let key = ScriptKey::standard(info);
    let script = Script::new(&["123456", "123456", "24682468"]);
    let mut d = open(&key, &script).await;
    d.make_credential(&request("a"), Discoverable::Never)
        .await
        .unwrap();
    let change = PinRequest::ChangeRequired {
        min_length: 4,
        max_bytes: 63,
    };
    assert_eq!(
        script.requests(),
        vec![enter(8, false), change.clone(), change]
    );
    assert!(matches!(
        script.notices()[0],
        PromptNotice::PinRejected { .. }
    ));
    assert_eq!(key.pin_requests(4), 1, "one changePIN");
    assert_eq!(key.pin_requests(TOKEN_BY_PIN), 1);
}

/// Issue 12 item 10: a key that claims PINs need 4 294 967 295 characters is refused with a
/// clear error when it is opened: nothing asks for, or makes up, a PIN of that size.
#[tokio::test]
async fn huge_min_pin_length_is_refused_when_the_key_is_opened() {
    let mut info = info_ctap21_pin();
    if let Value::Map(m) = &mut info {
        m.push((fault::int(0x0D), fault::int(i64::from(u32::MAX))));
    }
    let key = ScriptKey::new(info, |_, _| Reply::Standard);
    let err = Device::open(
        key.token(),
        Script::default().arc(),
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, AuthenticatorError::InvalidResponse(m) if m.contains("at most 63 bytes")),
        "{err:?}"
    );
}
