//! The real `passkeys` binary's security-key surface that needs no key: `authenticators`
//! (USB/NFC enumeration works, or degrades, without hardware, udev or pcscd), and the argument
//! rules of `add` (PIN only from an environment variable, known authenticator kinds), which are
//! checked before any key or server is touched.
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

#[test]
fn authenticators_lists_attached_keys_as_json() {
    let out = run(&["--json", "authenticators"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in v.as_array().unwrap() {
        assert!(
            key["model"].is_string() && key["transport"].is_string(),
            "{key}"
        );
    }
}

#[test]
fn pin_env_must_name_a_set_variable() {
    let out = run(&["--json", "add", "--pin-env", "PASSKEYS_TEST_NO_SUCH_VAR"]);
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PASSKEYS_TEST_NO_SUCH_VAR"),
        "{v}"
    );
}

#[test]
fn there_is_no_pin_argument() {
    let out = run(&["add", "--pin", "123456"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pin"));
}

#[test]
fn unknown_authenticator_kinds_and_choices_are_refused() {
    // A usage error while the command line is read (exit 2), naming the accepted values.
    for args in [
        vec!["add", "--authenticator", "bluetooth"],
        vec!["add", "--authenticator", "usb:first"],
        vec!["which", "1", "--authenticator", "bluetooth"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("invalid value") && stderr.contains("use auto, key"),
            "{args:?}: {stderr}"
        );
    }
    let out = run(&["add", "--discoverable", "maybe"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("passkeys: "), "{stderr}");
}
