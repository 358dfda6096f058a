//! `passkeys key …` argument rules, checked by the real binary without any key: the
//! subcommands exist, no PIN is ever an argument, and confirmations are strict.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

const BIN: &str = env!("CARGO_BIN_EXE_passkeys");

fn run(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    std::process::Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("PASSKEYS_ISSUER", "https://issuer.example.com")
        .env("PASSKEYS_CLIENT_ID", "client")
        .env("PASSKEYS_TOKEN_STORE", "memory")
        .output()
        .unwrap()
}

fn help(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn key_help_lists_the_subcommands_and_no_pin_flag() {
    let h = help(&["key", "--help"]);
    for sub in [
        "info",
        "pin",
        "credentials",
        "fingerprints",
        "reset",
        "wink",
        "config",
    ] {
        assert!(h.contains(sub), "{sub} missing in:\n{h}");
    }
    assert!(
        h.contains("--pin-env") && h.contains("--authenticator"),
        "{h}"
    );
    for args in [
        vec!["key", "--help"],
        vec!["key", "pin", "set", "--help"],
        vec!["key", "pin", "change", "--help"],
        vec!["key", "credentials", "--help"],
        vec!["key", "config", "--help"],
    ] {
        let h = help(&args);
        assert!(
            !h.lines()
                .any(|l| l.trim_start().starts_with("--pin ")
                    || l.trim_start().starts_with("--pin <")),
            "{args:?} has a --pin flag:\n{h}"
        );
    }
    let h = help(&["key", "credentials", "--help"]);
    for sub in ["list", "delete", "orphans"] {
        assert!(h.contains(sub), "{h}");
    }
    let h = help(&["key", "fingerprints", "--help"]);
    for sub in ["list", "enroll", "rename", "remove"] {
        assert!(h.contains(sub), "{h}");
    }
    let h = help(&["key", "config", "--help"]);
    for sub in ["always-uv", "min-pin-length", "force-pin-change"] {
        assert!(h.contains(sub), "{h}");
    }
}

#[test]
fn a_pin_is_never_an_argument() {
    for args in [
        vec!["key", "pin", "set", "--pin", "123456"],
        vec!["key", "pin", "change", "--new-pin", "123456"],
        vec!["key", "info", "--pin", "123456"],
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?}");
    }
}

#[test]
fn confirmations_and_values_are_checked_before_any_key() {
    let out = run(&["--json", "key", "reset", "--confirm-reset", "yes"]);
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("RESET"),
        "{v}"
    );
    let out = run(&[
        "--json",
        "key",
        "--pin-env",
        "PASSKEYS_TEST_NO_SUCH_VAR",
        "info",
    ]);
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PASSKEYS_TEST_NO_SUCH_VAR"),
        "{v}"
    );
    for args in [
        vec!["key", "config", "always-uv", "maybe"],
        vec!["key", "config", "min-pin-length", "four"],
        vec!["key", "credentials", "orphans", "--yes"],
        vec!["key", "--authenticator", "soft:/tmp/x", "info"],
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?}");
    }
}
