//! ZITADEL fidelity (docs/zitadel-fidelity.md): one test per behaviour row, real HTTP against
//! the sandbox. Row ids in the test names' doc comments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use passkeys_sandbox::browser::{BrowserProfile, LoginOutcome};
use passkeys_sandbox::{
    AccessTokenType, Fault, RefreshGrant, Sandbox, SandboxConfig, SigningAlg, TokenFormat,
    ZitadelVersion, BLANK_USER_ID, DEMO_USER_ID, MFA_OTP, ZOE_USER_ID,
};
use reqwest::Method;
use serde_json::{json, Value};

const NONCE: &str = "n-0S6_WzA2Mj";

async fn start_with(cfg: SandboxConfig) -> Sandbox {
    Sandbox::start(cfg).await.unwrap()
}

/// Signs in through `profile` with `extra` query parameters (e.g. `&prompt=login`); returns the
/// token reply and whether the form was shown.
async fn sign_in(
    sb: &Sandbox,
    profile: &BrowserProfile,
    user: &str,
    password: &str,
    extra: &str,
) -> (Value, LoginOutcome) {
    let cb = Callback::bind_v4().await;
    let ru = cb.redirect_uri();
    let au = format!(
        "{}{extra}",
        authorize_url(sb, &ru, FULL_SCOPE, CHALLENGE, "st")
    );
    let outcome = profile.complete_login(&au, user, password).await.unwrap();
    let code = cb.params().await["code"].clone();
    let resp = exchange(sb, &code, &ru, VERIFIER).await;
    assert_eq!(resp.status(), 200);
    (resp.json().await.unwrap(), outcome)
}

async fn refresh(sb: &Sandbox, rt: &str, client_id: &str) -> reqwest::Response {
    http()
        .post(url(sb, "/oauth/v2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap()
}

async fn jwks(sb: &Sandbox) -> (Value, reqwest::header::HeaderMap) {
    let r = http().get(url(sb, "/oauth/v2/keys")).send().await.unwrap();
    let h = r.headers().clone();
    (r.json().await.unwrap(), h)
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

/// Verifies an ID token with openidconnect, accepting the extra audiences (T14).
fn verify_id_token(sb: &Sandbox, jwks: Value, id_token: &str) -> Result<(), String> {
    let set: CoreJsonWebKeySet = serde_json::from_value(jwks).unwrap();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(sb.client_id().to_string()),
        IssuerUrl::new(origin(sb)).unwrap(),
        set,
    )
    .set_other_audience_verifier_fn(|_| true)
    .set_allowed_algs(vec![
        openidconnect::core::CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        openidconnect::core::CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        openidconnect::core::CoreJwsSigningAlgorithm::EdDsa,
    ]);
    let t: CoreIdToken = id_token.parse().map_err(|e| format!("{e:?}"))?;
    t.claims(&verifier, &Nonce::new(NONCE.into()))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// T13, I1: `aud` = [sibling, ours, project, ZITADEL project]; an app added later joins it;
/// without the audience scope there is no ZITADEL project id.
#[tokio::test]
async fn t13_audience_order_and_added_app() {
    let sb = start().await;
    let cfg = SandboxConfig::default();
    let t = access_token_reply(&sb, FULL_SCOPE).await;
    let (_, p) = jwt_parts(s(&t["id_token"]));
    assert_eq!(
        p["aud"],
        json!([
            cfg.sibling_client_ids[0],
            sb.client_id(),
            cfg.project_id,
            cfg.zitadel_project_id
        ])
    );
    sb.inspect().add_project_app("999999999999999999@later");
    let t = access_token_reply(&sb, "openid offline_access").await;
    let (_, p) = jwt_parts(s(&t["id_token"]));
    assert_eq!(
        p["aud"],
        json!([
            cfg.sibling_client_ids[0],
            sb.client_id(),
            "999999999999999999@later",
            cfg.project_id
        ])
    );
}

async fn access_token_reply(sb: &Sandbox, scope: &str) -> Value {
    tokens(sb, scope).await
}

/// T19, T20: two signing keys with numeric kids, `use: sig`, the JWKS cache header; rotation
/// makes a token whose kid was not in a JWKS fetched before; removed keys stop verifying.
#[tokio::test]
async fn t19_t20_jwks_and_key_rotation() {
    let sb = start().await;
    let (first, headers) = jwks(&sb).await;
    assert_eq!(headers["cache-control"], "max-age=300, must-revalidate");
    let keys = first["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        assert_eq!(k["use"], "sig");
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["alg"], "RS256");
        assert!(s(&k["kid"]).bytes().all(|b| b.is_ascii_digit()));
    }
    let t1 = tokens(&sb, FULL_SCOPE).await;
    assert_eq!(
        jwt_parts(s(&t1["id_token"])).0["kid"],
        kids(&first)[0].as_str()
    );
    verify_id_token(&sb, first.clone(), s(&t1["id_token"])).unwrap();

    // Activate the next key (known to the old JWKS), then again (a brand-new key).
    let k2 = sb.inspect().rotate_signing_key().unwrap();
    assert_eq!(k2, kids(&first)[1]);
    let k3 = sb.inspect().rotate_signing_key().unwrap();
    assert!(!kids(&first).contains(&k3));
    let t3 = tokens(&sb, FULL_SCOPE).await;
    assert_eq!(jwt_parts(s(&t3["id_token"])).0["kid"], k3.as_str());
    let err = verify_id_token(&sb, first.clone(), s(&t3["id_token"])).unwrap_err();
    assert!(!err.is_empty());
    // A fresh JWKS has it (the client must re-fetch once on an unknown kid).
    let (now, _) = jwks(&sb).await;
    assert!(kids(&now).contains(&k3));
    assert!(
        kids(&now).contains(&kids(&first)[0]),
        "old key kept for a while"
    );
    verify_id_token(&sb, now, s(&t3["id_token"])).unwrap();
    sb.inspect().remove_inactive_keys();
    let (now, _) = jwks(&sb).await;
    assert_eq!(kids(&now).len(), 2);
    assert!(!kids(&now).contains(&kids(&first)[0]));
}

/// T20 (#7714, #7206): the JWKS can be empty once.
#[tokio::test]
async fn t20_empty_jwks_fault() {
    let sb = start().await;
    sb.inspect().set_fault(Fault::EmptyJwksOnce);
    assert_eq!(jwks(&sb).await.0, json!({"keys": []}));
    assert_eq!(jwks(&sb).await.0["keys"].as_array().unwrap().len(), 2);
}

/// T11, D11: profiles signing with ES256 and EdDSA; openidconnect verifies both.
#[tokio::test]
async fn t11_es256_and_eddsa_profiles() {
    for (alg, kty, name) in [
        (SigningAlg::Es256, "EC", "ES256"),
        (SigningAlg::EdDsa, "OKP", "EdDSA"),
    ] {
        let sb = start_with(SandboxConfig {
            signing_alg: alg,
            ..SandboxConfig::default()
        })
        .await;
        let (set, _) = jwks(&sb).await;
        assert_eq!(set["keys"][0]["kty"], kty);
        let t = tokens(&sb, FULL_SCOPE).await;
        let (h, p) = jwt_parts(s(&t["id_token"]));
        assert_eq!(h["alg"], name);
        assert_eq!(h["typ"], "JWT");
        // T17: at_hash is the left half of SHA-512 for EdDSA, SHA-256 otherwise.
        use base64::Engine as _;
        use sha2::Digest as _;
        let at = s(&t["access_token"]).as_bytes().to_vec();
        let digest: Vec<u8> = if alg == SigningAlg::EdDsa {
            sha2::Sha512::digest(&at).to_vec()
        } else {
            sha2::Sha256::digest(&at).to_vec()
        };
        let expect =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]);
        assert_eq!(p["at_hash"], expect.as_str());
        verify_id_token(&sb, set, s(&t["id_token"])).unwrap();
    }
}

/// D11, T20 legacy keys: v2.6x/v3 profiles list RS256 only and hold one key; rotation adds one.
#[tokio::test]
async fn d11_legacy_key_profile() {
    let sb = start_with(SandboxConfig::profile("v3-legacy-keys").unwrap()).await;
    let d: Value = http()
        .get(url(&sb, "/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert!(d.get("backchannel_logout_supported").is_none());
    assert_eq!(kids(&jwks(&sb).await.0).len(), 1);
    let k = sb.inspect().rotate_signing_key().unwrap();
    let set = jwks(&sb).await.0;
    assert_eq!(kids(&set), vec![k.clone(), kids(&set)[1].clone()]);
    let t = tokens(&sb, FULL_SCOPE).await;
    assert_eq!(jwt_parts(s(&t["id_token"])).0["kid"], k.as_str());
}

/// T4, T21, T22, T23: realistic token shapes and sizes; JWE-shaped tokens in that profile.
#[tokio::test]
async fn t4_t21_t22_token_shapes() {
    let sb = start().await;
    let (code, ru) = get_code(&sb, FULL_SCOPE).await;
    assert_eq!(code.len(), 46);
    assert!(code.contains(['-', '_']), "{code}");
    let t: Value = exchange(&sb, &code, &ru, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let (at, rt) = (s(&t["access_token"]), s(&t["refresh_token"]));
    assert_eq!(at.len(), 100);
    assert_eq!(rt.len(), 104);
    assert!(!at.contains('.') && !rt.contains('.'));
    assert!(t.to_string().len() > 1000, "realistic set size (T23)");

    let sb = start_with(SandboxConfig::profile("jwe-tokens").unwrap()).await;
    let t = tokens(&sb, FULL_SCOPE).await;
    for tok in [s(&t["access_token"]), s(&t["refresh_token"])] {
        assert_eq!(tok.matches('.').count(), 4, "{tok}");
        assert!((250..=400).contains(&tok.len()), "{}", tok.len());
    }
    // The API accepts them; refresh works.
    let (st, _, _) = api(
        &sb,
        Method::GET,
        "/auth/v1/users/me",
        s(&t["access_token"]),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        refresh(&sb, s(&t["refresh_token"]), sb.client_id())
            .await
            .status(),
        200
    );
}

/// T21, D2: "Auth Token Type JWT": the access token is a JWT the API accepts on the domain
/// that minted it only; T12 "User Info inside ID Token"; T16 clock skew.
#[tokio::test]
async fn t21_t12_t16_jwt_access_token_and_userinfo_in_id_token_profile() {
    let sb = start_with(SandboxConfig::profile("v4-userinfo-in-id-token-jwt-at").unwrap()).await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = tokens(&sb, FULL_SCOPE).await;
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let at = s(&t["access_token"]);
    let (h, p) = jwt_parts(at);
    assert_eq!(h["typ"], "JWT");
    for k in ["iss", "sub", "aud", "exp", "iat", "nbf", "client_id", "jti"] {
        assert!(p.get(k).is_some(), "{k}");
    }
    assert!(p.get("scope").is_none());
    let (st, _, _) = api(&sb, Method::GET, "/auth/v1/users/me", at, None).await;
    assert_eq!(st, 200);
    let other = url(&sb, "/auth/v1/users/me").replace("localhost", "127.0.0.1");
    let r = http().get(other).bearer_auth(at).send().await.unwrap();
    assert_eq!(
        r.status(),
        401,
        "JWT access tokens only on their own domain (D2)"
    );

    let (_, idp) = jwt_parts(s(&t["id_token"]));
    assert_eq!(idp["name"], "Demo User");
    assert_eq!(idp["preferred_username"], "demo@sandbox.localhost");
    assert_eq!(idp["email"], "demo@sandbox.localhost");
    // T16: iat backdated by 5 s, exp = now + ttl + 5 s.
    let iat = idp["iat"].as_i64().unwrap();
    assert!(
        (before - 5..=after - 5).contains(&iat),
        "iat {iat} vs {before}..{after}"
    );
    assert_eq!(idp["exp"].as_i64().unwrap() - iat, 12 * 3600 + 10);
    let auth_time = idp["auth_time"].as_i64().unwrap();
    assert!((before - 5..=after - 5).contains(&auth_time));
}

/// R1, R3, R6: refresh errors are 400 invalid_request (never invalid_grant); other client is
/// invalid_client; a wider scope is invalid_scope.
#[tokio::test]
async fn r1_r3_r6_refresh_errors() {
    let sb = start().await;
    let cfg = SandboxConfig::default();
    let t = tokens(&sb, FULL_SCOPE).await;
    let rt = s(&t["refresh_token"]).to_string();
    let body = |r: reqwest::Response| async move { r.json::<Value>().await.unwrap() };

    let r = refresh(&sb, &rt, &cfg.sibling_client_ids[0]).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        body(r).await,
        json!({"error":"invalid_client","error_description":"client_id does not correspond to the client_id in the refresh token"})
    );
    let r = refresh(&sb, "garbage-token", sb.client_id()).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        body(r).await,
        json!({"error":"invalid_request","error_description":"Errors.User.RefreshToken.Invalid"})
    );
    let r = http()
        .post(url(&sb, "/oauth/v2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.as_str()),
            ("client_id", sb.client_id()),
            ("scope", "openid phone"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await["error"], "invalid_scope");

    let dead = json!({"error":"invalid_request","error_description":"Errors.OIDCSession.RefreshTokenInvalid"});
    // Idle-expired.
    sb.inspect().expire_refresh_tokens();
    let r = refresh(&sb, &rt, sb.client_id()).await;
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await, dead);
    // Revoked.
    let t = tokens(&sb, FULL_SCOPE).await;
    let rt = s(&t["refresh_token"]);
    let rv = http()
        .post(url(&sb, "/oauth/v2/revoke"))
        .form(&[("token", rt), ("client_id", sb.client_id())])
        .send()
        .await
        .unwrap();
    assert_eq!(rv.status(), 200);
    let r = refresh(&sb, rt, sb.client_id()).await;
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await, dead);
}

/// R4: the refreshed ID token repeats nonce, auth_time, amr and sid; new at_hash.
#[tokio::test]
async fn r4_refreshed_id_token_keeps_the_original_claims() {
    let sb = start().await;
    let t = tokens(&sb, FULL_SCOPE).await;
    let (_, p1) = jwt_parts(s(&t["id_token"]));
    let t2: Value = refresh(&sb, s(&t["refresh_token"]), sb.client_id())
        .await
        .json()
        .await
        .unwrap();
    let (_, p2) = jwt_parts(s(&t2["id_token"]));
    for k in ["nonce", "auth_time", "amr", "sid", "aud", "sub"] {
        assert_eq!(p1[k], p2[k], "{k}");
    }
    assert_eq!(p2["nonce"], NONCE);
    assert_ne!(p1["at_hash"], p2["at_hash"]);
    assert!(t2.get("scope").is_none());
}

/// T10: refresh grant off — no refresh token (Login V2), or refresh refused (Login V1).
#[tokio::test]
async fn t10_refresh_grant_off() {
    let sb = start_with(SandboxConfig::profile("no-refresh-grant").unwrap()).await;
    let t = tokens(&sb, FULL_SCOPE).await;
    assert!(t.get("refresh_token").is_none(), "{t}");
    let sb = start_with(SandboxConfig {
        refresh_grant: RefreshGrant::DisabledRejected,
        ..SandboxConfig::default()
    })
    .await;
    let t = tokens(&sb, FULL_SCOPE).await;
    let r = refresh(&sb, s(&t["refresh_token"]), sb.client_id()).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error":"unauthorized_client","error_description":"grant_type \"refresh_token\" not allowed"})
    );
}

/// V1, V2, V3: revocation needs client_id; 200 + JSON content type + empty body; revoking the
/// access token leaves refresh working; the browser session survives.
#[tokio::test]
async fn v1_v2_v3_revocation() {
    let sb = start().await;
    let profile = BrowserProfile::new();
    let (t, first) = sign_in(&sb, &profile, "demo", "demo", "").await;
    assert!(first.form_shown);
    let post = |form: Vec<(&'static str, String)>| {
        http().post(url(&sb, "/oauth/v2/revoke")).form(&form).send()
    };
    let r = post(vec![("token", "x".into())]).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error":"invalid_request","error_description":"client_id or client_assertion must be provided"})
    );
    let r = post(vec![("token", "x".into()), ("client_id", "nobody".into())])
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let r = post(vec![
        ("token", "unknown".into()),
        ("client_id", sb.client_id().into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.bytes().await.unwrap().len(), 0);

    let at = s(&t["access_token"]).to_string();
    let r = post(vec![
        ("token", at.clone()),
        ("client_id", sb.client_id().into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let (st, _, _) = api(&sb, Method::GET, "/auth/v1/users/me", &at, None).await;
    assert_eq!(st, 401);
    let r = refresh(&sb, s(&t["refresh_token"]), sb.client_id()).await;
    assert_eq!(r.status(), 200);
    let t2: Value = r.json().await.unwrap();
    let r = post(vec![
        ("token", s(&t2["refresh_token"]).into()),
        ("client_id", sb.client_id().into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let (st, _, _) = api(
        &sb,
        Method::GET,
        "/auth/v1/users/me",
        s(&t2["access_token"]),
        None,
    )
    .await;
    assert_eq!(st, 401);
    // The browser's ZITADEL session survives a revoke-only logout (T3/V3).
    let (_, again) = sign_in(&sb, &profile, "demo", "demo", "").await;
    assert!(!again.form_shown);
}

/// T3: the browser SSO session: silent second sign-in, `prompt=login` and
/// `prompt=select_account` show the form, `prompt=none` without a session fails; the plain
/// `complete_login` is always a fresh browser.
#[tokio::test]
async fn t3_sso_session_and_prompt() {
    let sb = start().await;
    let profile = BrowserProfile::new();
    let (t, o) = sign_in(&sb, &profile, "demo", "demo", "").await;
    assert!(o.form_shown);
    let host = sb.issuer().host_str().unwrap().to_string();
    assert!(profile.cookie(&host, "zitadel.useragent").is_some());
    // Silent: the credentials passed are not even used.
    let (t2, o) = sign_in(&sb, &profile, "alice", "alice", "").await;
    assert!(!o.form_shown);
    let sub = |t: &Value| jwt_parts(s(&t["id_token"])).1["sub"].clone();
    assert_eq!(sub(&t2), DEMO_USER_ID);
    assert_eq!(sub(&t), sub(&t2));
    // prompt=login: the form, another user.
    let (t3, o) = sign_in(&sb, &profile, "alice", "alice", "&prompt=login").await;
    assert!(o.form_shown);
    assert_eq!(sub(&t3), passkeys_sandbox::ALICE_USER_ID);
    // Two sessions now ⇒ the account picker (a form listing both).
    let cb = Callback::bind_v4().await;
    let au = authorize_url(&sb, &cb.redirect_uri(), FULL_SCOPE, CHALLENGE, "x");
    let mut req = http().get(&au);
    req = req.header(
        "cookie",
        format!(
            "zitadel.useragent={}",
            profile.cookie(&host, "zitadel.useragent").unwrap()
        ),
    );
    let page = req.send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<form") && page.contains("alice@sandbox.localhost"));
    assert!(page.contains("demo@sandbox.localhost"));
    // prompt=select_account shows the form too.
    let (_, o) = sign_in(&sb, &profile, "demo", "demo", "&prompt=select_account").await;
    assert!(o.form_shown);
    // prompt=none without a session ⇒ login_required to the redirect_uri.
    let cb = Callback::bind_v4().await;
    let au = format!(
        "{}&prompt=none",
        authorize_url(&sb, &cb.redirect_uri(), FULL_SCOPE, CHALLENGE, "x")
    );
    let err = BrowserProfile::new()
        .complete_login(&au, "demo", "demo")
        .await
        .unwrap_err();
    assert!(err.contains("login_required"), "{err}");
    assert_eq!(cb.params().await["error"], "login_required");
    // A plain complete_login is a fresh browser: the form every time.
    tokens(&sb, FULL_SCOPE).await;
    tokens(&sb, FULL_SCOPE).await;
    // Persistent profile: a second BrowserProfile on the same file is the same browser.
    let dir = std::env::temp_dir().join(format!("sandbox-profile-{}", std::process::id()));
    let path = dir.with_extension("json");
    let p1 = BrowserProfile::persistent(&path).unwrap();
    let (_, o) = sign_in(&sb, &p1, "demo", "demo", "").await;
    assert!(o.form_shown);
    let p2 = BrowserProfile::persistent(&path).unwrap();
    let (_, o) = sign_in(&sb, &p2, "demo", "demo", "").await;
    assert!(!o.form_shown);
    let _ = std::fs::remove_file(&path);
}

/// V4, V5, V6: end_session with an `id_token_hint`: redirect to the registered URI with state,
/// the login session and all its tokens end, the next sign-in shows the form; hint checks.
#[tokio::test]
async fn v4_v5_v6_end_session_with_hint() {
    let sb = start().await;
    let profile = BrowserProfile::new();
    let (t, _) = sign_in(&sb, &profile, "demo", "demo", "").await;
    let hint = s(&t["id_token"]).to_string();
    let es = |params: &[(&str, &str)]| {
        let mut u = url::Url::parse(&url(&sb, "/oidc/v1/end_session")).unwrap();
        u.query_pairs_mut().extend_pairs(params);
        u.to_string()
    };
    // client_id ≠ azp ⇒ 400.
    let err = profile
        .end_session(&es(&[
            ("id_token_hint", &hint),
            ("client_id", "someone-else"),
        ]))
        .await
        .unwrap_err();
    assert!(
        err.contains("client_id does not match azp of id_token_hint"),
        "{err}"
    );
    // Tampered hint ⇒ 400.
    let mut bad = hint.clone();
    bad.pop();
    bad.push(if hint.ends_with('A') { 'B' } else { 'A' });
    let err = profile
        .end_session(&es(&[("id_token_hint", &bad)]))
        .await
        .unwrap_err();
    assert!(err.contains("id_token_hint invalid"), "{err}");

    let cb = Callback::bind_v4().await;
    let target = profile
        .end_session(&es(&[
            ("id_token_hint", &hint),
            ("client_id", sb.client_id()),
            ("post_logout_redirect_uri", &cb.redirect_uri()),
            ("state", "bye"),
        ]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(target.path(), "/callback");
    assert_eq!(cb.params().await["state"], "bye");
    let (st, _, _) = api(
        &sb,
        Method::GET,
        "/auth/v1/users/me",
        s(&t["access_token"]),
        None,
    )
    .await;
    assert_eq!(st, 401);
    let r = refresh(&sb, s(&t["refresh_token"]), sb.client_id()).await;
    assert_eq!(r.status(), 400);
    assert_eq!(sb.inspect().login_sessions(), 0);
    let (_, o) = sign_in(&sb, &profile, "demo", "demo", "").await;
    assert!(o.form_shown, "the SSO session ended");
}

/// V5: expired hints are accepted; hints signed by a removed key are refused (#7035).
#[tokio::test]
async fn v5_expired_hint_ok_removed_key_refused() {
    let sb = start_with(SandboxConfig {
        access_token_ttl: std::time::Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await;
    let t = tokens(&sb, FULL_SCOPE).await;
    let hint = s(&t["id_token"]).to_string();
    let es = format!("{}?id_token_hint={hint}", url(&sb, "/oidc/v1/end_session"));
    assert_eq!(BrowserProfile::new().end_session(&es).await.unwrap(), None);
    sb.inspect().rotate_signing_key().unwrap();
    sb.inspect().rotate_signing_key().unwrap();
    sb.inspect().remove_inactive_keys();
    let err = BrowserProfile::new().end_session(&es).await.unwrap_err();
    assert!(err.contains("id_token_hint invalid"), "{err}");
}

/// U1: userinfo errors (no WWW-Authenticate), GET and POST, form `access_token`.
#[tokio::test]
async fn u1_userinfo_errors_and_methods() {
    let sb = start().await;
    let r = http()
        .get(url(&sb, "/oidc/v1/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_none());
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error":"invalid_request","error_description":"access token missing"})
    );
    let r = http()
        .get(url(&sb, "/oidc/v1/userinfo"))
        .bearer_auth("invalid")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_none());
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error":"access_denied","error_description":"access token invalid"})
    );
    let at = access_token(&sb).await;
    let r = http()
        .post(url(&sb, "/oidc/v1/userinfo"))
        .form(&[("access_token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sb.inspect().expire_access_tokens();
    let r = http()
        .get(url(&sb, "/oidc/v1/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "access_denied");
}

/// U2, U4, U6: `locale: null`, no `email_verified` when false, integer `updated_at`, Go's
/// escaping of `&`, and no `name` for an empty display name.
#[tokio::test]
async fn u2_u4_u6_userinfo_claims() {
    let sb = start().await;
    let t = tokens_as(&sb, FULL_SCOPE, "zoe", "zoe").await;
    let r = http()
        .get(url(&sb, "/oidc/v1/userinfo"))
        .bearer_auth(s(&t["access_token"]))
        .send()
        .await
        .unwrap();
    let raw = r.text().await.unwrap();
    assert!(raw.contains(r"Zoë \u0026 Co"), "{raw}");
    assert!(raw.ends_with('\n'));
    let ui: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(ui["sub"], ZOE_USER_ID);
    assert_eq!(ui["name"], "Zoë & Co");
    assert!(ui.get("locale").unwrap().is_null());
    assert!(ui.get("email_verified").is_none());
    assert!(ui["updated_at"].is_i64());
    let t = tokens_as(&sb, FULL_SCOPE, "blank", "blank").await;
    let ui: Value = http()
        .get(url(&sb, "/oidc/v1/userinfo"))
        .bearer_auth(s(&t["access_token"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["sub"], BLANK_USER_ID);
    assert!(ui.get("name").is_none());
    let t = tokens_as(&sb, FULL_SCOPE, "alice", "alice").await;
    let ui: Value = http()
        .get(url(&sb, "/oidc/v1/userinfo"))
        .bearer_auth(s(&t["access_token"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["locale"], "en");
    assert_eq!(ui["email_verified"], true);
}

/// U5, U6: GetMyUser for a user with an empty display name and an unverified e-mail.
#[tokio::test]
async fn u5_u6_get_my_user_variants() {
    let sb = start().await;
    let t = tokens_as(&sb, FULL_SCOPE, "blank", "blank").await;
    let (st, b, _) = api(
        &sb,
        Method::GET,
        "/auth/v1/users/me",
        s(&t["access_token"]),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert!(
        b["user"]["human"]["profile"].get("displayName").is_none(),
        "{b}"
    );
    let t = tokens_as(&sb, FULL_SCOPE, "zoe", "zoe").await;
    let (_, b, _) = api(
        &sb,
        Method::GET,
        "/auth/v1/users/me",
        s(&t["access_token"]),
        None,
    )
    .await;
    assert_eq!(b["user"]["human"]["profile"]["displayName"], "Zoë & Co");
    assert!(b["user"]["human"]["email"].get("isEmailVerified").is_none());
    assert_eq!(b["user"]["human"]["profile"]["preferredLanguage"], "und");
}

/// E3, I14, T15: the MFA user signing in with the password alone gets 403 `AUTHZ-Kl3p0` on
/// every Auth API call; with the one-time code, amr is `["pwd","otp","mfa"]` and calls work.
#[tokio::test]
async fn e3_mfa_required_and_amr() {
    let sb = start().await;
    let t = tokens_as(&sb, FULL_SCOPE, "mfa", "mfa").await;
    assert_eq!(jwt_parts(s(&t["id_token"])).1["amr"], json!(["pwd"]));
    for (m, p) in [
        (Method::GET, "/auth/v1/users/me"),
        (Method::POST, "/auth/v1/users/me/passwordless/_search"),
        (Method::POST, "/auth/v1/users/me/passwordless"),
    ] {
        let (st, b, _) = api(&sb, m, p, s(&t["access_token"]), None).await;
        assert_eq!(st, 403, "{p}");
        assert_eq!(
            b,
            json!({"code":7,"message":"mfa required (AUTHZ-Kl3p0)","details":[{
                "@type":"type.googleapis.com/zitadel.v1.ErrorDetail","id":"AUTHZ-Kl3p0","message":"mfa required"}]})
        );
    }
    // userinfo is not the Auth API.
    let r = http()
        .get(url(&sb, "/oidc/v1/userinfo"))
        .bearer_auth(s(&t["access_token"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = tokens_as(&sb, FULL_SCOPE, "mfa", &format!("mfa#otp={MFA_OTP}")).await;
    assert_eq!(
        jwt_parts(s(&t["id_token"])).1["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    let (st, _, _) = api(
        &sb,
        Method::GET,
        "/auth/v1/users/me",
        s(&t["access_token"]),
        None,
    )
    .await;
    assert_eq!(st, 200);
    // The BrowserProfile way, and a wrong code.
    let (t, _) = sign_in(
        &sb,
        &BrowserProfile::new().with_otp(MFA_OTP),
        "mfa",
        "mfa",
        "",
    )
    .await;
    assert_eq!(
        jwt_parts(s(&t["id_token"])).1["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    let cb = Callback::bind_v4().await;
    let au = authorize_url(&sb, &cb.redirect_uri(), FULL_SCOPE, CHALLENGE, "x");
    let err = passkeys_sandbox::browser::complete_login(&au, "mfa", "mfa#otp=000000")
        .await
        .unwrap_err();
    assert!(err.contains("Wrong one-time code"), "{err}");
}

/// E3, I10, I11: an `Origin` header not among the app's origins ⇒ 403 `AUTH-DZG21`; no Origin
/// ⇒ fine; a bogus `x-zitadel-orgid` ⇒ 403 `AUTH-Bs7Ds`.
#[tokio::test]
async fn e3_origin_and_org_header() {
    let sb = start().await;
    let at = access_token(&sb).await;
    let call = |h: (&'static str, &'static str)| {
        http()
            .get(url(&sb, "/auth/v1/users/me"))
            .bearer_auth(&at)
            .header(h.0, h.1)
            .send()
    };
    for origin in [
        "tauri://localhost",
        "http://tauri.localhost",
        "https://evil.example",
    ] {
        let r = call(("origin", origin)).await.unwrap();
        assert_eq!(r.status(), 403, "{origin}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["code"], 7);
        assert_eq!(error_id(&b), Some("AUTH-DZG21"));
        assert_eq!(b["message"], "Errors.OriginNotAllowed (AUTH-DZG21)");
    }
    assert_eq!(
        call(("origin", "http://localhost")).await.unwrap().status(),
        200
    );
    let (st, _, _) = api(&sb, Method::GET, "/auth/v1/users/me", &at, None).await;
    assert_eq!(st, 200);
    let r = call(("x-zitadel-orgid", "123")).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(error_id(&r.json().await.unwrap()), Some("AUTH-Bs7Ds"));
    let r = call(("x-zitadel-orgid", passkeys_sandbox::DEMO_ORG_ID))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// E2, I13: pre-2.60 answers expired and superseded tokens with 403 code 7; v4 with 401.
#[tokio::test]
async fn e2_pre_2_60_forbidden_profile() {
    let sb = start_with(SandboxConfig::profile("v2.60-pre-403").unwrap()).await;
    let t = tokens(&sb, FULL_SCOPE).await;
    let at = s(&t["access_token"]).to_string();
    let t2: Value = refresh(&sb, s(&t["refresh_token"]), sb.client_id())
        .await
        .json()
        .await
        .unwrap();
    let (st, b, _) = api(&sb, Method::GET, "/auth/v1/users/me", &at, None).await;
    assert_eq!(st, 403);
    assert_eq!(b["code"], 7);
    sb.inspect().expire_access_tokens();
    let (st, b, _) = api(
        &sb,
        Method::GET,
        "/auth/v1/users/me",
        s(&t2["access_token"]),
        None,
    )
    .await;
    assert_eq!(st, 403);
    assert!(s(&b["message"]).contains("Errors.OIDCSession.Token.Expired"));
    // Garbage is still 401.
    let (st, _, _) = api(&sb, Method::GET, "/auth/v1/users/me", "garbage", None).await;
    assert_eq!(st, 401);
}

/// D1, D2, D16: each instance domain is its own issuer (forwarded headers honoured); unknown
/// hosts get 404 text/plain.
#[tokio::test]
async fn d1_d2_d16_instance_domains() {
    let sb = start().await;
    let port = sb.issuer().port().unwrap();
    let ip_base = format!("http://127.0.0.1:{port}");
    let d: Value = http()
        .get(format!("{ip_base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], ip_base.as_str());
    assert_eq!(d["token_endpoint"], format!("{ip_base}/oauth/v2/token"));
    // A token minted via 127.0.0.1 carries that issuer.
    let cb = Callback::bind_v4().await;
    let ru = cb.redirect_uri();
    let au = authorize_url(&sb, &ru, FULL_SCOPE, CHALLENGE, "s")
        .replace(sb.issuer().as_str().trim_end_matches('/'), &ip_base);
    passkeys_sandbox::browser::complete_login(&au, "demo", "demo")
        .await
        .unwrap();
    let code = cb.params().await["code"].clone();
    let t: Value = http()
        .post(format!("{ip_base}/oauth/v2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", ru.as_str()),
            ("client_id", sb.client_id()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwt_parts(s(&t["id_token"])).1["iss"], ip_base.as_str());
    // Forwarded headers (D1): scheme and host from the proxy.
    let d: Value = http()
        .get(url(&sb, "/.well-known/openid-configuration"))
        .header("x-forwarded-host", "localhost:443")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], "https://localhost:443");
    // D16.
    let r = http()
        .get(url(&sb, "/.well-known/openid-configuration"))
        .header("host", "wrong.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(s(&json!(r.headers()["content-type"].to_str().unwrap())).starts_with("text/plain"));
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("unable to set instance using origin"));
}

/// T5: Basic client authentication wins over the form; `redirect_uri` missing is named.
#[tokio::test]
async fn t5_token_request_rules() {
    let sb = start().await;
    let (code, ru) = get_code(&sb, FULL_SCOPE).await;
    let r = http()
        .post(url(&sb, "/oauth/v2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", sb.client_id()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error":"invalid_request","error_description":"redirect_uri missing"})
    );
    // Basic (URL-escaped client id, empty secret) wins over a wrong form client_id.
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("passkeys-cli%40sandbox:");
    let r = http()
        .post(url(&sb, "/oauth/v2/token"))
        .header("authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", ru.as_str()),
            ("client_id", "someone-else"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// T2: a registered `http://localhost/callback` accepts any loopback host and port with the
/// same path and query.
#[tokio::test]
async fn t2_loopback_path_and_query() {
    let sb = start_with(SandboxConfig {
        redirect_paths: vec!["/callback".into(), "/cb?src=app".into()],
        ..SandboxConfig::default()
    })
    .await;
    for (ru, ok) in [
        ("http://127.0.0.1:53123/callback", true),
        ("http://[::1]:1/callback", true),
        ("https://localhost:9/callback", true),
        ("http://127.0.0.1:53123/cb?src=app", true),
        ("http://127.0.0.1:53123/cb", false),
        ("http://127.0.0.1:53123/cb?src=other", false),
        ("http://127.0.0.1:53123/callback/", false),
    ] {
        let au = authorize_url(&sb, ru, FULL_SCOPE, CHALLENGE, "s");
        let st = http().get(&au).send().await.unwrap().status();
        assert_eq!(st == 200, ok, "{ru}: {st}");
    }
}

/// E9: a 500 `server_error` on the token endpoint, once.
#[tokio::test]
async fn e9_token_server_error_fault() {
    let sb = start().await;
    let (code, ru) = get_code(&sb, FULL_SCOPE).await;
    sb.inspect().set_fault(Fault::TokenServerError);
    let r = exchange(&sb, &code, &ru, VERIFIER).await;
    assert_eq!(r.status(), 500);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error":"server_error","error_description":"Errors.Internal"})
    );
    assert_eq!(exchange(&sb, &code, &ru, VERIFIER).await.status(), 200);
}

/// D7: a public client cannot introspect; D3: the device endpoint exists but our app has no
/// device grant.
#[tokio::test]
async fn d3_d7_introspection_and_device_endpoints() {
    let sb = start().await;
    let at = access_token(&sb).await;
    let r = http()
        .post(url(&sb, "/oauth/v2/introspect"))
        .form(&[("token", at.as_str()), ("client_id", sb.client_id())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let r = http()
        .post(url(&sb, "/oauth/v2/device_authorization"))
        .form(&[("client_id", sb.client_id()), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
}

/// The named profiles exist, default first, and each one completes a sign-in.
#[tokio::test]
async fn profiles_all_sign_in() {
    let names: Vec<&str> = SandboxConfig::profiles().iter().map(|(n, _)| *n).collect();
    assert_eq!(names[0], "v4-default");
    assert!(names.contains(&"jwe-tokens") && names.contains(&"no-refresh-grant"));
    let d = SandboxConfig::default();
    assert_eq!(d.version, ZitadelVersion::V4);
    assert_eq!(d.access_token_type, AccessTokenType::Bearer);
    assert_eq!(d.token_format, TokenFormat::Opaque);
    for (name, cfg) in SandboxConfig::profiles() {
        let sb = start_with(cfg).await;
        let t = tokens(&sb, FULL_SCOPE).await;
        let (st, _, _) = api(
            &sb,
            Method::GET,
            "/auth/v1/users/me",
            s(&t["access_token"]),
            None,
        )
        .await;
        assert_eq!(st, 200, "{name}");
    }
}

/// D1 faults: discovery without the port, or with `https`, issuer and endpoints alike.
#[tokio::test]
async fn d1_issuer_faults() {
    let sb = start().await;
    let disco = || async {
        http()
            .get(url(&sb, "/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    sb.inspect().set_fault(Fault::IssuerWithoutPort);
    let d = disco().await;
    assert_eq!(d["issuer"], "http://localhost");
    assert_eq!(d["token_endpoint"], "http://localhost/oauth/v2/token");
    sb.inspect().clear_faults();
    sb.inspect().set_fault(Fault::IssuerHttps);
    let d = disco().await;
    assert_eq!(
        d["issuer"],
        origin(&sb).replace("http://", "https://").as_str()
    );
    sb.inspect().clear_faults();
    assert_eq!(disco().await["issuer"], origin(&sb).as_str());
}

/// E9: proxy HTML 502 and quota 429 on the Auth API; E7: a `slug` error detail.
#[tokio::test]
async fn e7_e9_error_body_faults() {
    let sb = start().await;
    let at = access_token(&sb).await;
    sb.inspect().set_fault(Fault::ProxyBadGateway);
    let r = http()
        .get(url(&sb, "/auth/v1/users/me"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    sb.inspect().set_fault(Fault::QuotaExhausted);
    let (st, b, _) = api(&sb, Method::GET, "/auth/v1/users/me", &at, None).await;
    assert_eq!(st, 429);
    assert_eq!(error_id(&b), Some("QUOTA-vjAy8"));
    sb.inspect().set_fault(Fault::SlugErrorDetail);
    let (st, b, _) = api(
        &sb,
        Method::DELETE,
        "/auth/v1/users/me/passwordless/123",
        &at,
        None,
    )
    .await;
    assert_eq!(st, 404);
    assert_eq!(
        b["details"][0]["@type"],
        "type.googleapis.com/zitadel.error.v2.ErrorDetail"
    );
    assert!(b["details"][0]["slug"].is_string());
    assert!(b["details"][0].get("id").is_none());
    assert!(s(&b["message"]).ends_with("(COMMAND-DAfb2)"));
    let (st, _, _) = api(&sb, Method::GET, "/auth/v1/users/me", &at, None).await;
    assert_eq!(st, 200);
}

/// U8: protojson whitespace is not stable between calls.
#[tokio::test]
async fn u8_protojson_whitespace_varies() {
    let sb = start().await;
    let at = access_token(&sb).await;
    let mut bodies = std::collections::HashSet::new();
    for _ in 0..40 {
        let r = http()
            .get(url(&sb, "/auth/v1/users/me"))
            .bearer_auth(&at)
            .send()
            .await
            .unwrap();
        let text = r.text().await.unwrap();
        serde_json::from_str::<Value>(&text).unwrap();
        bodies.insert(text.contains("\": "));
    }
    assert_eq!(bodies.len(), 2, "both spellings seen");
}

/// U7: v2 users carry the always-present optional fields.
#[tokio::test]
async fn u7_v2_user_shape() {
    let sb = start().await;
    let t = tokens_as(&sb, FULL_SCOPE, "zoe", "zoe").await;
    let (st, b, _) = api(
        &sb,
        Method::GET,
        &format!("/v2/users/{ZOE_USER_ID}"),
        s(&t["access_token"]),
        None,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    let p = &b["user"]["human"]["profile"];
    assert_eq!(p["nickName"], "");
    assert_eq!(p["preferredLanguage"], "und");
    assert_eq!(p["gender"], "GENDER_UNSPECIFIED");
    assert_eq!(p["displayName"], "Zoë & Co");
    assert!(b["user"]["human"]["email"].get("isVerified").is_none());
    assert_eq!(b["user"]["human"]["phone"], json!({}));
}

/// T4: JWE-shaped authorization codes in the JWE profile.
#[tokio::test]
async fn t4_jwe_shaped_codes() {
    let sb = start_with(SandboxConfig::profile("jwe-tokens").unwrap()).await;
    let (code, ru) = get_code(&sb, FULL_SCOPE).await;
    assert_eq!(code.matches('.').count(), 4, "{code}");
    assert_eq!(exchange(&sb, &code, &ru, VERIFIER).await.status(), 200);
}

/// R7: two refreshes racing with the same token: one wins, the other gets R3's body.
#[tokio::test]
async fn r7_concurrent_refresh() {
    let sb = start().await;
    let t = tokens(&sb, FULL_SCOPE).await;
    let rt = s(&t["refresh_token"]);
    let (a, b) = tokio::join!(
        refresh(&sb, rt, sb.client_id()),
        refresh(&sb, rt, sb.client_id())
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400]);
    let loser = if a.status() == 400 { a } else { b };
    assert_eq!(
        loser.json::<Value>().await.unwrap()["error_description"],
        "Errors.OIDCSession.RefreshTokenInvalid"
    );
}

/// T18: with userinfo in the ID token the payload keys are sorted and `&` is `\u0026`.
#[tokio::test]
async fn t18_claim_encoding() {
    let sb = start_with(SandboxConfig {
        userinfo_in_id_token: true,
        ..SandboxConfig::default()
    })
    .await;
    let t = tokens_as(&sb, FULL_SCOPE, "zoe", "zoe").await;
    use base64::Engine as _;
    let payload = s(&t["id_token"]).split('.').nth(1).unwrap().to_string();
    let raw = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert!(raw.contains(r"Zoë \u0026 Co"), "{raw}");
    assert!(raw.starts_with(r#"{"amr":"#), "{raw}");
    let (_, p) = jwt_parts(s(&t["id_token"]));
    assert!(p["locale"].is_null());
    assert!(p.get("email_verified").is_none());
    // Default settings: struct order, iss first.
    let sb = start().await;
    let t = tokens(&sb, FULL_SCOPE).await;
    let payload = s(&t["id_token"]).split('.').nth(1).unwrap().to_string();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    assert!(raw.starts_with(br#"{"iss":"#));
}

/// U3, U5: a machine user with a personal access token: userinfo gives name, updated_at and
/// preferred_username only; GetMyUser has `machine` instead of `human`.
#[tokio::test]
async fn u3_machine_user_with_pat() {
    use passkeys_sandbox::{MACHINE_PAT, MACHINE_USER_ID};
    let sb = start().await;
    let ui: Value = http()
        .get(url(&sb, "/oidc/v1/userinfo"))
        .bearer_auth(MACHINE_PAT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["sub"], MACHINE_USER_ID);
    assert_eq!(ui["name"], "Build Bot");
    assert!(ui["updated_at"].is_i64());
    assert!(ui.get("email").is_none());
    assert!(ui.get("locale").is_none());
    let (st, b, _) = api(&sb, Method::GET, "/auth/v1/users/me", MACHINE_PAT, None).await;
    assert_eq!(st, 200);
    assert_eq!(b["user"]["machine"]["name"], "Build Bot");
    assert!(b["user"].get("human").is_none());
    // It cannot use the sign-in page.
    let cb = Callback::bind_v4().await;
    let au = authorize_url(&sb, &cb.redirect_uri(), FULL_SCOPE, CHALLENGE, "x");
    assert!(
        passkeys_sandbox::browser::complete_login(&au, "build-bot", "")
            .await
            .is_err()
    );
}

/// P3, I18: the v1 RP ID is the host of the API call: a registration begun through one
/// instance domain does not verify through the other.
#[tokio::test]
async fn p3_i18_rp_id_bound_to_the_api_host() {
    let sb = start().await;
    let at = access_token(&sb).await;
    let (opts, _) = add(&sb, &at).await;
    assert_eq!(opts["publicKey"]["rp"]["id"], "localhost");
    let mut st = soft_token();
    let cred = soft_register(&mut st, &opts, &origin(&sb));
    let other =
        url(&sb, "/auth/v1/users/me/passwordless/_verify").replace("localhost", "127.0.0.1");
    let r = http()
        .post(other)
        .bearer_auth(&at)
        .json(&verify_body(&cred, "key"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(error_id(&r.json().await.unwrap()), Some("WEBAU-3Vb9s"));
    // Through the registering host it works.
    let (st2, b) = verify(&sb, &at, verify_body(&cred, "key")).await;
    assert_eq!(st2, 200, "{b}");
}

/// T9: the headers of the token reply.
#[tokio::test]
async fn t9_token_reply_headers() {
    let sb = start().await;
    let (code, ru) = get_code(&sb, FULL_SCOPE).await;
    let r = exchange(&sb, &code, &ru, VERIFIER).await;
    let h = r.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["pragma"], "no-cache");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["x-robots-tag"], "none");
    assert_eq!(h.get_all("vary").iter().count(), 2);
}

/// V2, I17, T8: an app of another project cannot revoke our tokens (401) and has no code or
/// refresh grant (400 `unauthorized_client`); a sibling app of our project may revoke them.
#[tokio::test]
async fn v2_i17_t8_foreign_and_sibling_clients() {
    let sb = start().await;
    let cfg = SandboxConfig::default();
    let foreign = cfg.other_project_client_ids[0].as_str();
    let t = tokens(&sb, FULL_SCOPE).await;
    let revoke = |token: String, client: String| {
        let u = url(&sb, "/oauth/v2/revoke");
        async move {
            http()
                .post(u)
                .form(&[("token", token), ("client_id", client)])
                .send()
                .await
                .unwrap()
        }
    };
    let r = revoke(s(&t["access_token"]).into(), foreign.into()).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error":"invalid_client","error_description":"token was not issued for this client"})
    );
    let r = refresh(&sb, s(&t["refresh_token"]), foreign).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error":"unauthorized_client","error_description":"grant_type \"refresh_token\" not allowed"})
    );
    let (code, ru) = get_code(&sb, FULL_SCOPE).await;
    let r = http()
        .post(url(&sb, "/oauth/v2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", ru.as_str()),
            ("client_id", foreign),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
    // A sibling app is in `aud`: it may revoke.
    let r = revoke(
        s(&t["refresh_token"]).into(),
        cfg.sibling_client_ids[0].clone(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let (st, _, _) = api(
        &sb,
        Method::GET,
        "/auth/v1/users/me",
        s(&t["access_token"]),
        None,
    )
    .await;
    assert_eq!(st, 401);
}

/// I15, T16: a server clock 30 s ahead puts `iat` in the client's future; openidconnect does
/// not check `iat`, so the token still verifies. A server 10 s behind with a 5 s lifetime gives
/// an `exp` the client sees as past (no leeway).
#[tokio::test]
async fn i15_t16_server_clock_offset() {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let sb = start_with(SandboxConfig {
        clock_offset_secs: 30,
        ..SandboxConfig::default()
    })
    .await;
    let before = now();
    let t = tokens(&sb, FULL_SCOPE).await;
    let (_, p) = jwt_parts(s(&t["id_token"]));
    assert!(p["iat"].as_i64().unwrap() >= before + 30);
    verify_id_token(&sb, jwks(&sb).await.0, s(&t["id_token"])).unwrap();
    let sb = start_with(SandboxConfig {
        clock_offset_secs: -10,
        access_token_ttl: std::time::Duration::from_secs(5),
        ..SandboxConfig::default()
    })
    .await;
    let t = tokens(&sb, FULL_SCOPE).await;
    let (_, p) = jwt_parts(s(&t["id_token"]));
    assert!(p["exp"].as_i64().unwrap() < now());
    let err = verify_id_token(&sb, jwks(&sb).await.0, s(&t["id_token"])).unwrap_err();
    assert!(err.to_lowercase().contains("expire"), "{err}");
}

/// D3: endpoint paths are configurable; discovery names them, the old paths are gone.
#[tokio::test]
async fn d3_custom_endpoint_paths() {
    assert!(Sandbox::start(SandboxConfig {
        endpoint_prefix: "nope/".into(),
        ..SandboxConfig::default()
    })
    .await
    .is_err());
    let sb = start_with(SandboxConfig {
        endpoint_prefix: "/custom".into(),
        ..SandboxConfig::default()
    })
    .await;
    let d: Value = http()
        .get(url(&sb, "/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        d["token_endpoint"],
        format!("{}/custom/oauth/v2/token", origin(&sb))
    );
    assert_eq!(
        d["jwks_uri"],
        format!("{}/custom/oauth/v2/keys", origin(&sb))
    );
    let r = http().get(s(&d["jwks_uri"])).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = http().get(url(&sb, "/oauth/v2/keys")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // A whole sign-in through the discovered endpoints.
    let cb = Callback::bind_v4().await;
    let ru = cb.redirect_uri();
    let au = authorize_url(&sb, &ru, FULL_SCOPE, CHALLENGE, "s")
        .replace("/oauth/v2/authorize", "/custom/oauth/v2/authorize");
    passkeys_sandbox::browser::complete_login(&au, "demo", "demo")
        .await
        .unwrap();
    let code = cb.params().await["code"].clone();
    let r = http()
        .post(s(&d["token_endpoint"]))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", ru.as_str()),
            ("client_id", sb.client_id()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
