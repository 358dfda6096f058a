//! Issue 12, part B: a hostile server, a hostile neighbour on this machine and a hostile key,
//! against the real `passkeys` binary and the sandbox. Each test is named after the attack.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic
mod common;

use common::Env;

#[tokio::test(flavor = "multi_thread")]
async fn soft_authenticator_refused_for_a_remote_issuer() {
    let env = Env::new().await;
    let remote = "https://zitadel.invalid";
    let key = env.key("a.cbor");
    for args in [
        vec!["--json", "--issuer", remote, "add", "--authenticator", &key],
        vec![
            "--json",
            "--issuer",
            remote,
            "helpdesk",
            "enroll",
            "--user",
            "alice",
            "--authenticator",
            &key,
        ],
    ] {
        let r = env.run(&args).await.failed();
        let j = r.json();
        let message = j["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("--dangerously-allow-soft-authenticator")
                && message.contains("zitadel.invalid"),
            "{args:?}: {message}"
        );
    }
    // The loud flag lets it through (here to the network, which does not know the name).
    let r = env
        .run(&[
            "--json",
            "--token-store",
            "memory",
            "--issuer",
            remote,
            "add",
            "--authenticator",
            &key,
            "--dangerously-allow-soft-authenticator",
        ])
        .await
        .failed();
    assert!(
        !r.stdout.contains("dangerously-allow-soft-authenticator"),
        "{}",
        r.stdout
    );
    // The sandbox is on loopback: no flag needed.
    env.login().await;
    env.run(&["add", "--authenticator", &key]).await.ok();
}
