//! Self-service passkeys on User service v2 with the user's own token, over the REST gateway
//! (ZITADEL v2.59+) and over Connect (v4+), and the switches per ZITADEL generation
//! (docs/zitadel-fidelity.md G1–G6). Registrations are verified for real (SoftToken credential,
//! webauthn-rs in the sandbox).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::*;
use passkeys_sandbox::{PasskeyState, Sandbox, SandboxConfig, ALICE_USER_ID, DEMO_USER_ID};
use reqwest::Method;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug)]
enum Transport {
    Rest,
    Connect,
}

/// A Connect unary JSON call: `POST /zitadel.user.v2.UserService/<method>`.
async fn connect(sb: &Sandbox, method: &str, token: &str, body: &str) -> (u16, Value) {
    let resp = http()
        .post(url(sb, &format!("/zitadel.user.v2.UserService/{method}")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("connect-protocol-version", "1")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Adds `userId` (and `passkeyId`) to `body` for Connect; REST puts them in the path.
fn with_ids(mut body: Value, user_id: &str, passkey_id: Option<&str>) -> String {
    body["userId"] = json!(user_id);
    if let Some(p) = passkey_id {
        body["passkeyId"] = json!(p);
    }
    body.to_string()
}

impl Transport {
    async fn register(self, sb: &Sandbox, token: &str, user: &str, body: Value) -> (u16, Value) {
        match self {
            Transport::Rest => {
                let path = format!("/v2/users/{user}/passkeys");
                let (s, b, _) = api(sb, Method::POST, &path, token, Some(body)).await;
                (s, b)
            }
            Transport::Connect => {
                connect(sb, "RegisterPasskey", token, &with_ids(body, user, None)).await
            }
        }
    }

    async fn verify(
        self,
        sb: &Sandbox,
        token: &str,
        user: &str,
        passkey_id: &str,
        body: Value,
    ) -> (u16, Value) {
        match self {
            Transport::Rest => {
                let path = format!("/v2/users/{user}/passkeys/{passkey_id}");
                let (s, b, _) = api(sb, Method::POST, &path, token, Some(body)).await;
                (s, b)
            }
            Transport::Connect => {
                let body = with_ids(body, user, Some(passkey_id));
                connect(sb, "VerifyPasskeyRegistration", token, &body).await
            }
        }
    }

    async fn list(self, sb: &Sandbox, token: &str, user: &str) -> (u16, Value) {
        match self {
            Transport::Rest => {
                let path = format!("/v2/users/{user}/passkeys/_search");
                let (s, b, _) = api(sb, Method::POST, &path, token, Some(json!({}))).await;
                (s, b)
            }
            Transport::Connect => {
                connect(sb, "ListPasskeys", token, &with_ids(json!({}), user, None)).await
            }
        }
    }

    async fn remove(self, sb: &Sandbox, token: &str, user: &str, passkey_id: &str) -> (u16, Value) {
        match self {
            Transport::Rest => {
                let path = format!("/v2/users/{user}/passkeys/{passkey_id}");
                let (s, b, _) = api(sb, Method::DELETE, &path, token, None).await;
                (s, b)
            }
            Transport::Connect => {
                let body = with_ids(json!({}), user, Some(passkey_id));
                connect(sb, "RemovePasskey", token, &body).await
            }
        }
    }

    async fn link(self, sb: &Sandbox, token: &str, user: &str) -> (u16, Value) {
        let body = json!({"returnCode": {}});
        match self {
            Transport::Rest => {
                let path = format!("/v2/users/{user}/passkeys/registration_link");
                let (s, b, _) = api(sb, Method::POST, &path, token, Some(body)).await;
                (s, b)
            }
            Transport::Connect => {
                let body = with_ids(body, user, None);
                connect(sb, "CreatePasskeyRegistrationLink", token, &body).await
            }
        }
    }

    /// The error is ZITADEL's: gateway `{code: <number>, message, details[{@type, id}]}` or
    /// Connect `{code: <name>, message, details[{type, value, debug{id}}]}`.
    fn assert_error(self, status: u16, body: &Value, want: (u16, u16, &str, &str), id: &str) {
        let (http, grpc, name, message) = want;
        assert_eq!(status, http, "{self:?}: {body}");
        assert_eq!(body["message"], message, "{self:?}: {body}");
        match self {
            Transport::Rest => {
                assert_eq!(body["code"], grpc, "{body}");
                assert_eq!(error_id(body), Some(id), "{body}");
                assert_eq!(
                    body["details"][0]["@type"],
                    "type.googleapis.com/zitadel.v1.ErrorDetail"
                );
            }
            Transport::Connect => {
                assert_eq!(body["code"], name, "{body}");
                let d = &body["details"][0];
                assert_eq!(d["type"], "zitadel.v1.ErrorDetail", "{body}");
                assert_eq!(d["debug"]["id"], id, "{body}");
                // `value` is the detail's protobuf encoding (unpadded standard base64): field 1
                // holds the id.
                let value = STANDARD_NO_PAD
                    .decode(d["value"].as_str().unwrap())
                    .unwrap();
                assert_eq!(value[0], 0x0a);
                assert_eq!(&value[2..2 + id.len()], id.as_bytes());
            }
        }
    }
}

const DENIED: (u16, u16, &str, &str) = (
    403,
    7,
    "permission_denied",
    "No matching permissions found (AUTH-5mWD2)",
);
const NO_PENDING: (u16, u16, &str, &str) = (
    500,
    13,
    "internal",
    "WebAuthN Token could not be found (WEBAU-5M9so)",
);

/// The whole self-service job with the user's own token: register (options as a JSON object
/// with base64url members), verify, list, remove; every call on another user's id is refused as
/// ZITADEL refuses it, and a plain user may not create a registration link.
async fn self_service(transport: Transport, cfg: SandboxConfig) {
    let sb = Sandbox::start(cfg).await.unwrap();
    let demo = access_token(&sb).await;

    let (status, body) = transport
        .register(
            &sb,
            &demo,
            DEMO_USER_ID,
            json!({"authenticator": "PASSKEY_AUTHENTICATOR_CROSS_PLATFORM", "domain": "localhost"}),
        )
        .await;
    assert_eq!(status, 200, "{transport:?}: {body}");
    let passkey_id = body["passkeyId"].as_str().unwrap().to_string();
    let options = &body["publicKeyCredentialCreationOptions"];
    let pk = &options["publicKey"];
    assert!(
        pk.is_object(),
        "a JSON object, not base64-wrapped bytes: {body}"
    );
    let challenge = pk["challenge"].as_str().unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(challenge).unwrap().len(), 32);
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(pk["user"]["id"].as_str().unwrap())
            .unwrap(),
        DEMO_USER_ID.as_bytes()
    );
    assert_eq!(pk["rp"]["id"], "localhost");
    assert_eq!(
        pk["authenticatorSelection"]["authenticatorAttachment"],
        "cross-platform"
    );

    // The unfinished registration is not listed.
    let (status, list) = transport.list(&sb, &demo, DEMO_USER_ID).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.get("result").is_none(), "{list}");
    assert_eq!(
        sb.inspect().passkeys_of(DEMO_USER_ID)[0].state,
        PasskeyState::Pending
    );

    let mut st = soft_token();
    let cred = soft_register(&mut st, options, &origin(&sb));
    let (status, body) = transport
        .verify(
            &sb,
            &demo,
            DEMO_USER_ID,
            &passkey_id,
            json!({"publicKeyCredential": cred, "passkeyName": "Mine"}),
        )
        .await;
    assert_eq!(status, 200, "{transport:?}: {body}");
    assert!(body["details"]["changeDate"].is_string());

    let (status, list) = transport.list(&sb, &demo, DEMO_USER_ID).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["result"],
        json!([{"id": passkey_id, "state": "AUTH_FACTOR_STATE_READY", "name": "Mine"}])
    );
    assert_eq!(list["details"]["totalResult"], "1");

    // Another user's id, without permissions.
    let (status, body) = transport
        .register(&sb, &demo, ALICE_USER_ID, json!({"domain": "localhost"}))
        .await;
    transport.assert_error(status, &body, DENIED, "AUTH-5mWD2");
    let (status, body) = transport.list(&sb, &demo, ALICE_USER_ID).await;
    transport.assert_error(status, &body, DENIED, "AUTH-5mWD2");
    let (status, body) = transport
        .remove(&sb, &demo, ALICE_USER_ID, &passkey_id)
        .await;
    transport.assert_error(status, &body, DENIED, "AUTH-5mWD2");
    // Verify has no permission check in ZITADEL: alice has nothing pending.
    let (status, body) = transport
        .verify(
            &sb,
            &demo,
            ALICE_USER_ID,
            &passkey_id,
            json!({"publicKeyCredential": {"id": "x"}, "passkeyName": "x"}),
        )
        .await;
    transport.assert_error(status, &body, NO_PENDING, "WEBAU-5M9so");
    assert!(sb.inspect().passkeys_of(ALICE_USER_ID).is_empty());

    // Registration links need user.passkey.write, for oneself too.
    let (status, body) = transport.link(&sb, &demo, DEMO_USER_ID).await;
    transport.assert_error(status, &body, DENIED, "AUTH-5mWD2");

    let (status, body) = transport
        .remove(&sb, &demo, DEMO_USER_ID, &passkey_id)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = transport
        .remove(&sb, &demo, DEMO_USER_ID, &passkey_id)
        .await;
    transport.assert_error(
        status,
        &body,
        (
            404,
            5,
            "not_found",
            "Errors.User.WebAuthN.NotFound (COMMAND-DAfb2)",
        ),
        "COMMAND-DAfb2",
    );
    let (_, list) = transport.list(&sb, &demo, DEMO_USER_ID).await;
    assert!(list.get("result").is_none(), "{list}");
}

#[tokio::test]
async fn self_service_over_rest() {
    self_service(Transport::Rest, SandboxConfig::default()).await;
}

#[tokio::test]
async fn self_service_over_connect() {
    self_service(Transport::Connect, SandboxConfig::default()).await;
}

#[tokio::test]
async fn self_service_over_rest_without_v1_and_connect() {
    let cfg = SandboxConfig::profile("api-v2-rest-only").unwrap();
    self_service(Transport::Rest, cfg).await;
}

#[tokio::test]
async fn self_service_over_connect_without_v1_and_rest() {
    let cfg = SandboxConfig::profile("api-v2-connect-only").unwrap();
    self_service(Transport::Connect, cfg).await;
}

/// ZITADEL ignores the `passkeyId` of VerifyPasskeyRegistration and verifies the user's latest
/// pending registration; a new registration replaces the pending one.
#[tokio::test]
async fn verify_uses_the_latest_pending_registration_whatever_the_passkey_id() {
    for transport in [Transport::Rest, Transport::Connect] {
        let sb = start().await;
        let demo = access_token(&sb).await;
        let (_, first) = transport
            .register(&sb, &demo, DEMO_USER_ID, json!({}))
            .await;
        let first_id = first["passkeyId"].as_str().unwrap().to_string();
        let (status, second) = transport
            .register(&sb, &demo, DEMO_USER_ID, json!({}))
            .await;
        assert_eq!(status, 200, "{second}");
        let second_id = second["passkeyId"].as_str().unwrap().to_string();
        assert_ne!(first_id, second_id);
        let mut st = soft_token();
        let cred = soft_register(
            &mut st,
            &second["publicKeyCredentialCreationOptions"],
            &origin(&sb),
        );
        let (status, body) = transport
            .verify(
                &sb,
                &demo,
                DEMO_USER_ID,
                &first_id,
                json!({"publicKeyCredential": cred, "passkeyName": "Latest"}),
            )
            .await;
        assert_eq!(status, 200, "{transport:?}: {body}");
        let ready = sb.inspect().passkeys_of(DEMO_USER_ID);
        assert_eq!(ready.len(), 1, "{ready:?}");
        assert_eq!(ready[0].id, second_id);
        assert_eq!(ready[0].state, PasskeyState::Ready);
        let (_, list) = transport.list(&sb, &demo, DEMO_USER_ID).await;
        assert_eq!(list["result"][0]["id"], second_id.as_str());
    }
}

/// Connect transport details: codec, request decoding, status codes.
#[tokio::test]
async fn connect_protocol_answers() {
    let sb = start().await;
    let demo = access_token(&sb).await;
    let list_body = with_ids(json!({}), DEMO_USER_ID, None);

    // Not signed in / bad token: unauthenticated, 401.
    let resp = http()
        .post(url(&sb, "/zitadel.user.v2.UserService/ListPasskeys"))
        .header("content-type", "application/json")
        .body(list_body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "unauthenticated");
    let (status, body) = connect(&sb, "ListPasskeys", "not-a-token", &list_body).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "unauthenticated");
    assert_eq!(body["details"][0]["debug"]["id"], "AUTH-7fs1e");

    // A codec the sandbox does not have: 415 with Accept-Post.
    let resp = http()
        .post(url(&sb, "/zitadel.user.v2.UserService/ListPasskeys"))
        .bearer_auth(&demo)
        .header("content-type", "application/proto")
        .body(Vec::<u8>::new())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert!(resp.headers().get("accept-post").is_some());

    // Bad request messages: invalid_argument, 400.
    for bad in ["", "[]", "{\"userId\": 5}", "{}"] {
        let (status, body) = connect(&sb, "ListPasskeys", &demo, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], "invalid_argument", "{bad}: {body}");
        assert!(body["message"].is_string());
    }
    // Unknown fields are discarded; snake_case names are accepted.
    let (status, body) = connect(
        &sb,
        "ListPasskeys",
        &demo,
        &json!({"user_id": DEMO_USER_ID, "extra": 1}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A method of the service the sandbox does not serve: unimplemented, 501.
    let (status, body) = connect(&sb, "SetPassword", &demo, &list_body).await;
    assert_eq!(status, 501, "{body}");
    assert_eq!(body["code"], "unimplemented");
    assert_eq!(
        body["message"],
        "zitadel.user.v2.UserService.SetPassword is not implemented"
    );
}

/// The answer of a route that the instance does not serve: grpc-gateway's unknown-route 404.
fn assert_unknown_route(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 404, "{what}: {body}");
    assert_eq!(body, &json!({"code": 5, "message": "Not Found"}), "{what}");
}

/// Probes each generation with a list call; `want` = (v1, v2 REST, v2 Connect) served.
async fn probe(name: &str, cfg: SandboxConfig, want: (bool, bool, bool)) {
    let users_me = cfg.auth_v1_users_me;
    let sb = Sandbox::start(cfg).await.unwrap();
    let demo = access_token(&sb).await;
    let (status, body, _) = api(
        &sb,
        Method::POST,
        "/auth/v1/users/me/passwordless/_search",
        &demo,
        None,
    )
    .await;
    if want.0 {
        assert_eq!(status, 200, "{name} v1: {body}");
        // v1 registration works (webauthn-rs verification).
        register(&sb, &demo, "v1 key").await;
    } else {
        assert_unknown_route(status, &body, &format!("{name} v1 list"));
        let (status, body, _) = api(
            &sb,
            Method::POST,
            "/auth/v1/users/me/passwordless",
            &demo,
            Some(json!({})),
        )
        .await;
        assert_unknown_route(status, &body, &format!("{name} v1 add"));
        // The rest of the Auth API stays, unless the profile drops GetMyUser too.
        let (status, body, _) = api(&sb, Method::GET, "/auth/v1/users/me", &demo, None).await;
        if users_me {
            assert_eq!(status, 200, "{name}");
        } else {
            assert_unknown_route(status, &body, &format!("{name} GetMyUser"));
        }
    }
    assert_eq!(users_me, name != "api-future-no-v1", "{name}");
    let (status, body) = Transport::Rest.list(&sb, &demo, DEMO_USER_ID).await;
    if want.1 {
        assert_eq!(status, 200, "{name} REST: {body}");
    } else {
        assert_unknown_route(status, &body, &format!("{name} REST"));
        let (status, body) = Transport::Rest
            .register(&sb, &demo, DEMO_USER_ID, json!({}))
            .await;
        assert_unknown_route(status, &body, &format!("{name} REST register"));
    }
    let (status, body) = Transport::Connect.list(&sb, &demo, DEMO_USER_ID).await;
    if want.2 {
        assert_eq!(status, 200, "{name} Connect: {body}");
    } else {
        assert_unknown_route(status, &body, &format!("{name} Connect"));
    }
}

#[tokio::test]
async fn each_switch_off_answers_as_an_unknown_route_and_leaves_the_others() {
    probe("default", SandboxConfig::default(), (true, true, true)).await;
    let expected = [
        ("api-v1-only", (true, false, false)),
        ("api-v2-rest-only", (false, true, false)),
        ("api-v2-connect-only", (false, false, true)),
        ("api-future-no-v1", (false, true, true)),
        ("v2.58-v1-only", (true, false, false)),
        ("v3-no-connect", (true, true, false)),
    ];
    for (name, want) in expected {
        probe(name, SandboxConfig::profile(name).unwrap(), want).await;
    }
    let names: Vec<&str> = SandboxConfig::api_generation_profiles()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "api-v1-only",
            "api-v2-rest-only",
            "api-v2-connect-only",
            "api-future-no-v1"
        ]
    );
}

/// The registration-code variant on both transports: an admin (`user.passkey.write`) creates a
/// link with `returnCode`, and with that code a caller without permissions registers for the
/// user, once (contract §5, `RegisterUserPasskeyWithCode`).
#[tokio::test]
async fn registration_code_variant_on_both_transports() {
    for transport in [Transport::Rest, Transport::Connect] {
        let sb = start().await;
        let admin = tokens_as(&sb, FULL_SCOPE, "admin", "admin").await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, body) = transport.link(&sb, &admin, ALICE_USER_ID).await;
        assert_eq!(status, 200, "{transport:?}: {body}");
        let code = body["code"].clone();
        assert!(code["id"].is_string() && code["code"].is_string(), "{body}");
        let demo = access_token(&sb).await;
        let with_code = json!({"code": code, "domain": "localhost"});
        let (status, body) = transport
            .register(&sb, &demo, ALICE_USER_ID, with_code.clone())
            .await;
        assert_eq!(status, 200, "{transport:?}: {body}");
        let options = &body["publicKeyCredentialCreationOptions"];
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(options["publicKey"]["user"]["id"].as_str().unwrap())
                .unwrap(),
            ALICE_USER_ID.as_bytes()
        );
        let (status, body) = transport
            .register(&sb, &demo, ALICE_USER_ID, with_code)
            .await;
        assert_eq!(status, 400, "{transport:?}: used once: {body}");
        if let Transport::Connect = transport {
            assert_eq!(body["code"], "invalid_argument");
        }
    }
}

/// GetUserByID for oneself needs no permission on either transport (ZITADEL
/// `internal/query/user.go` `userCheckPermission`); another user's needs `user.read`.
#[tokio::test]
async fn a_user_may_read_themselves_by_id_on_both_transports() {
    let sb = start().await;
    let demo = access_token(&sb).await;
    let path = format!("/v2/users/{DEMO_USER_ID}");
    let (status, body, _) = api(&sb, Method::GET, &path, &demo, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["userId"], DEMO_USER_ID);
    assert_eq!(body["user"]["preferredLoginName"], "demo@sandbox.localhost");
    let (status, body) = connect(
        &sb,
        "GetUserByID",
        &demo,
        &json!({ "userId": DEMO_USER_ID }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["userId"], DEMO_USER_ID);
    let (status, body) = connect(
        &sb,
        "GetUserByID",
        &demo,
        &json!({ "userId": ALICE_USER_ID }).to_string(),
    )
    .await;
    assert_eq!(status, 403, "another user without user.read: {body}");
}
