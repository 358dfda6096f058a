//! The real `passkeys` binary against the sandbox behaving as real ZITADEL does
//! (docs/zitadel-fidelity.md): the main job on every sandbox profile (ZITADEL versions and app
//! settings), a dead refresh token, switching accounts through the browser's ZITADEL session,
//! a user with a second factor, and signing keys that rotate while the app is open.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic
mod common;

use common::Env;
use passkeys_sandbox::{Sandbox, SandboxConfig, DEMO_PASSWORD, DEMO_USERNAME};

/// Sign in, add two passkeys, list, remove one, refresh after expiry, sign out: on every
/// profile (v4 default, userinfo in the ID token + JWT access tokens, ES256 and EdDSA keys, v3
/// legacy keys, pre-2.60 403s, no refresh grant, JWE-shaped tokens).
#[tokio::test(flavor = "multi_thread")]
async fn main_job_on_every_sandbox_profile() {
    for (name, config) in SandboxConfig::profiles() {
        let refresh = config.refresh_grant == passkeys_sandbox::RefreshGrant::Enabled;
        let env = Env::with_config(config).await;
        let ctx = |what: &str| format!("profile {name}: {what}");
        let r = env.run(&["login", "--timeout", "30"]).await;
        assert_eq!(r.code, 0, "{}\n{}", ctx("login"), r.stderr);
        assert!(
            r.stderr.contains("Signed in as Demo User"),
            "{}",
            ctx(&r.stderr)
        );
        for (key, label) in [("a.cbor", "Key A"), ("b.cbor", "Key B")] {
            let r = env
                .run(&[
                    "--json",
                    "add",
                    "--authenticator",
                    &env.key(key),
                    "--name",
                    label,
                ])
                .await;
            assert_eq!(r.code, 0, "{}\n{}", ctx("add"), r.stderr);
            assert_eq!(r.json()["state"], "ready", "{}", ctx("add"));
        }
        let list = env.run(&["--json", "list"]).await.ok().json();
        let list = list.as_array().unwrap().clone();
        assert_eq!(list.len(), 2, "{}", ctx("list"));
        let first = list[0]["id"].as_str().unwrap().to_string();
        env.run(&["remove", &first]).await.ok();
        assert_eq!(env.ready().len(), 1, "{}", ctx("remove"));

        // The access token expires (ZITADEL: 12 h).
        env.sandbox.inspect().expire_access_tokens();
        let r = env.run(&["--json", "whoami"]).await;
        if refresh {
            assert_eq!(r.code, 0, "{}\n{}", ctx("refresh"), r.stderr);
            assert_eq!(r.json()["displayName"], "Demo User", "{}", ctx("whoami"));
            assert!(env.sandbox.inspect().token_calls("refresh_token") >= 1);
        } else {
            // Without the Refresh Token grant there is no refresh token: sign in again.
            assert_ne!(r.code, 0, "{}", ctx("no refresh"));
            assert_eq!(
                r.json()["error"]["code"],
                "session_expired",
                "{}",
                ctx("no refresh")
            );
            assert!(env.token_files().is_empty(), "{}", ctx("tokens forgotten"));
            let r = env.run(&["login", "--timeout", "30"]).await;
            assert_eq!(r.code, 0, "{}\n{}", ctx("login again"), r.stderr);
        }

        let out = env.run(&["--json", "logout"]).await;
        assert_eq!(out.code, 0, "{}\n{}", ctx("logout"), out.stderr);
        let report = out.json();
        assert_eq!(report["revoked"], true, "{}", ctx("logout"));
        assert_eq!(report["browser"], "confirmed", "{}", ctx("logout"));
        assert!(env.token_files().is_empty(), "{}", ctx("logout"));
        // The ID token (id_token_hint) never was on the browser's command line: the browser
        // was started on the app's one-time local address, which redirected it.
        let started = env.browser_urls();
        let last = started.last().unwrap();
        assert!(
            last.starts_with("http://127.0.0.1:") && last.contains("/start/"),
            "{}",
            ctx(last)
        );
        assert!(
            started.iter().all(|u| !u.contains("id_token_hint")),
            "{}",
            ctx("no ID token on a command line")
        );
        env.sandbox.shutdown().await;
    }
}

/// The main job (sign in, whoami, add two passkeys, list, remove one, sign out) on each API
/// generation the sandbox can serve alone or together (issue 14, fidelity G1–G6): chosen
/// automatically, and `whoami` says which one serves the passkeys.
#[tokio::test(flavor = "multi_thread")]
async fn main_job_on_every_api_generation() {
    let mut profiles = SandboxConfig::api_generation_profiles();
    profiles.push(("all-three (default)", SandboxConfig::default()));
    for (name, config) in profiles {
        let expected = match (
            config.auth_v1_passkeys,
            config.user_v2_connect,
            config.user_v2_rest_passkeys,
        ) {
            (true, _, _) => "v1",
            (false, true, _) => "v2-connect",
            (false, false, true) => "v2-rest",
            _ => unreachable!("no profile serves none"),
        };
        let env = Env::with_config(config).await;
        let ctx = |what: &str| format!("profile {name}: {what}");
        let r = env.run(&["login", "--timeout", "30"]).await;
        assert_eq!(r.code, 0, "{}\n{}", ctx("login"), r.stderr);
        let who = env.run(&["--json", "whoami"]).await.ok().json();
        assert_eq!(
            who["loginName"],
            "demo@sandbox.localhost",
            "{}",
            ctx("whoami")
        );
        assert_eq!(
            who["passkeyApi"]["generation"],
            expected,
            "{}",
            ctx(&who.to_string())
        );
        assert_eq!(who["passkeyApi"]["source"], "detected", "{}", ctx("whoami"));
        for (key, label) in [("a.cbor", "Key A"), ("b.cbor", "Key B")] {
            let r = env
                .run(&[
                    "--json",
                    "add",
                    "--authenticator",
                    &env.key(key),
                    "--name",
                    label,
                ])
                .await;
            assert_eq!(r.code, 0, "{}\n{}", ctx("add"), r.stderr);
            assert_eq!(r.json()["state"], "ready", "{}", ctx(&r.stdout));
            assert!(r.json()["id"].is_string(), "{}", ctx(&r.stdout));
            // The RP ID is the issuer host on every generation (v2: `domain` = issuer host).
            assert_eq!(r.json()["rpId"], "localhost", "{}", ctx("rpId"));
        }
        let r = env.run(&["--json", "list"]).await.ok();
        let list = r.json().as_array().unwrap().clone();
        assert_eq!(list.len(), 2, "{}", ctx("list"));
        assert_eq!(
            r.stderr.contains("lists finished passkeys only"),
            expected != "v1",
            "{}",
            ctx(&r.stderr)
        );
        let names: Vec<&str> = list.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Key A", "Key B"], "{}", ctx("list"));
        let first = list[0]["id"].as_str().unwrap().to_string();
        env.run(&["remove", &first]).await.ok();
        let ready = env.ready();
        assert_eq!(ready.len(), 1, "{}", ctx("remove"));
        assert_eq!(ready[0].name.as_deref(), Some("Key B"), "{}", ctx("remove"));
        // The choice was remembered for this instance, with the time it was learnt.
        let memory: serde_json::Value = serde_json::from_slice(
            &std::fs::read(env.state_dir().join("api-generation.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            memory[env.issuer()]["generation"],
            expected,
            "{}",
            ctx(&memory.to_string())
        );
        assert!(memory[env.issuer()]["learntAt"].as_i64().unwrap() > 0);

        let out = env.run(&["--json", "logout"]).await;
        assert_eq!(out.code, 0, "{}\n{}", ctx("logout"), out.stderr);
        assert!(env.token_files().is_empty(), "{}", ctx("logout"));
        env.sandbox.shutdown().await;
    }
}

/// `--api` forces one generation: a clear error when the instance does not serve it; `v2`
/// takes Connect where it answers, else REST; self-service links need v1.
#[tokio::test(flavor = "multi_thread")]
async fn forced_api_generation_and_links_without_v1() {
    let env = Env::with_config(SandboxConfig::profile("api-v2-rest-only").unwrap()).await;
    env.login().await;
    let r = env.run(&["--json", "--api", "v1", "list"]).await.failed();
    let err = &r.json()["error"];
    assert_eq!(err["code"], "passkey_api_unavailable", "{}", r.stdout);
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("the Auth API v1"), "{message}");
    assert!(message.contains("--api auto"), "{message}");
    let r = env
        .run(&["--json", "--api", "v2-connect", "whoami"])
        .await
        .failed();
    assert_eq!(r.json()["error"]["code"], "passkey_api_unavailable");
    let who = env
        .run(&["--json", "--api", "v2", "whoami"])
        .await
        .ok()
        .json();
    assert_eq!(who["passkeyApi"]["generation"], "v2-rest", "{who}");
    assert_eq!(who["passkeyApi"]["source"], "detected", "{who}");
    let who = env
        .run(&["--json", "--api", "v2-rest", "whoami"])
        .await
        .ok()
        .json();
    assert_eq!(who["passkeyApi"]["source"], "forced", "{who}");
    assert!(
        !env.state_dir().join("api-generation.json").exists(),
        "a forced choice is not remembered"
    );
    // No v1: a plain user cannot create a registration link for themselves.
    let r = env.run(&["--json", "link"]).await.failed();
    let err = &r.json()["error"];
    assert_eq!(
        err["code"], "self_service_links_unavailable",
        "{}",
        r.stdout
    );
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("ask your ZITADEL administrator"),
        "{message}"
    );
    assert!(message.contains("--authenticator key"), "{message}");
    // An RP ID the instance may not claim is refused before any call.
    let r = env
        .run(&["--json", "--rp-id", "example.com", "list"])
        .await
        .failed();
    assert_eq!(r.json()["error"]["code"], "rp_id_refused", "{}", r.stdout);
    env.sandbox.shutdown().await;

    // On v1 an RP ID setting is ignored, and the person is told.
    let env = Env::with_config(SandboxConfig::default()).await;
    env.login().await;
    let r = env.run(&["--rp-id", "localhost", "whoami"]).await.ok();
    assert!(r.stderr.contains("--rp-id) is ignored"), "{}", r.stderr);
    env.sandbox.shutdown().await;
}

/// A remembered choice that has gone stale (the instance dropped the Auth API v1 since): the
/// first call answering "Not Found" for the route triggers one re-detection and a retry,
/// visible in `-v`, and the new choice is remembered.
#[tokio::test(flavor = "multi_thread")]
async fn stale_remembered_choice_is_detected_again() {
    let env = Env::with_config(SandboxConfig::profile("api-future-no-v1").unwrap()).await;
    env.login().await;
    std::fs::create_dir_all(env.state_dir()).unwrap();
    let path = env.state_dir().join("api-generation.json");
    std::fs::write(
        &path,
        serde_json::json!({ env.issuer(): {"generation": "v1", "learntAt": 1_700_000_000} })
            .to_string(),
    )
    .unwrap();
    let r = env.run(&["-v", "--json", "list"]).await.ok();
    assert_eq!(r.json(), serde_json::json!([]));
    assert!(
        r.stderr.contains("detecting the passkey API again"),
        "{}",
        r.stderr
    );
    let memory: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(memory[env.issuer()]["generation"], "v2-connect", "{memory}");
    assert!(memory[env.issuer()]["learntAt"].as_i64().unwrap() > 1_700_000_000);
    let who = env.run(&["--json", "whoami"]).await.ok().json();
    assert_eq!(who["passkeyApi"]["source"], "remembered", "{who}");
    assert_eq!(who["passkeyApi"]["generation"], "v2-connect", "{who}");
    env.sandbox.shutdown().await;
}

/// ZITADEL answers a reused refresh token with 400 `invalid_request`
/// `Errors.OIDCSession.RefreshTokenInvalid` (fidelity R2/R3), never `invalid_grant`. The app
/// must end the session, forget the dead tokens and say to sign in again, once; not fail every
/// later command with "token request failed".
#[tokio::test(flavor = "multi_thread")]
async fn reused_refresh_token_ends_the_session_and_forgets_the_tokens() {
    let env = Env::new().await;
    env.login().await;
    let file = env.token_files().remove(0);
    let old = std::fs::read(&file).unwrap();
    env.sandbox.inspect().expire_access_tokens();
    env.run(&["whoami"]).await.ok(); // refreshes: the stored refresh token rotates
                                     // Another copy of the old tokens (a backup, a second machine, a lost refresh response).
    std::fs::write(&file, &old).unwrap();
    env.sandbox.inspect().expire_access_tokens();
    let r = env.run(&["--json", "whoami"]).await.failed();
    let err = &r.json()["error"];
    assert_eq!(err["code"], "session_expired", "{}", r.stdout);
    assert!(
        err["message"].as_str().unwrap().contains("passkeys login"),
        "{}",
        r.stdout
    );
    assert!(env.token_files().is_empty(), "the dead tokens were kept");
    // The next command says "not signed in", not the server's error again.
    let r = env.run(&["--json", "list"]).await.failed();
    assert_eq!(r.json()["error"]["code"], "not_signed_in");
    // ZITADEL does not revoke the session on reuse (R2): the current holder still works.
    env.login().await;
    env.run(&["whoami"]).await.ok();
}

/// ZITADEL keeps the browser's sign-in session after a token revocation, so the next sign-in
/// silently returns the same person (fidelity T3, V3). `--prompt select_account` chooses another
/// account; `logout` ends the browser session (RP-initiated logout, V4–V6).
#[tokio::test(flavor = "multi_thread")]
async fn switching_accounts() {
    let env = Env::new().await;
    env.login().await;
    assert_eq!(whoami(&env).await, "demo@sandbox.localhost");

    // Revoking only: the browser is still signed in as demo, whoever types next.
    env.run(&["logout", "--no-browser"]).await.ok();
    let r = env
        .command(&["login", "--timeout", "30"])
        .env("PASSKEYS_SANDBOX_USER", "alice")
        .env("PASSKEYS_SANDBOX_PASSWORD", "alice")
        .output()
        .await
        .unwrap();
    assert!(r.status.success());
    assert_eq!(whoami(&env).await, "demo@sandbox.localhost");

    // "Sign in as someone else".
    let r = env
        .command(&["login", "--timeout", "30", "--prompt", "select_account"])
        .env("PASSKEYS_SANDBOX_USER", "alice")
        .env("PASSKEYS_SANDBOX_PASSWORD", "alice")
        .output()
        .await
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(whoami(&env).await, "alice@sandbox.localhost");

    // A full logout ends the browser session: the next sign-in asks who you are.
    let out = env.run(&["--json", "logout"]).await.ok().json();
    assert_eq!(out["browser"], "confirmed");
    let r = env
        .command(&["login", "--timeout", "30"])
        .env("PASSKEYS_SANDBOX_USER", "demo")
        .output()
        .await
        .unwrap();
    assert!(r.status.success());
    assert_eq!(whoami(&env).await, "demo@sandbox.localhost");
}

async fn whoami(env: &Env) -> String {
    env.run(&["--json", "whoami"]).await.ok().json()["loginName"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Without a registered Post Logout URI, ZITADEL does not send the browser back: logout still
/// revokes and forgets the tokens and says what the administrator can do.
#[tokio::test(flavor = "multi_thread")]
async fn logout_without_a_registered_post_logout_uri_says_so() {
    let env = Env::with_config(SandboxConfig {
        post_logout_redirect_paths: Vec::new(),
        ..SandboxConfig::default()
    })
    .await;
    env.login().await;
    let r = env.run(&["--json", "logout", "--timeout", "3"]).await.ok();
    let report = r.json();
    assert_eq!(report["revoked"], true);
    assert_eq!(report["browser"], "unconfirmed");
    assert!(r.stderr.contains("Post Logout URI"), "{}", r.stderr);
    assert!(env.token_files().is_empty());
}

/// A user with a second factor who signed in with the password only: every Auth API call is
/// 403 `mfa required (AUTHZ-Kl3p0)` (fidelity E3). The app says to sign in again with the
/// second factor, and `--prompt login` does it.
#[tokio::test(flavor = "multi_thread")]
async fn mfa_user_is_told_to_sign_in_with_the_second_factor() {
    let env = Env::new().await;
    let login = |prompt: Option<&str>, password: &str| {
        let mut args = vec!["login", "--timeout", "30"];
        if let Some(p) = prompt {
            args.extend(["--prompt", p]);
        }
        let mut cmd = env.command(&args);
        cmd.env("PASSKEYS_SANDBOX_USER", passkeys_sandbox::MFA_USERNAME)
            .env("PASSKEYS_SANDBOX_PASSWORD", password);
        cmd
    };
    assert!(login(None, passkeys_sandbox::MFA_PASSWORD)
        .output()
        .await
        .unwrap()
        .status
        .success());
    let r = env.run(&["--json", "list"]).await.failed();
    let err = &r.json()["error"];
    assert_eq!(err["code"], "mfa_required", "{}", r.stdout);
    assert!(
        err["message"].as_str().unwrap().contains("--prompt login"),
        "{}",
        r.stdout
    );
    let with_otp = format!(
        "{}#otp={}",
        passkeys_sandbox::MFA_PASSWORD,
        passkeys_sandbox::MFA_OTP
    );
    let out = login(Some("login"), &with_otp).output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.run(&["list"]).await.ok();
}

/// ZITADEL rotates its signing keys; the app stays open for hours with the JWKS it read at
/// discovery. An ID token signed with a key it has not seen makes it re-read the JWKS once
/// (fidelity T19/T20), on every key type.
#[tokio::test(flavor = "multi_thread")]
async fn signing_key_rotated_after_discovery() {
    for alg in [
        passkeys_sandbox::SigningAlg::Rs256,
        passkeys_sandbox::SigningAlg::Es256,
        passkeys_sandbox::SigningAlg::EdDsa,
    ] {
        let sandbox = Sandbox::start(SandboxConfig {
            signing_alg: alg,
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
        let (oidc, http) = passkeys_testkit::discover(&sandbox).await;
        let before = sandbox.inspect().active_kid();
        sandbox.inspect().rotate_signing_key().unwrap();
        sandbox.inspect().rotate_signing_key().unwrap();
        assert_ne!(sandbox.inspect().active_kid(), before);
        let (session, who) = passkeys_testkit::login(oidc, DEMO_USERNAME, DEMO_PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        // No names in ZITADEL's default ID token: the name came from userinfo.
        assert_eq!(who.name.as_deref(), Some("Demo User"), "{alg:?}");
        session.zitadel(http).get_my_user().await.unwrap();
        sandbox.shutdown().await;
    }
}

/// Names come from GetMyUser and userinfo, never from the ID token (fidelity T12, U2, U5, U6):
/// a display name with `&` and non-ASCII letters (escaped `\u0026` on the wire), a user without
/// a language (`"und"`, `locale: null`) and an unverified e-mail (`email_verified` absent), and
/// a user whose display name was cleared (the user name stands in).
#[tokio::test(flavor = "multi_thread")]
async fn names_from_getmyuser_and_userinfo_for_unusual_users() {
    let env = Env::new().await;
    for (user, password, display, signed_in_as) in [
        (
            passkeys_sandbox::ZOE_USERNAME,
            passkeys_sandbox::ZOE_PASSWORD,
            "Zoë & Co",
            "Signed in as Zoë & Co",
        ),
        (
            passkeys_sandbox::BLANK_USERNAME,
            passkeys_sandbox::BLANK_PASSWORD,
            "blank",
            "Signed in as blank",
        ),
    ] {
        let out = env
            .command(&["login", "--timeout", "30", "--prompt", "select_account"])
            .env("PASSKEYS_SANDBOX_USER", user)
            .env("PASSKEYS_SANDBOX_PASSWORD", password)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains(signed_in_as), "{user}: {stderr}");
        let me = env.run(&["--json", "whoami"]).await.ok().json();
        assert_eq!(me["displayName"], display, "{me}");
    }
}

/// ZITADEL's OAuth/OIDC paths are configurable per install (`OIDC.CustomEndpoints`, fidelity
/// D3), and an `iat` 30 s in the client's future is normal with clock drift (I15): the app
/// takes every endpoint from discovery and does not check `iat`.
#[tokio::test(flavor = "multi_thread")]
async fn custom_endpoint_paths_and_a_clock_ahead_of_ours() {
    let env = Env::with_config(SandboxConfig {
        endpoint_prefix: "/custom".into(),
        clock_offset_secs: 30,
        ..SandboxConfig::default()
    })
    .await;
    env.login().await;
    env.sandbox.inspect().expire_access_tokens();
    env.run(&["whoami"]).await.ok();
    assert_eq!(env.sandbox.inspect().token_calls("refresh_token"), 1);
    let report = env.run(&["--json", "logout"]).await.ok().json();
    assert_eq!(report["revoked"], true);
    assert_eq!(report["browser"], "confirmed");
}
