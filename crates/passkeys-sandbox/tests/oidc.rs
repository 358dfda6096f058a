//! OIDC side of the sandbox (contract §6, §8.1 O1–O6; case C09), over real loopback HTTP.

mod common;

use common::*;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use passkeys_sandbox::{browser, Fault, DEMO_USER_ID};
use serde_json::Value;

/// D1–D15: the v4 discovery document of Appendix A, in Go struct order.
#[tokio::test]
async fn discovery_document() {
    let sb = start().await;
    let iss = sb.issuer().as_str().trim_end_matches('/').to_string();
    assert!(iss.starts_with("http://localhost:"));
    let resp = http()
        .get(url(&sb, "/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json");
    let text = resp.text().await.unwrap();
    assert!(text.starts_with(&format!(r#"{{"issuer":"{iss}","authorization_endpoint""#)));
    let d: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(d["issuer"], iss.as_str());
    for (k, path) in [
        ("authorization_endpoint", "/oauth/v2/authorize"),
        ("token_endpoint", "/oauth/v2/token"),
        ("introspection_endpoint", "/oauth/v2/introspect"),
        ("userinfo_endpoint", "/oidc/v1/userinfo"),
        ("revocation_endpoint", "/oauth/v2/revoke"),
        ("end_session_endpoint", "/oidc/v1/end_session"),
        (
            "device_authorization_endpoint",
            "/oauth/v2/device_authorization",
        ),
        ("jwks_uri", "/oauth/v2/keys"),
    ] {
        assert_eq!(d[k], format!("{iss}{path}"), "{k}");
    }
    use serde_json::json as j;
    assert_eq!(
        d["response_types_supported"],
        j!(["code", "id_token", "id_token token"])
    );
    assert_eq!(
        d["response_modes_supported"],
        j!(["query", "fragment", "form_post"])
    );
    assert_eq!(d["subject_types_supported"], j!(["public"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        j!(["EdDSA", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"])
    );
    assert_eq!(d["code_challenge_methods_supported"], j!(["S256"]));
    let methods = j!([
        "none",
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt"
    ]);
    assert_eq!(d["token_endpoint_auth_methods_supported"], methods);
    assert_eq!(d["revocation_endpoint_auth_methods_supported"], methods);
    assert_eq!(
        d["introspection_endpoint_auth_methods_supported"],
        j!(["client_secret_basic", "private_key_jwt"])
    );
    assert_eq!(
        d["scopes_supported"],
        j!([
            "openid",
            "profile",
            "email",
            "phone",
            "address",
            "offline_access"
        ])
    );
    assert_eq!(d["grant_types_supported"].as_array().unwrap().len(), 6);
    assert_eq!(d["claims_supported"].as_array().unwrap().len(), 24);
    assert_eq!(d["ui_locales_supported"].as_array().unwrap().len(), 22);
    assert_eq!(d["request_parameter_supported"], true);
    assert_eq!(d["request_uri_parameter_supported"], false);
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
    // openidconnect can consume it.
    let _: openidconnect::core::CoreProviderMetadata = serde_json::from_value(d).unwrap();
    sb.shutdown().await;
}

#[tokio::test]
async fn fault_wrong_discovery_issuer() {
    let sb = start().await;
    sb.inspect().set_fault(Fault::WrongDiscoveryIssuer);
    let d: Value = http()
        .get(url(&sb, "/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(d["issuer"], origin(&sb).as_str());
    sb.inspect().clear_faults();
    let d: Value = http()
        .get(url(&sb, "/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], origin(&sb).as_str());
}

#[test]
fn pkce_vector() {
    // RFC 7636 Appendix B, through the same computation the token endpoint uses.
    use base64::Engine as _;
    use sha2::Digest as _;
    let c = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(VERIFIER.as_bytes()));
    assert_eq!(c, CHALLENGE);
}

/// T9, T11–T18: the token reply and ZITADEL's ID token (multi-audience, no name claims).
#[tokio::test]
async fn full_code_flow_with_pkce_and_valid_id_token() {
    let sb = start().await;
    let resp = {
        let (code, redirect_uri) = get_code(&sb, FULL_SCOPE).await;
        exchange(&sb, &code, &redirect_uri, VERIFIER).await
    };
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["pragma"], "no-cache");
    let t: Value = resp.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    // T9: expires_in = ttl − 1, and no `scope` member.
    assert_eq!(t["expires_in"], 12 * 3600 - 1);
    assert!(t.get("scope").is_none(), "{t}");
    assert!(t["refresh_token"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(sb.inspect().token_calls("authorization_code"), 1);

    // The ID token verifies with openidconnect against the JWKS once the extra audiences are
    // accepted (T14: the default verifier refuses them, zitadel/zitadel#9200).
    let jwks: CoreJsonWebKeySet = http()
        .get(url(&sb, "/oauth/v2/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let strict = CoreIdTokenVerifier::new_public_client(
        ClientId::new(sb.client_id().to_string()),
        IssuerUrl::new(origin(&sb)).unwrap(),
        jwks.clone(),
    );
    let id_token: CoreIdToken = t["id_token"].as_str().unwrap().parse().unwrap();
    let nonce = Nonce::new("n-0S6_WzA2Mj".into());
    let refused = id_token.claims(&strict, &nonce).unwrap_err().to_string();
    assert!(refused.contains("not a trusted audience"), "{refused}");
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(sb.client_id().to_string()),
        IssuerUrl::new(origin(&sb)).unwrap(),
        jwks,
    )
    .set_other_audience_verifier_fn(|_| true);
    let claims = id_token.claims(&verifier, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), DEMO_USER_ID);
    // T12: no profile/e-mail claims by default.
    assert!(claims.preferred_username().is_none());
    assert!(claims.name().is_none());
    assert!(claims.email().is_none());
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.authorized_party().unwrap().as_str(), sb.client_id());

    // Raw header and payload.
    let (header, payload) = jwt_parts(t["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    let kid = header["kid"].as_str().unwrap();
    assert!(
        kid.len() >= 15 && kid.bytes().all(|b| b.is_ascii_digit()),
        "{kid}"
    );
    // T13: [sibling, ours, project, ZITADEL project]; ours is not first.
    let aud: Vec<&str> = payload["aud"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(aud.len(), 4, "{aud:?}");
    assert_eq!(aud[1], sb.client_id());
    assert_ne!(aud[0], sb.client_id());
    assert_eq!(payload["iss"], origin(&sb).as_str());
    assert_eq!(payload["azp"], sb.client_id());
    assert_eq!(payload["client_id"], sb.client_id());
    // T15: password login.
    assert_eq!(payload["amr"], serde_json::json!(["pwd"]));
    assert!(payload["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(payload["at_hash"].as_str().unwrap().len(), 22);
    // T12: exactly ZITADEL's claim set.
    let mut keys: Vec<&str> = payload
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "amr",
            "at_hash",
            "aud",
            "auth_time",
            "azp",
            "client_id",
            "exp",
            "iat",
            "iss",
            "nonce",
            "sid",
            "sub"
        ]
    );
    // T16: exp − iat = ttl (no skew by default).
    assert_eq!(
        payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(),
        12 * 3600
    );

    // userinfo (U2)
    let at = t["access_token"].as_str().unwrap();
    let ui: Value = http()
        .get(url(&sb, "/oidc/v1/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["sub"], DEMO_USER_ID);
    assert_eq!(ui["email"], "demo@sandbox.localhost");
    assert_eq!(ui["name"], "Demo User");
    let bad = http()
        .post(url(&sb, "/oidc/v1/userinfo"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    sb.shutdown().await;
}

#[tokio::test]
async fn no_refresh_token_without_offline_access() {
    let sb = start().await;
    let t = tokens(&sb, "openid urn:zitadel:iam:org:project:id:zitadel:aud").await;
    assert!(t.get("refresh_token").is_none());
}

#[tokio::test]
async fn wrong_verifier_refused() {
    let sb = start().await;
    let (code, redirect_uri) = get_code(&sb, FULL_SCOPE).await;
    // The four wrong encodings of C09 are all different strings from the right verifier's hash;
    // a different verifier must fail.
    let resp = exchange(
        &sb,
        &code,
        &redirect_uri,
        "not-the-verifier-not-the-verifier-not-the-verif",
    )
    .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // Missing verifier: invalid_request.
    let resp = http()
        .post(url(&sb, "/oauth/v2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", sb.client_id()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn padded_challenge_never_matches() {
    let sb = start().await;
    let cb = Callback::bind_v4().await;
    let ru = cb.redirect_uri();
    let au = authorize_url(&sb, &ru, FULL_SCOPE, &format!("{CHALLENGE}="), "s");
    browser::complete_login(&au, "demo", "demo").await.unwrap();
    let code = cb.params().await["code"].clone();
    let resp = exchange(&sb, &code, &ru, VERIFIER).await;
    assert_eq!(resp.status(), 400);
}

/// T7: a used code is `invalid_request` `Errors.AuthRequest.NoCode`, never `invalid_grant`.
#[tokio::test]
async fn code_is_single_use() {
    let sb = start().await;
    let (code, redirect_uri) = get_code(&sb, FULL_SCOPE).await;
    assert_eq!(
        exchange(&sb, &code, &redirect_uri, VERIFIER).await.status(),
        200
    );
    let again = exchange(&sb, &code, &redirect_uri, VERIFIER).await;
    assert_eq!(again.status(), 400);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "Errors.AuthRequest.NoCode");
    assert_eq!(sb.inspect().token_calls("authorization_code"), 2);
}

#[tokio::test]
async fn redirect_uri_must_match_byte_for_byte() {
    let sb = start().await;
    let (code, redirect_uri) = get_code(&sb, FULL_SCOPE).await;
    let other_host = redirect_uri.replace("127.0.0.1", "localhost");
    let resp = exchange(&sb, &code, &other_host, VERIFIER).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("redirect_uri"));
    // The right one still works (a failed attempt does not burn the code).
    assert_eq!(
        exchange(&sb, &code, &redirect_uri, VERIFIER).await.status(),
        200
    );
}

#[tokio::test]
async fn any_loopback_host_and_port_accepted() {
    let sb = start().await;
    for host in ["127.0.0.1", "localhost", "[::1]"] {
        for port in [1234u16, 53123, 65000] {
            let ru = format!("http://{host}:{port}/callback");
            let au = authorize_url(&sb, &ru, FULL_SCOPE, CHALLENGE, "s");
            let resp = http().get(&au).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{ru}");
            let page = resp.text().await.unwrap();
            assert!(page.contains("<form"), "{ru}");
            assert!(page.contains("demo"), "hint on the page");
        }
    }
    // And the [::1] flow completes end to end when an IPv6 listener is available.
    if let Ok(l) = std::net::TcpListener::bind("[::1]:0") {
        drop(l);
        let cb = Callback::bind("[::1]", "[::1]:0").await;
        let au = authorize_url(&sb, &cb.redirect_uri(), FULL_SCOPE, CHALLENGE, "v6");
        browser::complete_login(&au, "demo", "demo").await.unwrap();
        assert_eq!(cb.params().await["state"], "v6");
    }
}

/// T1/T2: a redirect_uri that matches no registered one is refused with JSON 400, no redirect.
#[tokio::test]
async fn non_loopback_or_wrong_path_refused_without_redirect() {
    let sb = start().await;
    for ru in [
        "http://192.0.2.10:53123/callback",
        "http://127.0.0.1:53123/callback/",
        "http://127.0.0.1:53123/Callback",
        "http://127.0.0.1:53123/callback?src=app",
        "http://example.com:53123/callback",
        "myapp://callback",
    ] {
        let au = authorize_url(&sb, ru, FULL_SCOPE, CHALLENGE, "s");
        let resp = http().get(&au).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{ru}");
        assert!(resp.headers().get("location").is_none(), "{ru}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{ru}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("The requested redirect_uri is missing in the client configuration"),
            "{ru}"
        );
    }
    let err = browser::complete_login(
        &authorize_url(
            &sb,
            "http://192.0.2.10:1/callback",
            FULL_SCOPE,
            CHALLENGE,
            "s",
        ),
        "demo",
        "demo",
    )
    .await
    .unwrap_err();
    assert!(err.contains("400"), "{err}");
}

#[tokio::test]
async fn unknown_client_refused_without_redirect() {
    let sb = start().await;
    let au = authorize_url(
        &sb,
        "http://127.0.0.1:5/callback",
        FULL_SCOPE,
        CHALLENGE,
        "s",
    )
    .replace("passkeys-cli%40sandbox", "someone-else");
    let resp = http().get(&au).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
}

/// T1: authorize accepts a request without PKCE (then the token request must not send a
/// verifier, T6) and without `openid` (then no ID token).
#[tokio::test]
async fn authorize_without_pkce_or_openid_is_accepted() {
    let sb = start().await;
    let cb = Callback::bind_v4().await;
    let ru = cb.redirect_uri();
    let mut u = url::Url::parse(&url(&sb, "/oauth/v2/authorize")).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", sb.client_id())
        .append_pair("redirect_uri", &ru)
        .append_pair("response_type", "code")
        .append_pair(
            "scope",
            "profile email urn:zitadel:iam:org:project:id:zitadel:aud",
        )
        .append_pair("state", "a b&c");
    browser::complete_login(u.as_str(), "demo", "demo")
        .await
        .unwrap();
    let q = cb.params().await;
    assert_eq!(q["state"], "a b&c");
    // T6: no challenge stored + a verifier ⇒ "code_verifier unexpectedly provided".
    let r = exchange(&sb, &q["code"], &ru, VERIFIER).await;
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "invalid_request");
    assert_eq!(
        b["error_description"],
        "code_verifier unexpectedly provided"
    );
    let r = http()
        .post(url(&sb, "/oauth/v2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("redirect_uri", ru.as_str()),
            ("client_id", sb.client_id()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert!(t.get("id_token").is_none(), "{t}");

    // A challenge without a method is stored as plain: the verifier is the challenge itself.
    let cb = Callback::bind_v4().await;
    let ru = cb.redirect_uri();
    let au = authorize_url(
        &sb,
        &ru,
        FULL_SCOPE,
        "plain-challenge-0123456789-0123456789-0123",
        "s",
    )
    .replace("&code_challenge_method=S256", "");
    browser::complete_login(&au, "demo", "demo").await.unwrap();
    let code = cb.params().await["code"].clone();
    let r = exchange(
        &sb,
        &code,
        &ru,
        "plain-challenge-0123456789-0123456789-0123",
    )
    .await;
    assert_eq!(r.status(), 200);

    // No scope at all: JSON 400.
    let au = authorize_url(&sb, "http://127.0.0.1:5555/callback", "", CHALLENGE, "s");
    let resp = http().get(&au).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
}

#[tokio::test]
async fn state_is_echoed_exactly_and_wrong_password_shows_the_form_again() {
    let sb = start().await;
    let cb = Callback::bind_v4().await;
    let state = "x y+z/?&=é%20";
    let au = authorize_url(&sb, &cb.redirect_uri(), FULL_SCOPE, CHALLENGE, state);
    let err = browser::complete_login(&au, "demo", "wrong")
        .await
        .unwrap_err();
    assert!(err.contains("Wrong login name or password"), "{err}");
    browser::complete_login(&au, "demo", "demo").await.unwrap();
    assert_eq!(cb.params().await["state"], state);
}

#[tokio::test]
async fn refresh_rotates_and_kills_old_tokens() {
    let sb = start().await;
    let t = tokens(&sb, FULL_SCOPE).await;
    let at1 = t["access_token"].as_str().unwrap().to_string();
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let (s, _, _) = api(&sb, reqwest::Method::GET, "/auth/v1/users/me", &at1, None).await;
    assert_eq!(s, 200);

    let refresh = |rt: String| {
        let sb_url = url(&sb, "/oauth/v2/token");
        let client_id = sb.client_id().to_string();
        async move {
            http()
                .post(sb_url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                    ("client_id", client_id.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = refresh(rt1.clone()).await;
    assert_eq!(r.status(), 200);
    let t2: Value = r.json().await.unwrap();
    let at2 = t2["access_token"].as_str().unwrap().to_string();
    let rt2 = t2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(at1, at2);
    assert_ne!(rt1, rt2);
    assert!(t2["id_token"].as_str().is_some());
    assert_eq!(sb.inspect().token_calls("refresh_token"), 1);

    // Old access token dead, new one alive; old refresh token dead.
    let (s, b, h) = api(&sb, reqwest::Method::GET, "/auth/v1/users/me", &at1, None).await;
    assert_eq!(s, 401);
    assert_eq!(error_id(&b), Some("AUTH-7fs1e"));
    assert!(h.get("www-authenticate").is_some());
    let (s, _, _) = api(&sb, reqwest::Method::GET, "/auth/v1/users/me", &at2, None).await;
    assert_eq!(s, 200);
    // R2/R3: reuse fails with invalid_request and does not revoke the session.
    let r = refresh(rt1).await;
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(
        b,
        serde_json::json!({"error":"invalid_request","error_description":"Errors.OIDCSession.RefreshTokenInvalid"})
    );
    let (s, _, _) = api(&sb, reqwest::Method::GET, "/auth/v1/users/me", &at2, None).await;
    assert_eq!(s, 200, "the reuse attempt left the session alive");

    // expire_access_tokens → 401, refresh → works again.
    sb.inspect().expire_access_tokens();
    let (s, _, _) = api(&sb, reqwest::Method::GET, "/auth/v1/users/me", &at2, None).await;
    assert_eq!(s, 401);
    let r = refresh(rt2).await;
    assert_eq!(r.status(), 200);
    let t3: Value = r.json().await.unwrap();
    let (s, _, _) = api(
        &sb,
        reqwest::Method::GET,
        "/auth/v1/users/me",
        t3["access_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn revoke_refresh_token_ends_the_session() {
    let sb = start().await;
    let t = tokens(&sb, FULL_SCOPE).await;
    let at = t["access_token"].as_str().unwrap();
    let rt = t["refresh_token"].as_str().unwrap();
    let revoke = |token: &str| {
        http()
            .post(url(&sb, "/oauth/v2/revoke"))
            .form(&[("token", token), ("client_id", sb.client_id())])
            .send()
    };
    assert_eq!(revoke("unknown-token").await.unwrap().status(), 200);
    assert_eq!(revoke(rt).await.unwrap().status(), 200);
    let (s, _, _) = api(&sb, reqwest::Method::GET, "/auth/v1/users/me", at, None).await;
    assert_eq!(s, 401);
    assert_eq!(sb.inspect().live_access_tokens(), 0);

    // Revoking just the access token leaves the refresh token usable.
    let t = tokens(&sb, FULL_SCOPE).await;
    assert_eq!(
        revoke(t["access_token"].as_str().unwrap())
            .await
            .unwrap()
            .status(),
        200
    );
    let r = http()
        .post(url(&sb, "/oauth/v2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", sb.client_id()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// V4/V5: the post-logout redirect needs an identified client and a registered URI.
#[tokio::test]
async fn end_session_redirects_to_registered_uris_only() {
    let sb = start().await;
    let es = |q: &str| {
        let u = url(&sb, &format!("/oidc/v1/end_session?{q}"));
        async move { http().get(u).send().await.unwrap() }
    };
    let cid = "client_id=passkeys-cli%40sandbox";
    let resp = es(&format!(
        "{cid}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcallback&state=s1"
    ))
    .await;
    assert_eq!(resp.status(), 302);
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        "http://127.0.0.1:4000/callback?state=s1"
    );
    // Unregistered path or host ⇒ 400 JSON.
    for bad in [
        "http%3A%2F%2F127.0.0.1%3A4000%2Fbye",
        "https%3A%2F%2Fevil.example%2Fcallback",
    ] {
        let resp = es(&format!("{cid}&post_logout_redirect_uri={bad}")).await;
        assert_eq!(resp.status(), 400, "{bad}");
        let b: Value = resp.json().await.unwrap();
        assert_eq!(b["error"], "invalid_request");
        assert_eq!(b["error_description"], "post_logout_redirect_uri invalid");
    }
    // No client identified: the URI is ignored, the default page is shown.
    let resp = es("post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcallback").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("Signed out"));
    // A bad hint ⇒ 400 "id_token_hint invalid".
    let resp = es("id_token_hint=abc.def.ghi").await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error_description"],
        "id_token_hint invalid"
    );
}

/// T7/T8: unknown client 400 `invalid_client`; garbage code `invalid_request`.
#[tokio::test]
async fn token_endpoint_errors() {
    let sb = start().await;
    let post = |form: Vec<(&'static str, String)>| {
        http().post(url(&sb, "/oauth/v2/token")).form(&form).send()
    };
    let r = post(vec![
        ("grant_type", "password".into()),
        ("client_id", sb.client_id().into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let r = post(vec![
        ("grant_type", "authorization_code".into()),
        ("code", "bogus".into()),
        ("client_id", "other".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"error":"invalid_client","error_description":"no active client not found"})
    );
    let r = post(vec![
        ("grant_type", "authorization_code".into()),
        ("code", "bogus".into()),
        ("client_id", sb.client_id().into()),
        ("redirect_uri", "http://127.0.0.1:1/callback".into()),
        ("code_verifier", VERIFIER.into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"error":"invalid_request","error_description":"Errors.User.Code.Invalid"})
    );
    assert_eq!(sb.inspect().token_calls("authorization_code"), 2);
    assert_eq!(sb.inspect().token_calls("password"), 1);
}
