//! Shared harness: the sandbox in-process, the real binaries, a private state directory.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // test helpers

use std::path::{Path, PathBuf};
use std::process::Output;

use passkeys_sandbox::{PasskeyState, Sandbox, SandboxConfig};
use serde_json::Value;

#[path = "../interop_support/mod.rs"]
mod interop_support;

const BIN: &str = env!("CARGO_BIN_EXE_passkeys");
const BROWSER: &str = env!("CARGO_BIN_EXE_passkeys-sandbox-browser");

pub struct Env {
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
}

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
}

impl Env {
    pub async fn new() -> Env {
        Self::with_config(SandboxConfig::default()).await
    }

    /// A sandbox with `config` (e.g. one of `SandboxConfig::profiles()`).
    pub async fn with_config(config: SandboxConfig) -> Env {
        let sandbox = passkeys_testkit::start(config).await;
        Env {
            sandbox,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn issuer(&self) -> String {
        self.sandbox
            .issuer()
            .as_str()
            .trim_end_matches('/')
            .to_string()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn key(&self, name: &str) -> String {
        format!("soft:{}", self.dir.path().join(name).display())
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("PASSKEYS_ISSUER", self.issuer())
            .env("PASSKEYS_CLIENT_ID", self.sandbox.client_id())
            .env("PASSKEYS_TOKEN_STORE", "file")
            .env("PASSKEYS_STATE_DIR", self.state_dir())
            .env("PASSKEYS_CONFIG", self.dir.path().join("no-config.toml"))
            .env("BROWSER", BROWSER)
            // One browser for the whole test: its ZITADEL session cookie survives between
            // commands, as in a person's browser (fidelity T3).
            .env(
                "PASSKEYS_SANDBOX_BROWSER_PROFILE",
                self.dir.path().join("browser-profile.json"),
            )
            // What the browser was started on, one URL per line (see `browser_urls`).
            .env(
                "PASSKEYS_SANDBOX_BROWSER_LOG",
                self.dir.path().join("browser.log"),
            )
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// The URLs the browser was started on so far (its command lines).
    #[allow(dead_code)]
    pub fn browser_urls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("browser.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        let out: Output = self.command(args).output().await.unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        // Issue 7: each passkey the app registers is also judged by second WebAuthn verifiers.
        if run.code == 0 && args.contains(&"add") {
            interop_support::dump_last_registration(&self.sandbox, None);
        }
        run
    }

    pub fn token_files(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.state_dir().join("tokens")) {
            Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn stored_tokens(&self) -> Value {
        let files = self.token_files();
        assert_eq!(files.len(), 1, "{files:?}");
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap()
    }

    pub fn ready(&self) -> Vec<passkeys_sandbox::PasskeyInfo> {
        self.sandbox
            .inspect()
            .passkeys()
            .into_iter()
            .filter(|p| p.state == PasskeyState::Ready)
            .collect()
    }

    pub async fn login(&self) {
        self.run(&["login", "--timeout", "30"]).await.ok();
    }
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
