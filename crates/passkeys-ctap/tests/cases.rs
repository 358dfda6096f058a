//! The shared cases as tests of the engine's decisions (pure functions of getInfo and the
//! request): C05 algorithms, C06 exclude-list limits, C07 PIN/UV. The same cases run end to end
//! against scripted keys in faults.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::webauthn::UserVerification;
use passkeys_ctap::plan::{self, UvPlan};
use passkeys_ctap::DeviceInfo;
use serde_json::Value;

/// A DeviceInfo from a fixture's getInfo JSON.
fn info(j: &Value) -> DeviceInfo {
    let strings = |k: &str| -> Vec<String> {
        j[k].as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    DeviceInfo {
        versions: strings("versions"),
        transports: strings("transports"),
        options: j["options"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_bool().unwrap()))
                    .collect()
            })
            .unwrap_or_default(),
        max_msg_size: j["maxMsgSize"].as_u64(),
        max_credential_count_in_list: j["maxCredentialCountInList"].as_u64(),
        max_credential_id_length: j["maxCredentialIdLength"].as_u64(),
        algorithms: j["algorithms"].as_array().map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["type"].as_str().unwrap().to_string(),
                        p["alg"].as_i64().unwrap(),
                    )
                })
                .collect()
        }),
        pin_protocols: vec![2, 1],
        ..DeviceInfo::default()
    }
}

fn algs(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect()
}

#[test]
fn c05_algorithm_lists() {
    let case: Value =
        serde_json::from_str(include_str!("fixtures/C05-pubkeycredparams-matrix.json")).unwrap();
    // What the core's options decoding keeps: public-key entries, in the server's order.
    let server: Vec<i64> = case["rpPubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "public-key")
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    let mut checked = 0;
    for a in case["authenticators"].as_array().unwrap() {
        let name = a["name"].as_str().unwrap();
        if a["getInfo"].is_null() {
            // u2f-only: U2F-only keys cannot hold passkeys and webauthn-authenticator-rs's
            // transports refuse them (NotSupported); platform-windows-hello-tpm12: webauthn.dll
            // chooses (see README). Neither goes through this engine's CTAP2 path.
            assert!(
                name == "u2f-only" || name.starts_with("platform-"),
                "{name}"
            );
            continue;
        }
        let i = info(&a["getInfo"]);
        let nfc = i.transports == ["nfc"];
        let plan = plan::algorithms(&server, &i, nfc).unwrap();
        assert_eq!(plan.first, algs(&a["expectedSentParams"]), "{name}");
        if let Some(fallback) = a.get("fallbackParams") {
            assert_eq!(plan.fallback, Some(algs(fallback)), "{name}");
        }
        assert!(!plan.first.is_empty());
        checked += 1;
    }
    assert_eq!(checked, 3);
    // Rule 6: never an empty list; fail locally with a clear message.
    let es256_eddsa = info(&case["authenticators"][0]["getInfo"]);
    let err = plan::algorithms(&[-257, -65535], &es256_eddsa, false).unwrap_err();
    assert!(
        matches!(&err, AuthenticatorError::NotSupported(m) if m.contains("none of the signature algorithms")),
        "{err:?}"
    );
    assert!(plan::algorithms(&[], &DeviceInfo::default(), false).is_err());
}

#[test]
fn c06_exclude_batches() {
    let case: Value =
        serde_json::from_str(include_str!("fixtures/C06-exclude-list-limits.json")).unwrap();
    let ids: Vec<Vec<u8>> = case["decodedOptions"]["publicKey"]["excludeCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| passkeys_core::b64::decode_lenient(c["id"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(ids.len(), 10);
    assert_eq!(ids[4].len(), 300);
    let i = info(&case["authenticatorGetInfo"]);
    let batches = plan::exclude_batches(&ids, &i);
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![8, 1]);
    assert!(batches.iter().flatten().all(|id| id.len() <= 128));
    assert!(!batches.iter().flatten().any(|id| *id == ids[4]));
    // Order kept.
    let flat: Vec<&Vec<u8>> = batches.iter().flatten().collect();
    let expected: Vec<&Vec<u8>> = ids.iter().filter(|id| id.len() <= 128).collect();
    assert_eq!(flat, expected);
    // alsoTest: empty stays empty.
    assert!(plan::exclude_batches(&[], &i).is_empty());
    // No limits advertised: one batch while it fits maxMsgSize (1024 by default).
    let small: Vec<Vec<u8>> = (0..30u8).map(|n| vec![n; 64]).collect();
    let batches = plan::exclude_batches(&small, &DeviceInfo::default());
    assert!(batches.len() > 1);
    for b in &batches {
        let bytes: usize = b.iter().map(|id| plan::descriptor_size(id.len())).sum();
        assert!(bytes + 200 <= 1024);
    }
}

#[test]
fn c07_pin_uv_rows() {
    let case: Value =
        serde_json::from_str(include_str!("fixtures/C07-pin-uv-state-matrix.json")).unwrap();
    let expected = [
        (1, UvPlan::None),
        (2, UvPlan::None),
        (3, UvPlan::SetPinThenPin),
        (4, UvPlan::Pin),
        (5, UvPlan::None),
        (6, UvPlan::Pin),
        (7, UvPlan::Pin),
        // Built-in UV first; with uvRetries 0 the engine falls back to the PIN (faults.rs).
        (8, UvPlan::BuiltInUv),
    ];
    for row in case["rows"].as_array().unwrap() {
        let id = row["id"].as_i64().unwrap();
        let i = info(&row["getInfo"]);
        let uv = match row["rpUV"].as_str().unwrap() {
            "required" => UserVerification::Required,
            "preferred" => UserVerification::Preferred,
            _ => UserVerification::Discouraged,
        };
        let rk = row["rk"].as_bool().unwrap_or(false);
        let got = plan::uv_plan(&i, uv, rk).unwrap();
        let want = expected.iter().find(|(n, _)| *n == id).unwrap().1;
        assert_eq!(got, want, "row {id}: {}", row["expected"]);
    }
    // makeCredUvNotRqd covers only non-discoverable credentials.
    let row5 = info(&case["rows"][4]["getInfo"]);
    assert_eq!(
        plan::uv_plan(&row5, UserVerification::Discouraged, true).unwrap(),
        UvPlan::Pin
    );
    // UV required on a key with neither PIN nor built-in UV: a clear refusal.
    let nothing = info(&serde_json::json!({"versions": ["FIDO_2_0"], "options": {}}));
    assert!(matches!(
        plan::uv_plan(&nothing, UserVerification::Required, false),
        Err(AuthenticatorError::NotSupported(_))
    ));
}

#[test]
fn discoverable_choice() {
    use passkeys_ctap::Discoverable::*;
    let mut i = info(&serde_json::json!({"versions": ["FIDO_2_1"], "options": {"rk": true}}));
    assert!(plan::discoverable(&i, Auto, false).unwrap());
    assert!(!plan::discoverable(&i, Never, false).unwrap());
    assert!(
        plan::discoverable(&i, Never, true).unwrap(),
        "the server requires it"
    );
    i.remaining_discoverable_credentials = Some(0);
    assert!(
        !plan::discoverable(&i, Auto, false).unwrap(),
        "full: not stored"
    );
    assert_eq!(
        plan::discoverable(&i, Always, false),
        Err(AuthenticatorError::KeyStoreFull)
    );
    let no_rk = info(&serde_json::json!({"versions": ["FIDO_2_0"], "options": {}}));
    assert!(!plan::discoverable(&no_rk, Auto, false).unwrap());
    assert!(plan::discoverable(&no_rk, Auto, true).is_err());
}
