//! User service v2 passkey API (contract §5, §8.1 B1–B5): shapes, permission rules and
//! verification with webauthn-rs, for helpdesk (on-behalf) enrollment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use passkeys_sandbox::{PasskeyState, Sandbox, ADMIN_USER_ID, ALICE_USER_ID, DEMO_USER_ID};
use reqwest::Method;
use serde_json::{json, Value};

/// Signs `user` in (full scope) and returns the access token.
async fn token_as(sb: &Sandbox, user: &str, password: &str) -> String {
    tokens_as(sb, FULL_SCOPE, user, password).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn register(sb: &Sandbox, token: &str, user_id: &str, body: Value) -> (u16, Value) {
    let (s, b, _) = api(
        sb,
        Method::POST,
        &format!("/v2/users/{user_id}/passkeys"),
        token,
        Some(body),
    )
    .await;
    (s, b)
}

async fn verify_v2(
    sb: &Sandbox,
    token: &str,
    user_id: &str,
    passkey_id: &str,
    body: Value,
) -> (u16, Value) {
    let (s, b, _) = api(
        sb,
        Method::POST,
        &format!("/v2/users/{user_id}/passkeys/{passkey_id}"),
        token,
        Some(body),
    )
    .await;
    (s, b)
}

async fn list_v2(sb: &Sandbox, token: &str, user_id: &str) -> (u16, Value) {
    let (s, b, _) = api(
        sb,
        Method::POST,
        &format!("/v2/users/{user_id}/passkeys/_search"),
        token,
        Some(json!({})),
    )
    .await;
    (s, b)
}

/// Keys of every object, recursively, are in sorted order (protojson `Struct`).
fn assert_sorted(v: &Value, path: &str) {
    match v {
        Value::Object(m) => {
            let keys: Vec<&String> = m.keys().collect();
            let mut s = keys.clone();
            s.sort();
            assert_eq!(keys, s, "keys of {path} are not sorted");
            for (k, v) in m {
                assert_sorted(v, &format!("{path}.{k}"));
            }
        }
        Value::Array(a) => a.iter().for_each(|v| assert_sorted(v, path)),
        _ => {}
    }
}

#[tokio::test]
async fn admin_registers_a_passkey_for_another_user() {
    let sb = start().await;
    let admin = token_as(&sb, "admin", "admin").await;
    let (status, body) = register(
        &sb,
        &admin,
        ALICE_USER_ID,
        json!({"authenticator": "PASSKEY_AUTHENTICATOR_CROSS_PLATFORM", "domain": "localhost"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let passkey_id = body["passkeyId"].as_str().unwrap().to_string();
    assert!(body["details"]["sequence"].is_string());
    assert!(body["details"]["changeDate"].is_string());
    let options = &body["publicKeyCredentialCreationOptions"];
    assert!(options.is_object(), "a plain JSON object, not base64");
    assert_sorted(options, "options");
    let pk = &options["publicKey"];
    assert_eq!(pk["rp"], json!({"id": "localhost", "name": "ZITADEL"}));
    assert_eq!(pk["user"]["name"], "alice@sandbox.localhost");
    assert_eq!(pk["user"]["displayName"], "Alice Example");
    assert_eq!(pk["user"]["id"], "MjE4NjYyNTk2OTE4NjQwODk4");
    assert_eq!(
        pk["authenticatorSelection"],
        json!({"authenticatorAttachment": "cross-platform", "userVerification": "required"})
    );
    assert_eq!(pk["timeout"], 300000);
    assert_eq!(pk["attestation"], "none");
    assert_eq!(pk["challenge"].as_str().unwrap().len(), 43);
    // The pending registration belongs to alice, not to the admin.
    let pending = sb.inspect().passkeys_of(ALICE_USER_ID);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].state, PasskeyState::Pending);
    assert_eq!(pending[0].id, passkey_id);
    assert!(sb.inspect().passkeys_of(ADMIN_USER_ID).is_empty());
    assert_eq!(
        sb.inspect()
            .passkey_rp_id(ALICE_USER_ID, &passkey_id)
            .as_deref(),
        Some("localhost")
    );

    let mut st = soft_token();
    let cred = soft_register(&mut st, options, &origin(&sb));
    let (status, body) = verify_v2(
        &sb,
        &admin,
        ALICE_USER_ID,
        &passkey_id,
        json!({"publicKeyCredential": cred, "passkeyName": "Alice's key"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["details"]["changeDate"].is_string());
    assert!(sb.inspect().last_v2_verify_body().is_some());

    let (status, list) = list_v2(&sb, &admin, ALICE_USER_ID).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["details"]["totalResult"], "1");
    assert_eq!(
        list["result"],
        json!([{"id": passkey_id, "state": "AUTH_FACTOR_STATE_READY", "name": "Alice's key"}])
    );
    // Alice sees it with her own token, through v2 and v1 alike; demo does not.
    let alice = token_as(&sb, "alice", "alice").await;
    let (status, own) = list_v2(&sb, &alice, ALICE_USER_ID).await;
    assert_eq!(status, 200);
    assert_eq!(own["result"][0]["id"], passkey_id.as_str());
    let (_, v1, _) = api(
        &sb,
        Method::POST,
        "/auth/v1/users/me/passwordless/_search",
        &alice,
        None,
    )
    .await;
    assert_eq!(v1["result"][0]["id"], passkey_id.as_str());
    assert!(sb.inspect().passkeys().is_empty(), "demo has none");

    // A second registration for alice excludes her first credential.
    let (_, body) = register(&sb, &admin, ALICE_USER_ID, json!({"domain": "localhost"})).await;
    let pk = &body["publicKeyCredentialCreationOptions"]["publicKey"];
    assert_eq!(pk["excludeCredentials"].as_array().unwrap().len(), 1);
    assert_eq!(
        pk["authenticatorSelection"],
        json!({"userVerification": "required"})
    );

    // The admin may remove it (user.write).
    let (status, _, _) = api(
        &sb,
        Method::DELETE,
        &format!("/v2/users/{ALICE_USER_ID}/passkeys/{passkey_id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (_, list) = list_v2(&sb, &admin, ALICE_USER_ID).await;
    assert!(list.get("result").is_none(), "{list}");
    assert!(list["details"].get("totalResult").is_none());
}

#[tokio::test]
async fn a_user_without_permissions_cannot_act_on_others() {
    let sb = start().await;
    let demo = access_token(&sb).await;
    let (status, body) = register(&sb, &demo, ALICE_USER_ID, json!({"domain": "localhost"})).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], 7);
    assert_eq!(error_id(&body), Some("AUTH-5mWD2"));
    assert_eq!(
        body["message"],
        "No matching permissions found (AUTH-5mWD2)"
    );
    assert!(sb.inspect().passkeys_of(ALICE_USER_ID).is_empty());

    let (status, _) = list_v2(&sb, &demo, ALICE_USER_ID).await;
    assert_eq!(status, 403);
    let (status, _, _) = api(
        &sb,
        Method::DELETE,
        &format!("/v2/users/{ALICE_USER_ID}/passkeys/1"),
        &demo,
        None,
    )
    .await;
    assert_eq!(status, 403);
    // CreatePasskeyRegistrationLink needs user.passkey.write, even for oneself.
    for user in [ALICE_USER_ID, DEMO_USER_ID] {
        let (status, body, _) = api(
            &sb,
            Method::POST,
            &format!("/v2/users/{user}/passkeys/registration_link"),
            &demo,
            Some(json!({"returnCode": {}})),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(error_id(&body), Some("AUTH-5mWD2"));
    }
    assert_eq!(sb.inspect().open_registration_codes(ALICE_USER_ID), 0);
    // ListUsers only shows what the caller may read: demo sees only demo.
    let (status, users, _) = api(&sb, Method::POST, "/v2/users", &demo, Some(json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(users["result"].as_array().unwrap().len(), 1);
    assert_eq!(users["result"][0]["userId"], DEMO_USER_ID);
}

#[tokio::test]
async fn a_user_may_register_their_own_passkey_via_v2() {
    let sb = start().await;
    let demo = access_token(&sb).await;
    // Empty domain: the request's host.
    let (status, body) = register(&sb, &demo, DEMO_USER_ID, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let id = body["passkeyId"].as_str().unwrap().to_string();
    let options = &body["publicKeyCredentialCreationOptions"];
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    let mut st = soft_token();
    let cred = soft_register(&mut st, options, &origin(&sb));

    // Shapes the gateway refuses.
    let bad = [
        json!({"passkeyName": "x"}),
        json!({"publicKeyCredential": "eyJpZCI6", "passkeyName": "x"}),
        json!({"publicKeyCredential": cred.clone()}),
        json!({"publicKeyCredential": cred.clone(), "passkeyName": ""}),
    ];
    for b in bad {
        let (status, body) = verify_v2(&sb, &demo, DEMO_USER_ID, &id, b).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], 3);
    }
    let (status, body) = verify_v2(
        &sb,
        &demo,
        DEMO_USER_ID,
        &id,
        json!({"publicKeyCredential": cred.clone(), "passkeyName": "Mine"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sb.inspect().passkeys()[0].state, PasskeyState::Ready);
    // Nothing pending any more.
    let (status, body) = verify_v2(
        &sb,
        &demo,
        DEMO_USER_ID,
        &id,
        json!({"publicKeyCredential": cred, "passkeyName": "Again"}),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(error_id(&body), Some("WEBAU-5M9so"));
}

#[tokio::test]
async fn a_verification_for_another_rp_id_is_rejected() {
    let sb = start().await;
    let admin = token_as(&sb, "admin", "admin").await;
    let (_, body) = register(
        &sb,
        &admin,
        ALICE_USER_ID,
        json!({"domain": "sandbox.localhost"}),
    )
    .await;
    let id = body["passkeyId"].as_str().unwrap().to_string();
    // Credential made for "localhost" instead of the requested domain.
    let mut options = body["publicKeyCredentialCreationOptions"].clone();
    options["publicKey"]["rp"]["id"] = json!("localhost");
    let mut st = soft_token();
    let cred = soft_register(&mut st, &options, &origin(&sb));
    let (status, body) = verify_v2(
        &sb,
        &admin,
        ALICE_USER_ID,
        &id,
        json!({"publicKeyCredential": cred, "passkeyName": "x"}),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(error_id(&body), Some("WEBAU-3Vb9s"));
    assert_eq!(
        sb.inspect().passkeys_of(ALICE_USER_ID)[0].state,
        PasskeyState::Pending
    );
}

#[tokio::test]
async fn registration_link_with_return_code() {
    let sb = start().await;
    let admin = token_as(&sb, "admin", "admin").await;
    let (status, body, _) = api(
        &sb,
        Method::POST,
        &format!("/v2/users/{ALICE_USER_ID}/passkeys/registration_link"),
        &admin,
        Some(json!({"returnCode": {}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["details"]["creationDate"].is_string());
    let code_id = body["code"]["id"].as_str().unwrap().to_string();
    let code = body["code"]["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 12);
    assert_eq!(sb.inspect().open_registration_codes(ALICE_USER_ID), 1);
    // sendLink: no code in the reply.
    let (status, body, _) = api(
        &sb,
        Method::POST,
        &format!("/v2/users/{ALICE_USER_ID}/passkeys/registration_link"),
        &admin,
        Some(json!({"sendLink": {}})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.get("code").is_none());

    // With the code, a caller without permissions may register for alice, once.
    let demo = access_token(&sb).await;
    let with_code = json!({"code": {"id": code_id, "code": code}, "domain": "localhost"});
    let (status, body) = register(&sb, &demo, ALICE_USER_ID, with_code.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = register(&sb, &demo, ALICE_USER_ID, with_code).await;
    assert_eq!(status, 400);
    let wrong = json!({"code": {"id": "1", "code": "nope"}});
    let (status, _) = register(&sb, &demo, ALICE_USER_ID, wrong).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn user_lookup_by_login_name() {
    let sb = start().await;
    let admin = token_as(&sb, "admin", "admin").await;
    let q = json!({"queries": [{"loginNameQuery": {"loginName": "alice@sandbox.localhost", "method": "TEXT_QUERY_METHOD_EQUALS"}}]});
    let (status, body, _) = api(&sb, Method::POST, "/v2/users", &admin, Some(q)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["details"]["totalResult"], "1");
    let u = &body["result"][0];
    assert_eq!(u["userId"], ALICE_USER_ID);
    assert_eq!(u["preferredLoginName"], "alice@sandbox.localhost");
    assert_eq!(u["human"]["profile"]["displayName"], "Alice Example");
    let q = json!({"queries": [{"userNameQuery": {"userName": "nobody", "method": "TEXT_QUERY_METHOD_EQUALS"}}]});
    let (_, body, _) = api(&sb, Method::POST, "/v2/users", &admin, Some(q)).await;
    assert!(body.get("result").is_none());
    let (status, body, _) = api(
        &sb,
        Method::GET,
        &format!("/v2/users/{ALICE_USER_ID}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["username"], "alice");
    let (status, _, _) = api(&sb, Method::GET, "/v2/users/999", &admin, None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn each_user_signs_in_as_themself() {
    let sb = start().await;
    let alice = token_as(&sb, "alice@sandbox.localhost", "alice").await;
    let (status, me, _) = api(&sb, Method::GET, "/auth/v1/users/me", &alice, None).await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["id"], ALICE_USER_ID);
    assert_eq!(me["user"]["preferredLoginName"], "alice@sandbox.localhost");
    let (_, info, _) = api(&sb, Method::GET, "/oidc/v1/userinfo", &alice, None).await;
    assert_eq!(info["sub"], ALICE_USER_ID);
    // A v1 registration by alice is hers.
    let (opts, _) = add(&sb, &alice).await;
    assert_eq!(opts["publicKey"]["user"]["name"], "alice@sandbox.localhost");
    assert_eq!(sb.inspect().passkeys_of(ALICE_USER_ID).len(), 1);
    assert!(sb.inspect().passkeys().is_empty());
}
