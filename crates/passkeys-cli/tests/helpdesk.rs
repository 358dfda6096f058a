//! `passkeys helpdesk`: an administrator enrolls passkeys for other users through the User
//! service v2 API of the sandbox (verified there with webauthn-rs), the refusal without
//! permissions, registration codes and batch mode. Real binary, real HTTP, no sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Env, Run};
use passkeys_sandbox::{PasskeyState, ADMIN_USER_ID, ALICE_USER_ID};

async fn run_cmd(mut cmd: tokio::process::Command) -> Run {
    let out = cmd.output().await.unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Signs in as `user` through the sandbox browser stand-in, with its own state directory.
/// Signs `user` in from their own computer: their own state directory and their own browser
/// (a shared browser would silently reuse the other person's ZITADEL session, as ZITADEL does).
async fn login_as(env: &Env, user: &str, state: &str) {
    let mut cmd = env.command(&["login", "--timeout", "30"]);
    cmd.env("PASSKEYS_SANDBOX_USER", user)
        .env("PASSKEYS_SANDBOX_PASSWORD", user)
        .env("PASSKEYS_STATE_DIR", env.dir.path().join(state))
        .env(
            "PASSKEYS_SANDBOX_BROWSER_PROFILE",
            env.dir.path().join(format!("browser-{state}.json")),
        );
    run_cmd(cmd).await.ok();
}

async fn run_as(env: &Env, state: &str, args: &[&str]) -> Run {
    let mut cmd = env.command(args);
    cmd.env("PASSKEYS_STATE_DIR", env.dir.path().join(state));
    run_cmd(cmd).await
}

#[tokio::test]
async fn admin_enrolls_a_passkey_for_alice() {
    let env = Env::new().await;
    login_as(&env, "admin", "admin").await;
    let key = env.key("alice-key.cbor");
    let run = run_as(
        &env,
        "admin",
        &[
            "--json",
            "helpdesk",
            "enroll",
            "--yes",
            "--user",
            "alice@sandbox.localhost",
            "--name",
            "Alice's key",
            "--authenticator",
            &key,
        ],
    )
    .await
    .ok();
    let v = run.json();
    assert_eq!(v["user"]["id"], ALICE_USER_ID);
    assert_eq!(v["user"]["loginName"], "alice@sandbox.localhost");
    assert_eq!(v["passkey"]["name"], "Alice's key");
    assert_eq!(v["passkey"]["rpId"], "localhost");
    assert_eq!(v["pin"], "none");
    let id = v["passkey"]["id"].as_str().unwrap().to_string();

    let ins = env.sandbox.inspect();
    let alice = ins.passkeys_of(ALICE_USER_ID);
    assert_eq!(alice.len(), 1);
    assert_eq!(alice[0].state, PasskeyState::Ready);
    assert_eq!(alice[0].id, id);
    assert_eq!(
        alice[0].credential_id.as_deref(),
        v["passkey"]["credentialId"].as_str()
    );
    assert!(ins.passkeys_of(ADMIN_USER_ID).is_empty());
    assert!(ins.passkeys().is_empty(), "nothing for demo");
    // The v2 verify body carries the credential as an object, not base64.
    let body: serde_json::Value =
        serde_json::from_str(&ins.last_v2_verify_body().unwrap()).unwrap();
    assert!(body["publicKeyCredential"].is_object(), "{body}");
    assert_eq!(body["passkeyName"], "Alice's key");

    // Alice, signed in herself, lists it.
    login_as(&env, "alice", "alice").await;
    let list = run_as(&env, "alice", &["--json", "list"]).await.ok().json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alice's key"]);

    // Human output: the handover summary, by user name this time.
    let run = run_as(
        &env,
        "admin",
        &[
            "helpdesk",
            "enroll",
            "--yes",
            "--user",
            "alice",
            "--authenticator",
            &env.key("alice-key-2.cbor"),
        ],
    )
    .await
    .ok();
    assert!(run.stdout.contains("Handover summary"), "{}", run.stdout);
    assert!(run
        .stdout
        .contains("Alice Example (alice@sandbox.localhost)"));
    assert_eq!(ins.passkeys_of(ALICE_USER_ID).len(), 2);
}

#[tokio::test]
async fn a_user_without_permission_is_refused_and_nothing_is_registered() {
    let env = Env::new().await;
    env.login().await; // demo: no permissions
    let key = env.key("k.cbor");
    let run = env
        .run(&[
            "--json",
            "helpdesk",
            "enroll",
            "--yes",
            "--user",
            ALICE_USER_ID,
            "--authenticator",
            &key,
        ])
        .await
        .failed();
    assert_eq!(
        run.json()["error"]["code"],
        "permission_denied",
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("not allowed"), "{}", run.stderr);
    assert!(env.sandbox.inspect().passkeys_of(ALICE_USER_ID).is_empty());
    assert!(env.sandbox.inspect().passkeys().is_empty());

    // By login name: demo may not even see alice.
    let run = env
        .run(&[
            "--json",
            "helpdesk",
            "enroll",
            "--yes",
            "--user",
            "alice",
            "--authenticator",
            &key,
        ])
        .await
        .failed();
    assert_eq!(run.json()["error"]["code"], "config_error");
    assert!(run.stderr.contains("no user \"alice\""), "{}", run.stderr);
    assert!(run.stderr.contains("user.read"), "{}", run.stderr);

    // Registration codes need user.passkey.write.
    let run = env
        .run(&[
            "--json",
            "helpdesk",
            "link",
            "--user",
            ALICE_USER_ID,
            "--no-qr",
        ])
        .await
        .failed();
    assert_eq!(run.json()["error"]["code"], "permission_denied");
    assert_eq!(
        env.sandbox.inspect().open_registration_codes(ALICE_USER_ID),
        0
    );
}

#[tokio::test]
async fn link_returns_a_registration_code() {
    let env = Env::new().await;
    login_as(&env, "admin", "admin").await;
    let run = run_as(
        &env,
        "admin",
        &["--json", "helpdesk", "link", "--user", "alice", "--no-qr"],
    )
    .await
    .ok();
    let v = run.json();
    let code = v["code"].as_str().unwrap();
    assert_eq!(code.len(), 12);
    let link = url::Url::parse(v["link"].as_str().unwrap()).unwrap();
    assert_eq!(link.path(), "/ui/login/login/passwordless/init");
    let q: std::collections::HashMap<_, _> = link.query_pairs().into_owned().collect();
    assert_eq!(q["userID"], ALICE_USER_ID);
    assert_eq!(q["code"], code);
    assert_eq!(q["codeID"], v["codeId"].as_str().unwrap());
    assert!(q.contains_key("orgID"));
    assert_eq!(
        env.sandbox.inspect().open_registration_codes(ALICE_USER_ID),
        1
    );
    // The code is output the operator asked for, never a log line.
    assert!(!run.stderr.contains(code), "{}", run.stderr);
}

#[tokio::test]
async fn batch_enrolls_one_key_per_user_and_stops_cleanly() {
    let env = Env::new().await;
    login_as(&env, "admin", "admin").await;
    let list = env.dir.path().join("users.txt");
    std::fs::write(
        &list,
        "# helpdesk batch\nalice\n\nadmin@sandbox.localhost, Admin key\n",
    )
    .unwrap();
    let key = env.key("batch.cbor");
    let run = run_as(
        &env,
        "admin",
        &[
            "helpdesk",
            "batch",
            "--yes",
            list.to_str().unwrap(),
            "--authenticator",
            &key,
        ],
    )
    .await
    .ok();
    assert!(run.stdout.contains("Handover summary"), "{}", run.stdout);
    assert!(run.stdout.contains("All 2 users are enrolled."));
    assert!(run.stderr.contains("[1/2] Alice Example"), "{}", run.stderr);
    assert!(run.stderr.contains("[2/2] Helpdesk Admin"));
    let ins = env.sandbox.inspect();
    assert_eq!(ins.passkeys_of(ALICE_USER_ID).len(), 1);
    let admin = ins.passkeys_of(ADMIN_USER_ID);
    assert_eq!(admin.len(), 1);
    assert_eq!(admin[0].name.as_deref(), Some("Admin key"));

    // An unknown user stops the batch before any key is touched.
    std::fs::write(&list, "alice\nnobody\n").unwrap();
    let run = run_as(
        &env,
        "admin",
        &[
            "helpdesk",
            "batch",
            "--yes",
            list.to_str().unwrap(),
            "--authenticator",
            &key,
        ],
    )
    .await
    .failed();
    assert!(
        run.stderr.contains("nothing was enrolled"),
        "{}",
        run.stderr
    );
    assert_eq!(ins.passkeys_of(ALICE_USER_ID).len(), 1);

    // A failure in the middle: the summary names who is done and who is not.
    ins.set_fault(passkeys_sandbox::Fault::VerifyRejected);
    std::fs::write(&list, "alice\nadmin\n").unwrap();
    let run = run_as(
        &env,
        "admin",
        &[
            "--json",
            "helpdesk",
            "batch",
            "--yes",
            list.to_str().unwrap(),
            "--authenticator",
            &key,
        ],
    )
    .await
    .failed();
    assert!(run.stdout.contains("\"notStarted\""), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("batch stopped at alice@sandbox.localhost"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Not started: admin@sandbox.localhost"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_random_pin_needs_somewhere_to_go() {
    let env = Env::new().await;
    login_as(&env, "admin", "admin").await;
    let run = run_as(
        &env,
        "admin",
        &[
            "helpdesk",
            "enroll",
            "--yes",
            "--user",
            "alice",
            "--set-random-pin",
            "--authenticator",
            &env.key("k.cbor"),
        ],
    )
    .await
    .failed();
    assert!(
        run.stderr.contains("--show-pin or --pin-file"),
        "{}",
        run.stderr
    );
}
