//! Shared by the interop tests (issue 7): the env gate, the Node helpers' location, running the
//! real `passkeys` binary, and writing the credentials the app produced for the second WebAuthn
//! verifiers (tests/interop/verify_credentials.py and tests/interop/node/verify-credentials.mjs).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use passkeys_sandbox::{PasskeyState, Sandbox};
use serde_json::{json, Value};

/// Set to `1` to run the tests that need Node (scripts/test.d/30-interop.sh does).
pub const GATE: &str = "PASSKEYS_INTEROP";
/// A directory: every credential the app produced in a test against the sandbox is written
/// there as one JSON file, for the second verifiers.
pub const DUMP: &str = "PASSKEYS_INTEROP_DUMP";

/// True when the interop tests should run; otherwise prints why they are skipped.
pub fn enabled(test: &str) -> bool {
    if std::env::var(GATE).is_ok_and(|v| v == "1") {
        return true;
    }
    eprintln!(
        "note: {test} skipped: set {GATE}=1 to run it (scripts/test.d/30-interop.sh installs the Node packages and does)"
    );
    false
}

/// tests/interop/node, with its node_modules installed.
pub fn node_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/node")
        .canonicalize()
        .expect("tests/interop/node exists");
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "{}/node_modules is missing: run `npm ci` there (scripts/test.d/30-interop.sh does)",
        dir.display()
    );
    dir
}

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "command failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn failed(self) -> Self {
        assert_ne!(
            self.code, 0,
            "command should have failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// The stable error code of a failed `--json` run.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Runs `cmd` to completion, killing it after `limit`.
pub async fn run(mut cmd: tokio::process::Command, limit: Duration) -> Run {
    cmd.kill_on_drop(true);
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{cmd:?} did not finish within {limit:?}"))
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// If `PASSKEYS_INTEROP_DUMP` is set, writes the credential the sandbox verified last (the raw
/// VerifyMyPasswordless body the app sent: `{"verification":{"publicKeyCredential":<standard
/// base64 of the credential JSON>,"tokenName"}}`) together with what a relying party expects:
/// the challenge the sandbox issued for it, the origin and the rpId. `label` names the file
/// (default: the test's name). Call it right after a successful registration.
pub fn dump_last_registration(sandbox: &Sandbox, label: Option<&str>) {
    let Some(dir) = std::env::var_os(DUMP).filter(|d| !d.is_empty()) else {
        return;
    };
    let thread = std::thread::current();
    let label = label.or(thread.name()).unwrap_or("unnamed");
    let inspector = sandbox.inspect();
    // Only the Auth API v1's VerifyMyPasswordless body is recorded: a registration over User
    // service v2 (the main job on the v2-only profiles) is not dumped for the second verifiers.
    let Some(body) = inspector.last_verify_body() else {
        return;
    };
    let parsed: Value = serde_json::from_str(body.trim()).expect("the verify body is JSON");
    let name = parsed["verification"]["tokenName"]
        .as_str()
        .expect("verification.tokenName");
    let passkey = inspector
        .passkeys()
        .into_iter()
        .rfind(|p| p.state == PasskeyState::Ready && p.name.as_deref() == Some(name))
        .expect("the sandbox holds the verified passkey");
    let issuer = sandbox.issuer();
    let record = json!({
        "label": label,
        "verifyBody": body,
        "expectedChallenge": passkey.challenge,
        "expectedOrigin": issuer.origin().ascii_serialization(),
        "expectedRpId": issuer.host_str().expect("the issuer has a host"),
        "expectedCredentialId": passkey.credential_id,
        // The sandbox, like ZITADEL, asks for userVerification "required".
        "requireUserVerification": true,
    });
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let safe: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let path = dir.join(format!("{safe}-{}.json", passkey.id));
    std::fs::write(&path, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
}
