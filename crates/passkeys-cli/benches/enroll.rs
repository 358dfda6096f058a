//! Benchmarks (not tests): prints one table of figures measured in one run.
//!
//! - app overhead of one enrollment against the in-process sandbox with the software
//!   authenticator: total time of `enroll::add_passkey` minus the time spent inside the sandbox
//!   (its request handlers) and inside the authenticator;
//! - CLI start-up (`passkeys --version`) and a cold `passkeys list` (a new process: discovery,
//!   token load, one API call) against the sandbox.
//!
//! Run with `scripts/bench.sh` (release build). Desktop-app figures and binary sizes are added by
//! the script.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark harness

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use passkeys_core::authenticator::{
    Authenticator, AuthenticatorError, AuthenticatorInfo, MakeCredentialRequest,
    MakeCredentialResponse, SoftAuthenticator,
};
use passkeys_core::enroll;
use passkeys_sandbox::SandboxConfig;

/// Wraps an authenticator and adds up the time spent inside it.
struct Timed {
    inner: SoftAuthenticator,
    spent: Arc<Mutex<Duration>>,
}

#[async_trait]
impl Authenticator for Timed {
    fn info(&self) -> AuthenticatorInfo {
        self.inner.info()
    }
    async fn make_credential(
        &mut self,
        request: &MakeCredentialRequest,
    ) -> Result<MakeCredentialResponse, AuthenticatorError> {
        let start = Instant::now();
        let r = self.inner.make_credential(request).await;
        *self.spent.lock().unwrap() += start.elapsed();
        r
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let sandbox = passkeys_testkit::start(SandboxConfig::default()).await;
    let api = passkeys_testkit::signed_in(&sandbox).await;

    let (mut totals, mut overheads) = (Vec::new(), Vec::new());
    let (mut server_shares, mut auth_shares) = (Vec::new(), Vec::new());
    for i in 0..rounds + 3 {
        let spent = Arc::new(Mutex::new(Duration::ZERO));
        let mut auth = Timed {
            inner: SoftAuthenticator::ephemeral().unwrap(),
            spent: spent.clone(),
        };
        let server_before = sandbox.inspect().server_time();
        let start = Instant::now();
        let added = enroll::add_passkey(&api, &mut auth, Some(&format!("bench {i}")), &|_: &_| {})
            .await
            .unwrap();
        let total = start.elapsed();
        let server = sandbox.inspect().server_time() - server_before;
        let authn = *spent.lock().unwrap();
        // Keep the exclude list short: remove the passkey again (not timed).
        api.remove_passkey(added.id.as_deref().unwrap())
            .await
            .unwrap();
        if i < 3 {
            continue; // warm-up
        }
        totals.push(total);
        server_shares.push(server);
        auth_shares.push(authn);
        overheads.push(total.saturating_sub(server + authn));
    }

    // CLI start-up and a cold list, as new processes.
    // target/release/deps/enroll-… → target/release/
    let release_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let bin = std::env::var("PASSKEYS_BIN")
        .unwrap_or_else(|_| release_dir.join("passkeys").to_string_lossy().into_owned());
    let browser_bin = release_dir
        .join("passkeys-sandbox-browser")
        .to_string_lossy()
        .into_owned();
    let state = tempfile::tempdir().unwrap();
    let iss = passkeys_core::config::parse_issuer(sandbox.issuer().as_str())
        .unwrap()
        .as_str;
    let cmd = |args: &[&str]| {
        let mut c = std::process::Command::new(&bin);
        c.args(args)
            .env("PASSKEYS_ISSUER", &iss)
            .env("PASSKEYS_CLIENT_ID", sandbox.client_id())
            .env("PASSKEYS_TOKEN_STORE", "file")
            .env("PASSKEYS_STATE_DIR", state.path())
            .env("PASSKEYS_CONFIG", state.path().join("none.toml"))
            .env("BROWSER", &browser_bin);
        c
    };
    let mut startup = Vec::new();
    let mut cold_list = Vec::new();
    let have_bin = std::path::Path::new(&bin).exists();
    if have_bin {
        for _ in 0..rounds {
            let t = Instant::now();
            assert!(cmd(&["--version"]).output().unwrap().status.success());
            startup.push(t.elapsed());
        }
        let login = tokio::task::spawn_blocking({
            let mut c = cmd(&["login", "--timeout", "30"]);
            move || c.output().unwrap()
        })
        .await
        .unwrap();
        assert!(
            login.status.success(),
            "{}",
            String::from_utf8_lossy(&login.stderr)
        );
        for _ in 0..rounds {
            let mut c = cmd(&["list"]);
            let t = Instant::now();
            let out = tokio::task::spawn_blocking(move || c.output().unwrap())
                .await
                .unwrap();
            cold_list.push(t.elapsed());
            assert!(out.status.success());
        }
    }

    println!("| measurement | median | notes |");
    println!("|---|---|---|");
    println!(
        "| enrollment, total (add_passkey) | {} | {rounds} rounds after 3 warm-ups; in-process sandbox, software authenticator |",
        ms(median(totals))
    );
    println!(
        "| of which inside the sandbox | {} | request handlers incl. webauthn-rs verification |",
        ms(median(server_shares))
    );
    println!(
        "| of which inside the authenticator | {} | SoftToken makeCredential + exclude probe |",
        ms(median(auth_shares))
    );
    println!(
        "| **app overhead per enrollment** | **{}** | total − sandbox − authenticator (target < 20 ms) |",
        ms(median(overheads))
    );
    if have_bin {
        println!(
            "| CLI start-up (`passkeys --version`) | {} | new process |",
            ms(median(startup))
        );
        println!("| cold `passkeys list` | {} | new process: config, discovery + JWKS, token file, one API call |", ms(median(cold_list)));
    } else {
        println!("| CLI start-up / cold list | n/a | build {bin} first (scripts/bench.sh does) |");
    }
    sandbox.shutdown().await;
}
