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
        env.sandbox.shutdown().await;
    }
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
