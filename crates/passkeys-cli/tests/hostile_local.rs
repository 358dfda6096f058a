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

/// Issue 12 item 7: a state directory that another local user may write to (they could swap
/// the token files) is tightened to 0700 by the next command; a token file that is a symbolic
/// link is refused, not read through.
#[tokio::test(flavor = "multi_thread")]
async fn world_writable_state_dir_is_tightened() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::new().await;
    std::fs::create_dir_all(env.state_dir()).unwrap();
    std::fs::set_permissions(env.state_dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
    env.login().await;
    assert_eq!(common::mode(&env.state_dir()), 0o700);
    assert_eq!(common::mode(&env.state_dir().join("tokens")), 0o700);

    // The token file swapped for a link to a copy someone else controls.
    let file = env.token_files().remove(0);
    let planted = env.dir.path().join("planted.json");
    std::fs::copy(&file, &planted).unwrap();
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(&planted, &file).unwrap();
    let r = env.run(&["--json", "whoami"]).await.failed();
    assert_eq!(r.json()["error"]["code"], "file_error", "{}", r.stdout);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
}

async fn run_cmd(mut cmd: tokio::process::Command, stdin: Option<&str>) -> common::Run {
    use tokio::io::AsyncWriteExt as _;
    if stdin.is_some() {
        cmd.stdin(std::process::Stdio::piped());
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).await.unwrap();
        drop(pipe);
    }
    let out = child.wait_with_output().await.unwrap();
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The helpdesk administrator signs in from their own state directory and browser profile.
async fn admin(env: &Env) {
    let mut cmd = env.command(&["login", "--timeout", "30"]);
    cmd.env("PASSKEYS_SANDBOX_USER", "admin")
        .env("PASSKEYS_SANDBOX_PASSWORD", "admin")
        .env("PASSKEYS_STATE_DIR", env.dir.path().join("admin"))
        .env(
            "PASSKEYS_SANDBOX_BROWSER_PROFILE",
            env.dir.path().join("browser-admin.json"),
        );
    run_cmd(cmd, None).await.ok();
}

async fn as_admin(env: &Env, args: &[&str], stdin: Option<&str>) -> common::Run {
    let mut cmd = env.command(args);
    cmd.env("PASSKEYS_STATE_DIR", env.dir.path().join("admin"));
    run_cmd(cmd, stdin).await
}

fn ready_of(env: &Env, user: &str) -> usize {
    env.sandbox
        .inspect()
        .passkeys_of(user)
        .iter()
        .filter(|p| p.state == passkeys_sandbox::PasskeyState::Ready)
        .count()
}

/// Issue 12 item 9: creation options whose user.id is not the chosen user's are refused before
/// the key is touched; nothing is registered for anyone.
#[tokio::test(flavor = "multi_thread")]
async fn helpdesk_refuses_options_for_another_user() {
    let env = Env::new().await;
    admin(&env).await;
    env.sandbox
        .inspect()
        .set_fault(passkeys_sandbox::Fault::OptionsForAnotherUser);
    let key = env.key("alice.cbor");
    let r = as_admin(
        &env,
        &[
            "--json",
            "helpdesk",
            "enroll",
            "--yes",
            "--user",
            "alice",
            "--authenticator",
            &key,
        ],
        None,
    )
    .await
    .failed();
    let j = r.json();
    assert_eq!(
        j["error"]["code"], "invalid_creation_options",
        "{}",
        r.stdout
    );
    assert!(
        j["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another user"),
        "{}",
        r.stdout
    );
    assert_eq!(ready_of(&env, passkeys_sandbox::ALICE_USER_ID), 0);
    assert!(env
        .sandbox
        .inspect()
        .passkeys()
        .iter()
        .all(|p| p.state != passkeys_sandbox::PasskeyState::Ready));
    // Without the fault the same command works.
    as_admin(
        &env,
        &[
            "helpdesk",
            "enroll",
            "--yes",
            "--user",
            "alice",
            "--authenticator",
            &key,
        ],
        None,
    )
    .await
    .ok();
    assert_eq!(ready_of(&env, passkeys_sandbox::ALICE_USER_ID), 1);
}

/// Issue 12 item 9: a user whose user name is another user's id. The number alone is refused
/// as ambiguous (naming who it would have been); `id:` picks the id, the login name the other.
#[tokio::test(flavor = "multi_thread")]
async fn all_digit_user_name_is_not_taken_for_a_user_id() {
    use passkeys_sandbox::{SandboxConfig, SandboxUser, ALICE_USER_ID};
    let mut config = SandboxConfig::default();
    let mallory_id = "218662596918640990";
    config.users.push(SandboxUser::new(
        mallory_id,
        ALICE_USER_ID,
        "m",
        "Mallory",
        "Lookalike",
    ));
    config.users.push(SandboxUser::new(
        "218662596918640991",
        "4242",
        "n",
        "Numeric",
        "Name",
    ));
    let env = Env::with_config(config).await;
    admin(&env).await;
    let key = env.key("k.cbor");
    let r = as_admin(
        &env,
        &[
            "helpdesk",
            "enroll",
            "--yes",
            "--user",
            ALICE_USER_ID,
            "--authenticator",
            &key,
        ],
        None,
    )
    .await
    .failed();
    assert!(
        r.stderr.contains("also the user name of another user"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Alice Example"), "{}", r.stderr);
    assert!(env.sandbox.inspect().passkeys().is_empty());

    let r = as_admin(
        &env,
        &[
            "--json",
            "helpdesk",
            "enroll",
            "--yes",
            "--user",
            &format!("id:{ALICE_USER_ID}"),
            "--authenticator",
            &key,
        ],
        None,
    )
    .await
    .ok();
    assert_eq!(r.json()["user"]["id"], ALICE_USER_ID);
    // A number that is only a user name resolves to that user.
    let r = as_admin(
        &env,
        &["--json", "helpdesk", "link", "--user", "4242", "--no-qr"],
        None,
    )
    .await
    .ok();
    assert_eq!(r.json()["user"]["id"], "218662596918640991");
    assert_eq!(ready_of(&env, mallory_id), 0);
}

/// Issue 12 item 9: the resolved user's display and login name are shown and confirmed before
/// the key is touched; no answer (a script without --yes) touches nothing; batch mode prints the
/// whole list first.
#[tokio::test(flavor = "multi_thread")]
async fn helpdesk_enroll_confirms_the_resolved_user_first() {
    let env = Env::new().await;
    admin(&env).await;
    let key = env.key("alice.cbor");
    let args = [
        "helpdesk",
        "enroll",
        "--user",
        "alice",
        "--authenticator",
        &key,
    ];
    let r = as_admin(&env, &args, None).await.failed();
    assert!(
        r.stderr.contains("Alice Example (alice@sandbox.localhost"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert!(
        env.sandbox.inspect().passkeys().is_empty(),
        "nothing was started"
    );
    assert!(
        !std::path::Path::new(&key["soft:".len()..]).exists(),
        "the key was not opened"
    );
    let r = as_admin(&env, &args, Some("no\n")).await.failed();
    assert!(r.stderr.contains("not confirmed"), "{}", r.stderr);
    assert!(env.sandbox.inspect().passkeys().is_empty());
    as_admin(&env, &args, Some("yes\n")).await.ok();
    assert_eq!(ready_of(&env, passkeys_sandbox::ALICE_USER_ID), 1);

    let list = env.dir.path().join("users.txt");
    std::fs::write(&list, "alice, Spare\nadmin@sandbox.localhost\n").unwrap();
    let r = as_admin(
        &env,
        &[
            "helpdesk",
            "batch",
            list.to_str().unwrap(),
            "--authenticator",
            &env.key("b.cbor"),
        ],
        None,
    )
    .await
    .failed();
    assert!(r.stderr.contains("2 users, in this order:"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("1. Alice Example (alice@sandbox.localhost"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("2. Helpdesk Admin (admin@sandbox.localhost"),
        "{}",
        r.stderr
    );
    assert_eq!(
        ready_of(&env, passkeys_sandbox::ALICE_USER_ID),
        1,
        "nothing more enrolled"
    );
}

/// Issue 12 item 3: a passkey name and a display name from the server carrying terminal
/// escapes (retitle, clear screen), a carriage return, a bidi override and a line break are
/// shown escaped, one line per value; `--json` keeps the exact values.
#[tokio::test(flavor = "multi_thread")]
async fn terminal_escape_in_passkey_name_is_shown_escaped() {
    use passkeys_sandbox::{default_users, SandboxConfig, DEMO_USER_ID};
    let evil_display = "Demo\u{1b}]0;pwned\u{7}\u{202e}resU";
    let config = SandboxConfig {
        users: default_users()
            .into_iter()
            .map(|u| {
                if u.id == DEMO_USER_ID {
                    u.with_display_name(evil_display)
                } else {
                    u
                }
            })
            .collect(),
        ..SandboxConfig::default()
    };
    let env = Env::with_config(config).await;
    env.login().await;
    env.run(&[
        "add",
        "--authenticator",
        &env.key("a.cbor"),
        "--name",
        "Key A",
    ])
    .await
    .ok();
    let id = env.ready()[0].id.clone();
    let evil_name = "Key\u{1b}[2J\u{1b}[1;1HAdded passkey \"fake\"\r\n\u{9b}31mX\u{2028}Y";
    env.sandbox.inspect().set_passkey_name(&id, evil_name);

    for args in [&["list"][..], &["whoami"][..]] {
        let r = env.run(args).await.ok();
        let all = format!("{}{}", r.stdout, r.stderr);
        for bad in ['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}', '\u{2028}'] {
            assert!(
                !all.contains(bad),
                "{args:?}: {bad:?} reached the terminal: {all:?}"
            );
        }
    }
    let list = env.run(&["list"]).await.ok().stdout;
    assert!(
        list.contains(
            "Key\\u{1b}[2J\\u{1b}[1;1HAdded passkey \"fake\"\\u{d}\\u{a}\\u{9b}31mX\\u{2028}Y"
        ),
        "{list}"
    );
    assert_eq!(
        list.lines().count(),
        2,
        "a header and one line for the passkey: {list}"
    );
    let who = env.run(&["whoami"]).await.ok().stdout;
    assert!(
        who.contains("Demo\\u{1b}]0;pwned\\u{7}\\u{202e}resU"),
        "{who}"
    );

    // --json: the exact values, JSON-escaped (no raw control or bidi character on stdout).
    let r = env.run(&["--json", "list"]).await.ok();
    assert!(!r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{202e}'));
    assert!(!r.stdout.contains('\u{9b}') && !r.stdout.contains('\u{2028}'));
    assert_eq!(r.json()[0]["name"], evil_name);
    let r = env.run(&["--json", "whoami"]).await.ok();
    assert!(!r.stdout.contains('\u{202e}'), "{}", r.stdout);
    assert_eq!(r.json()["displayName"], evil_display);
}
