//! The real `passkeys` binary against the sandbox: sign-in through a `$BROWSER` stand-in,
//! enrollment with software authenticators, refresh and rotation across processes, and every
//! failure path leaving the server and the stored tokens consistent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic
mod common;

use common::{mode, Env};
use passkeys_sandbox::Fault;

#[tokio::test(flavor = "multi_thread")]
async fn login_add_two_list_remove_logout() {
    let env = Env::new().await;
    let r = env.run(&["login", "--timeout", "30"]).await.ok();
    assert!(r.stderr.contains("Signed in"), "{}", r.stderr);
    let files = env.token_files();
    assert_eq!(files.len(), 1);
    assert_eq!(mode(&files[0]), 0o600);
    let at = env.stored_tokens()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let me = env.run(&["--json", "whoami"]).await.ok().json();
    assert_eq!(me["displayName"], "Demo User");
    assert_eq!(me["loginName"], "demo@sandbox.localhost");

    let a = env
        .run(&[
            "--json",
            "-v",
            "add",
            "--authenticator",
            &env.key("a.cbor"),
            "--name",
            "  Key A  ",
        ])
        .await
        .ok();
    assert!(
        !a.stderr.contains(&at),
        "the access token leaked into the log"
    );
    let a = a.json();
    assert_eq!(a["name"], "Key A");
    assert_eq!(a["rpId"], "localhost");
    assert_eq!(a["state"], "ready");
    let a_id = a["id"].as_str().unwrap().to_string();

    // What the sandbox received: standard base64 of credential JSON with an unpadded id that
    // equals the credential id in authData.
    let body = env.sandbox.inspect().last_verify_json().unwrap();
    assert_eq!(body["verification"]["tokenName"], "Key A");
    let ready = env.ready();
    assert_eq!(ready.len(), 1);
    assert_eq!(
        ready[0].credential_id.as_deref(),
        a["credentialId"].as_str()
    );

    // Default name from the authenticator model and date.
    let b = env
        .run(&["--json", "add", "--authenticator", &env.key("b.cbor")])
        .await
        .ok()
        .json();
    assert!(
        b["name"]
            .as_str()
            .unwrap()
            .starts_with("Software authenticator "),
        "{b}"
    );
    assert_eq!(env.ready().len(), 2);

    let list = env.run(&["--json", "list"]).await.ok().json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|p| p["state"] == "ready"));
    assert!(list
        .iter()
        .any(|p| p["id"] == a_id.as_str() && p["name"] == "Key A"));

    let human = env.run(&["list"]).await.ok();
    assert!(
        human.stdout.contains("Key A") && human.stdout.contains("STATE"),
        "{}",
        human.stdout
    );

    let r = env.run(&["remove", &a_id]).await.ok();
    assert!(r.stdout.contains("\"Key A\""), "{}", r.stdout);
    let list = env.run(&["--json", "list"]).await.ok().json();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let r = env.run(&["remove", &a_id]).await.failed();
    assert!(r.stderr.contains("no such passkey"), "{}", r.stderr);

    env.run(&["logout"]).await.ok();
    assert!(env.token_files().is_empty(), "tokens must be forgotten");
    assert_eq!(
        env.sandbox.inspect().live_access_tokens(),
        0,
        "tokens must be revoked"
    );
    let r = env.run(&["list"]).await.failed();
    assert!(r.stderr.contains("passkeys login"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_authenticator_twice_is_refused_by_the_exclude_list() {
    let env = Env::new().await;
    env.login().await;
    env.run(&["add", "--authenticator", &env.key("a.cbor"), "--name", "A"])
        .await
        .ok();
    // A new process, the same authenticator file: the credential persisted.
    let r = env
        .run(&[
            "--json",
            "add",
            "--authenticator",
            &env.key("a.cbor"),
            "--name",
            "A again",
        ])
        .await
        .failed();
    assert_eq!(r.json()["error"]["code"], "credential_excluded");
    assert!(r.stderr.contains("already registered"), "{}", r.stderr);
    assert_eq!(env.ready().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_after_expiry_rotates_and_persists_the_refresh_token() {
    let env = Env::new().await;
    env.login().await;
    let before = env.stored_tokens();
    env.sandbox.inspect().expire_access_tokens();
    env.run(&["list"]).await.ok();
    assert_eq!(env.sandbox.inspect().token_calls("refresh_token"), 1);
    let after = env.stored_tokens();
    assert_ne!(
        before["refresh_token"], after["refresh_token"],
        "rotated refresh token saved"
    );
    assert_ne!(before["access_token"], after["access_token"]);
    // The next run uses the saved tokens without another refresh.
    env.run(&["list"]).await.ok();
    assert_eq!(env.sandbox.inspect().token_calls("refresh_token"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_refresh_once_between_them() {
    let env = Env::new().await;
    env.login().await;
    env.sandbox.inspect().expire_access_tokens();
    let (a, b) = tokio::join!(env.run(&["list"]), env.run(&["list"]));
    a.ok();
    b.ok();
    assert_eq!(
        env.sandbox.inspect().token_calls("refresh_token"),
        1,
        "the second process must reuse the first one's refresh"
    );
    env.run(&["list"]).await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_mid_flow_refreshes_once_and_retries() {
    let env = Env::new().await;
    env.login().await;
    env.sandbox.inspect().set_fault(Fault::Unauthorized);
    env.run(&["list"]).await.ok();
    assert_eq!(env.sandbox.inspect().token_calls("refresh_token"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_verification_is_reported_and_leaves_nothing_half_registered() {
    let env = Env::new().await;
    env.login().await;
    env.sandbox.inspect().set_fault(Fault::VerifyRejected);
    let r = env
        .run(&[
            "--json",
            "add",
            "--authenticator",
            &env.key("a.cbor"),
            "--name",
            "A",
        ])
        .await
        .failed();
    let err = r.json();
    assert_eq!(err["error"]["code"], "not_registered");
    let msg = err["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("rejected the new passkey") && msg.contains("WEBAU-3Vb9s"),
        "{msg}"
    );
    assert!(msg.contains("nothing to clean up"), "{msg}");
    assert!(env.ready().is_empty());
    // The session is intact, and a retry with the same authenticator works.
    env.run(&["add", "--authenticator", &env.key("a.cbor"), "--name", "A"])
        .await
        .ok();
    assert_eq!(env.ready().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_and_bad_discovery_give_clear_messages() {
    let env = Env::new().await;
    env.login().await;
    env.sandbox.inspect().set_fault(Fault::ServerError);
    let r = env.run(&["list"]).await.failed();
    assert!(r.stderr.contains("try again"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    env.run(&["list"]).await.ok();

    env.sandbox.inspect().set_fault(Fault::WrongDiscoveryIssuer);
    let r = env.run(&["--json", "list"]).await.failed();
    assert_eq!(r.json()["error"]["code"], "discovery_failed");
    env.sandbox.inspect().clear_faults();
    // The stored tokens survived all of it.
    env.run(&["list"]).await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_any_server_call() {
    let env = Env::new().await;
    env.login().await;
    let long = "x".repeat(201);
    for name in ["", "   ", long.as_str(), "two\nlines"] {
        let r = env
            .run(&[
                "--json",
                "add",
                "--authenticator",
                &env.key("a.cbor"),
                "--name",
                name,
            ])
            .await
            .failed();
        assert_eq!(r.json()["error"]["code"], "invalid_name", "{name:?}");
    }
    assert!(
        env.sandbox.inspect().passkeys().is_empty(),
        "no registration was started"
    );
    let emoji = "🔑".repeat(200);
    env.run(&[
        "add",
        "--authenticator",
        &env.key("a.cbor"),
        "--name",
        &emoji,
    ])
    .await
    .ok();

    let r = env
        .run(&["--issuer", "http://idp.example.com", "list"])
        .await
        .failed();
    assert!(r.stderr.contains("HTTPS is required"), "{}", r.stderr);
    let r = env
        .run(&["add", "--authenticator", "usb-key"])
        .await
        .failed();
    assert!(r.stderr.contains("unknown authenticator"), "{}", r.stderr);
    let corrupt = env.dir.path().join("corrupt.cbor");
    std::fs::write(&corrupt, b"not cbor").unwrap();
    let r = env
        .run(&[
            "add",
            "--authenticator",
            &format!("soft:{}", corrupt.display()),
        ])
        .await
        .failed();
    assert!(
        r.stderr.contains("not a software authenticator file"),
        "{}",
        r.stderr
    );
}

/// `--authenticator practice`: the practice security key (simulated CTAP 2.1 firmware in the
/// process) against the sandbox; it has no PIN, so the `--pin-env` PIN is set first, then the
/// passkey is created on it (discoverable, PIN-verified) and checked by the self-test.
#[tokio::test(flavor = "multi_thread")]
async fn the_practice_key_enrolls_with_a_pin_set_first() {
    let env = Env::new().await;
    env.login().await;
    let out = env
        .command(&[
            "--json",
            "add",
            "--authenticator",
            "practice",
            "--pin-env",
            "PRACTICE_PIN",
            "--name",
            "Practice",
        ])
        .env("PRACTICE_PIN", "246810")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("setting the PIN from --pin-env"),
        "{stderr}"
    );
    assert!(stderr.contains("Touching the practice key"), "{stderr}");
    assert!(!stderr.contains("246810"), "the PIN leaked: {stderr}");
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(added["name"], "Practice");
    assert_eq!(added["state"], "ready");
    let ready = env.ready();
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].name.as_deref(), Some("Practice"));

    // Removed from ZITADEL, it stays on the key: the CLI says so and how to delete it there.
    let id = added["id"].as_str().unwrap();
    let r = env.run(&["remove", id]).await.ok();
    assert!(
        r.stderr.contains("stays stored on your security key")
            && r.stderr
                .contains("passkeys key credentials orphans --delete"),
        "{}",
        r.stderr
    );
}

/// Against a real instance the practice key is refused before anything is opened or sent.
#[tokio::test(flavor = "multi_thread")]
async fn the_practice_key_is_refused_against_a_real_instance() {
    let env = Env::new().await;
    let r = env
        .run(&[
            "--issuer",
            "https://zitadel.example.com",
            "--json",
            "add",
            "--authenticator",
            "practice",
        ])
        .await
        .failed();
    assert!(
        r.stderr.contains("works only against the built-in sandbox"),
        "{}",
        r.stderr
    );
    assert!(env.sandbox.inspect().passkeys().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn not_signed_in_and_corrupt_token_file() {
    let env = Env::new().await;
    let r = env.run(&["--json", "whoami"]).await.failed();
    assert_eq!(r.json()["error"]["code"], "not_signed_in");
    assert!(r.stderr.contains("run `passkeys login`"), "{}", r.stderr);

    env.login().await;
    let file = env.token_files().remove(0);
    std::fs::write(&file, "{\"access_token\":\"half").unwrap();
    let r = env.run(&["list"]).await.failed();
    assert!(r.stderr.contains("damaged"), "{}", r.stderr);
    assert!(!r.stderr.contains("half"), "{}", r.stderr);
    env.login().await;
    env.run(&["list"]).await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_store_signs_in_for_one_run() {
    let env = Env::new().await;
    let r = env
        .run(&["--token-store", "memory", "--json", "list"])
        .await
        .ok();
    assert_eq!(r.json(), serde_json::json!([]));
    assert!(env.token_files().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_link_with_qr_code() {
    let env = Env::new().await;
    env.login().await;
    let r = env.run(&["link"]).await.ok();
    assert!(
        r.stdout.contains("/ui/login/login/passwordless/init?"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains('█') || r.stdout.contains('▀'),
        "QR code drawn"
    );
    let j = env.run(&["--json", "link", "--no-qr"]).await.ok().json();
    assert!(j["link"].as_str().unwrap().starts_with(&env.issuer()));
    assert_eq!(j["expiresInSecs"], 3600);
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_runs_end_to_end() {
    let env = Env::new().await;
    // As a person runs it: no PASSKEYS_STATE_DIR, so the platform's state and data
    // directories (here below the test's HOME) are where a stray write would land.
    let home = env.dir.path().join("home");
    let out = env
        .command(&["demo"])
        .env_remove("PASSKEYS_STATE_DIR")
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .output()
        .await
        .unwrap();
    let r = common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
    .ok();
    let mut written = Vec::new();
    let mut dirs = vec![home.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else {
                written.push(e.path());
            }
        }
    }
    assert!(
        written.is_empty(),
        "the demo wrote into the person's own directories: {written:?}"
    );
    assert!(r.stdout.contains("refused as expected"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Done: a passkey was enrolled end to end"),
        "{}",
        r.stdout
    );
}
