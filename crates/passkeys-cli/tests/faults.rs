//! Faults and secrets: the real `passkeys` binary against sandbox fault modes, and a scan of
//! everything it logs for secret values.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod common;

use common::Env;
use passkeys_sandbox::Fault;

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_reset_after_verify_is_resolved_by_listing_again() {
    let env = Env::new().await;
    env.login().await;
    env.sandbox.inspect().set_fault(Fault::ResetAfterVerify);
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
        .ok();
    let added = r.json();
    assert_eq!(added["name"], "A");
    assert!(added["id"].is_string(), "{added}");
    assert!(
        r.stderr.contains("checking whether ZITADEL registered"),
        "{}",
        r.stderr
    );
    assert_eq!(
        env.ready().len(),
        1,
        "registered exactly once, no retried verify"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_server_times_out_with_a_clear_message_and_nothing_lost() {
    let env = Env::new().await;
    env.login().await;
    let before = env.stored_tokens();
    env.sandbox
        .inspect()
        .set_fault(Fault::SlowReply { millis: 3000 });
    let mut cmd = env.command(&["list"]);
    cmd.env("PASSKEYS_HTTP_TIMEOUT_SECS", "1");
    let out = cmd.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("could not reach") && stderr.contains("Check your network"),
        "{stderr}"
    );
    assert_eq!(env.stored_tokens(), before, "tokens untouched");
    env.run(&["list"]).await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reused_rotated_refresh_token_ends_the_session_cleanly() {
    let env = Env::new().await;
    env.login().await;
    let file = env.token_files().remove(0);
    let old = std::fs::read(&file).unwrap();
    env.sandbox.inspect().expire_access_tokens();
    env.run(&["list"]).await.ok(); // rotates the refresh token
                                   // Another copy of the app still holds the old (now dead) refresh token.
    std::fs::write(&file, &old).unwrap();
    env.sandbox.inspect().expire_access_tokens();
    let r = env.run(&["--json", "list"]).await.failed();
    assert_eq!(r.json()["error"]["code"], "session_expired");
    assert!(r.stderr.contains("passkeys login"), "{}", r.stderr);
    assert!(
        env.token_files().is_empty(),
        "dead tokens are removed, not kept"
    );
    env.login().await;
    env.run(&["list"]).await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_the_logs_of_a_full_enrollment() {
    let env = Env::new().await;
    let mut logs = String::new();
    let mut secrets: Vec<String> = Vec::new();
    for args in [
        vec!["-vv", "login", "--timeout", "30"],
        vec!["-vv", "whoami"],
        vec!["-vv", "add", "--authenticator", "KEY", "--name", "A"],
        vec!["-vv", "list"],
        vec!["-vv", "link"],
    ] {
        let key = env.key("a.cbor");
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "KEY" { key.as_str() } else { a })
            .collect();
        let r = env.run(&args).await.ok();
        logs.push_str(&r.stderr);
        let t = env.stored_tokens();
        for k in ["access_token", "refresh_token", "id_token"] {
            if let Some(v) = t[k].as_str() {
                secrets.push(v.to_string());
            }
        }
    }
    env.sandbox.inspect().expire_access_tokens();
    let r = env.run(&["-vv", "list"]).await.ok();
    logs.push_str(&r.stderr);
    for k in ["access_token", "refresh_token"] {
        secrets.push(env.stored_tokens()[k].as_str().unwrap().to_string());
    }
    let r = env.run(&["-vv", "logout"]).await.ok();
    logs.push_str(&r.stderr);
    secrets.extend(env.sandbox.inspect().issued_codes());
    assert!(
        logs.contains("DEBUG") || logs.contains("TRACE"),
        "verbose logging was on"
    );
    assert!(secrets.len() >= 10);
    for s in &secrets {
        assert!(s.len() >= 16);
        assert!(
            !logs.contains(s.as_str()),
            "a secret leaked into the logs: {}…",
            &s[..6]
        );
    }
}
