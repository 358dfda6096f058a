//! OIDC side of the sandbox (contract §6, §8.1 O1–O6; case C09), over real loopback HTTP.

mod common;

use common::*;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use passkeys_sandbox::{browser, Fault, DEMO_USER_ID};
use serde_json::Value;

#[tokio::test]
async fn discovery_document() {
    let sb = start().await;
    let iss = sb.issuer().as_str().trim_end_matches('/').to_string();
    assert!(iss.starts_with("http://localhost:"));
    let d: Value = http()
        .get(url(&sb, "/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], iss.as_str());
    assert_eq!(
        d["authorization_endpoint"],
        format!("{iss}/oauth/v2/authorize")
    );
    assert_eq!(d["token_endpoint"], format!("{iss}/oauth/v2/token"));
    assert_eq!(d["userinfo_endpoint"], format!("{iss}/oidc/v1/userinfo"));
    assert_eq!(d["jwks_uri"], format!("{iss}/oauth/v2/keys"));
    assert_eq!(d["revocation_endpoint"], format!("{iss}/oauth/v2/revoke"));
    assert_eq!(
        d["end_session_endpoint"],
        format!("{iss}/oidc/v1/end_session")
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["none"])
    );
    assert!(d["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&"refresh_token".into()));
    assert!(d["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&"urn:zitadel:iam:org:project:id:zitadel:aud".into()));
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

#[tokio::test]
async fn full_code_flow_with_pkce_and_valid_id_token() {
    let sb = start().await;
    let t = tokens(&sb, FULL_SCOPE).await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 12 * 3600);
    assert_eq!(t["scope"], FULL_SCOPE);
    assert!(t["refresh_token"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(sb.inspect().token_calls("authorization_code"), 1);

    // The ID token verifies with openidconnect against the JWKS.
    let jwks: CoreJsonWebKeySet = http()
        .get(url(&sb, "/oauth/v2/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(sb.client_id().to_string()),
        IssuerUrl::new(origin(&sb)).unwrap(),
        jwks,
    );
    let id_token: CoreIdToken = t["id_token"].as_str().unwrap().parse().unwrap();
    let claims = id_token
        .claims(&verifier, &Nonce::new("n-0S6_WzA2Mj".into()))
        .unwrap();
    assert_eq!(claims.subject().as_str(), DEMO_USER_ID);
    assert_eq!(
        claims.preferred_username().unwrap().as_str(),
        "demo@sandbox.localhost"
    );
    assert_eq!(
        claims.name().unwrap().get(None).unwrap().as_str(),
        "Demo User"
    );
    assert!(claims.email().is_some());
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.authorized_party().unwrap().as_str(), sb.client_id());

    // Raw header and payload: kid, aud as an array.
    use base64::Engine as _;
    let parts: Vec<&str> = t["id_token"].as_str().unwrap().split('.').collect();
    let dec = |s: &str| -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .unwrap(),
        )
        .unwrap()
    };
    let header = dec(parts[0]);
    let payload = dec(parts[1]);
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].as_str().is_some());
    assert_eq!(payload["aud"], serde_json::json!([sb.client_id()]));
    assert_eq!(payload["iss"], origin(&sb).as_str());

    // userinfo
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
    assert_eq!(body["error"], "invalid_grant");
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
        let page = resp.text().await.unwrap();
        assert!(
            page.contains("The requested redirect_uri is missing in the client configuration"),
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
    assert!(err.contains("redirect_uri is missing"), "{err}");
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

#[tokio::test]
async fn missing_pkce_or_openid_redirects_with_error() {
    let sb = start().await;
    let ru = "http://127.0.0.1:5555/callback";
    let mut u = url::Url::parse(&url(&sb, "/oauth/v2/authorize")).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", sb.client_id())
        .append_pair("redirect_uri", ru)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", "a b&c");
    let resp = http().get(u.as_str()).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let loc = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "a b&c");

    let au = authorize_url(&sb, ru, "profile email", CHALLENGE, "s");
    let resp = http().get(&au).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert!(resp.headers()["location"]
        .to_str()
        .unwrap()
        .contains("error=invalid_scope"));

    let au = authorize_url(&sb, ru, FULL_SCOPE, CHALLENGE, "s").replace("S256", "plain");
    let resp = http().get(&au).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert!(resp.headers()["location"]
        .to_str()
        .unwrap()
        .contains("error=invalid_request"));
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
    let r = refresh(rt1).await;
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "invalid_grant");

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

#[tokio::test]
async fn end_session_redirects_to_loopback_only() {
    let sb = start().await;
    let resp = http()
        .get(url(
            &sb,
            "/oidc/v1/end_session?post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fbye&state=s1",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        "http://127.0.0.1:4000/bye?state=s1"
    );
    let resp = http()
        .get(url(
            &sb,
            "/oidc/v1/end_session?post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("Signed out"));
}

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
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
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
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(sb.inspect().token_calls("authorization_code"), 2);
    assert_eq!(sb.inspect().token_calls("password"), 1);
}
