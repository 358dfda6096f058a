//! One PIN per visit (issue 15): a `TokenCache` shared by the devices opened for a sequence of
//! management operations on one key, as the app's Security keys page opens the key afresh for
//! each. The PIN prompts are counted with the scripted person (`Script`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ciborium::Value;
use common::fault::{self, info_ctap21_pin, map, Reply, ScriptKey};
use common::prompt::Script;
use common::request;
use common::virt::VirtKey;
use passkeys_core::Secret;
use passkeys_ctap::session::TokenCache;
use passkeys_ctap::{CancellationToken, Device, Discoverable};

const PIN: &str = "123456";

async fn open_with(
    key: &VirtKey,
    script: &Script,
    cache: &Arc<TokenCache>,
) -> Device<common::virt::VirtToken> {
    let mut d = Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap();
    d.use_token_cache(cache.clone());
    d
}

async fn key_with_two_passkeys() -> VirtKey {
    let key = VirtKey::new();
    let mut d = Device::open(
        key.token(),
        Script::default().arc(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    d.set_first_pin(&Secret::new(PIN)).await.unwrap();
    for user in ["alice", "bob"] {
        let mut d = Device::open(
            key.token(),
            Script::new(&[PIN]).arc(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
        let mut req = request(user);
        req.resident_key = true;
        d.make_credential(&req, Discoverable::Always).await.unwrap();
    }
    key
}

/// info → list → delete one → list again → slots asks for the PIN once; after the key is
/// re-plugged (its token is gone) the next operation asks once more and succeeds; after the
/// cache is cleared (the person left the page) it asks again.
#[tokio::test]
async fn a_visit_asks_for_the_pin_once_until_replug_or_clear() {
    let key = key_with_two_passkeys().await;
    let cache = Arc::new(TokenCache::new());
    // Answers for three prompts at most; a fourth would be cancelled and fail the test.
    let script = Script::new(&[PIN, PIN, PIN]);

    let report = open_with(&key, &script, &cache)
        .await
        .report(true)
        .await
        .unwrap();
    assert_eq!(report.slots.unwrap().used, 2);
    assert_eq!(script.requests().len(), 1, "the first operation asks");
    assert!(cache.is_held());

    let listed = {
        let mut d = open_with(&key, &script, &cache).await;
        let mut cm = d.credential_manager().await.unwrap();
        cm.list().await.unwrap()
    };
    let creds: Vec<_> = listed
        .iter()
        .flat_map(|rp| rp.credentials.clone())
        .collect();
    assert_eq!(creds.len(), 2);
    {
        let mut d = open_with(&key, &script, &cache).await;
        let mut cm = d.credential_manager().await.unwrap();
        cm.delete(&creds[0].id_bytes).await.unwrap();
    }
    let again = {
        let mut d = open_with(&key, &script, &cache).await;
        let mut cm = d.credential_manager().await.unwrap();
        cm.list().await.unwrap()
    };
    assert_eq!(
        again.iter().map(|rp| rp.credentials.len()).sum::<usize>(),
        1
    );
    let slots = open_with(&key, &script, &cache)
        .await
        .credential_slots()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(slots.used, 1);
    assert_eq!(
        script.requests().len(),
        1,
        "five operations on one key, one PIN prompt"
    );

    // Unplugged and inserted again: the key forgot the token; one prompt, and it works.
    key.replug();
    let after_replug = {
        let mut d = open_with(&key, &script, &cache).await;
        let mut cm = d.credential_manager().await.unwrap();
        cm.list().await.unwrap()
    };
    assert_eq!(after_replug.len(), 1);
    assert_eq!(
        script.requests().len(),
        2,
        "asked once more after the re-plug"
    );
    open_with(&key, &script, &cache)
        .await
        .credential_slots()
        .await
        .unwrap();
    assert_eq!(script.requests().len(), 2);

    // Cleared (the person left the page, the app locked): the next operation asks.
    assert!(cache.clear());
    open_with(&key, &script, &cache)
        .await
        .credential_slots()
        .await
        .unwrap();
    assert_eq!(script.requests().len(), 3);

    // A PIN change drops the token (the key invalidates it too).
    let mut d = open_with(&key, &script, &cache).await;
    d.change_pin(&Secret::new(PIN), &Secret::new("654321"))
        .await
        .unwrap();
    assert!(!cache.is_held());
}

/// Without a cache (the CLI) each operation asks for itself, as before.
#[tokio::test]
async fn without_a_cache_every_operation_asks() {
    let key = key_with_two_passkeys().await;
    let script = Script::new(&[PIN, PIN]);
    for _ in 0..2 {
        let mut d = Device::open(key.token(), script.arc(), CancellationToken::new())
            .await
            .unwrap();
        d.credential_slots().await.unwrap();
    }
    assert_eq!(script.requests().len(), 2);
}

fn config_and_credmgmt_info() -> Value {
    let mut info = info_ctap21_pin();
    if let Value::Map(m) = &mut info {
        if let Some((_, Value::Map(opts))) = m.iter_mut().find(|(k, _)| *k == fault::int(4)) {
            opts.push((fault::text("credMgmt"), Value::Bool(true)));
            opts.push((fault::text("authnrCfg"), Value::Bool(true)));
            opts.push((fault::text("setMinPINLength"), Value::Bool(true)));
            opts.push((fault::text("alwaysUv"), Value::Bool(false)));
        }
    }
    info
}

/// Scripted key only (it can refuse the kept token once; the virtual key's switches are in
/// tests/manage.rs and the app's E2E): slots, then always-UV, then
/// the minimum PIN length ask for the PIN once, with one token carrying `cm` and `acfg`; when the
/// key refuses the kept token (PIN_AUTH_INVALID), it is dropped, the PIN asked once and the
/// command retried once.
#[tokio::test]
async fn one_token_serves_credential_management_and_configuration() {
    let refuse_next_config = Arc::new(AtomicBool::new(false));
    let refuse = refuse_next_config.clone();
    let refuse_next_credmgmt = Arc::new(AtomicBool::new(false));
    let refuse_cm = refuse_next_credmgmt.clone();
    let key = ScriptKey::new(config_and_credmgmt_info(), move |seen, _| match seen.cmd {
        0x0A if refuse_cm.swap(false, Ordering::SeqCst) => Reply::Status(0x33),
        0x0A => Reply::Ok(map(vec![(1, fault::int(3)), (2, fault::int(22))])),
        0x0D if refuse.swap(false, Ordering::SeqCst) => Reply::Status(0x33),
        0x0D => Reply::Ok(Value::Null),
        _ => Reply::Standard,
    });
    let cache = Arc::new(TokenCache::new());
    let script = Script::new(&[PIN, PIN, PIN]);
    let open = || async {
        let mut d = Device::open(key.token(), script.arc(), CancellationToken::new())
            .await
            .unwrap();
        d.use_token_cache(cache.clone());
        d
    };
    let slots = open().await.credential_slots().await.unwrap().unwrap();
    assert_eq!((slots.used, slots.remaining), (3, 22));
    open().await.set_always_uv(true).await.unwrap();
    open()
        .await
        .set_min_pin_length(Some(8), false)
        .await
        .unwrap();
    assert_eq!(
        script.requests().len(),
        1,
        "three operations, one PIN prompt"
    );
    let token_requests: Vec<_> = key
        .sent(0x06)
        .into_iter()
        .filter(|s| s.sub() == Some(9))
        .collect();
    assert_eq!(token_requests.len(), 1);
    assert_eq!(
        fault::get(&token_requests[0].params, 9),
        Some(&fault::int(0x04 | 0x20)),
        "cm + acfg"
    );

    // The key refuses the kept token once: one more prompt, one retry, success.
    refuse_next_config.store(true, Ordering::SeqCst);
    open().await.set_always_uv(true).await.unwrap();
    assert_eq!(script.requests().len(), 2);
    assert_eq!(key.sent(0x0D).len(), 4, "three changes and one retry");
    assert!(cache.is_held());

    // The same for credential management.
    let script_before = script.requests().len();
    let sent_before = key.sent(0x0A).len();
    refuse_next_credmgmt.store(true, Ordering::SeqCst);
    let slots = open().await.credential_slots().await.unwrap().unwrap();
    assert_eq!((slots.used, slots.remaining), (3, 22));
    assert_eq!(
        script.requests().len(),
        script_before + 1,
        "asked once more"
    );
    assert_eq!(
        key.sent(0x0A).len(),
        sent_before + 2,
        "refused, then retried"
    );
}
