//! Interop (issue 7): the real `passkeys` binary against a certified OpenID provider, the npm
//! package `oidc-provider` (tests/interop/node/provider.mjs), run on loopback with a native
//! public client, PKCE S256 required and rotating refresh tokens. The $BROWSER stand-in
//! (tests/interop/node/browser.mjs) completes the provider's login and consent pages.
//!
//! Judged by oidc-provider: the authorization request (PKCE, loopback redirect URI with any
//! port), the code exchange, refresh with rotation, and RFC 7009 revocation. Judged by the app:
//! ID tokens that oidc-provider signed and that were then tampered with, or that carry a nonce
//! the app did not send, must be refused.
//!
//! Needs Node and `npm ci` in tests/interop/node; runs only with PASSKEYS_INTEROP=1
//! (scripts/test.d/30-interop.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod interop_support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use interop_support::{enabled, node_dir, run, Run};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

const BIN: &str = env!("CARGO_BIN_EXE_passkeys");
const LIMIT: Duration = Duration::from_secs(60);

/// One oidc-provider process; killed when dropped (and it exits when its stdin closes).
struct Provider {
    _child: tokio::process::Child,
    issuer: String,
    client_id: String,
    stderr: PathBuf,
}

impl Provider {
    async fn start(dir: &std::path::Path, args: &[&str]) -> Provider {
        let stderr = dir.join("provider.stderr");
        let mut child = tokio::process::Command::new("node")
            .arg(node_dir().join("provider.mjs"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("node is installed");
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "oidc-provider did not start: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                )
            })
            .unwrap()
            .unwrap_or_else(|| {
                panic!(
                    "oidc-provider exited: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                )
            });
        let hello: Value = serde_json::from_str(&line).unwrap();
        Provider {
            _child: child,
            issuer: hello["issuer"].as_str().unwrap().to_string(),
            client_id: hello["client_id"].as_str().unwrap().to_string(),
            stderr,
        }
    }

    /// What the provider saw: `[{type, grant_type?, ...}]` in order.
    async fn events(&self) -> Vec<Value> {
        http()
            .get(format!("{}/__interop/events", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn count(&self, kind: &str, grant_type: Option<&str>) -> usize {
        self.events()
            .await
            .iter()
            .filter(|e| e["type"] == kind)
            .filter(|e| grant_type.is_none_or(|g| e["grant_type"] == g))
            .count()
    }

    /// A refresh-token grant straight at the provider's token endpoint.
    async fn refresh_directly(&self, refresh_token: &str) -> (u16, Value) {
        let r = http()
            .post(format!("{}/token", self.issuer))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", self.client_id.as_str()),
            ])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Whether the provider's token store still honours `access_token` (at the ZITADEL-shaped
    /// resource endpoint that provider.mjs serves).
    async fn access_token_valid(&self, access_token: &str) -> bool {
        let r = http()
            .get(format!("{}/auth/v1/users/me", self.issuer))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        r.status().is_success()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

struct Env {
    dir: tempfile::TempDir,
    provider: Provider,
    browser: String,
}

impl Env {
    /// A provider with `provider_args`; the browser stand-in gets `browser_args`.
    async fn new(provider_args: &[&str], browser_args: &[&str]) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let provider = Provider::start(dir.path(), provider_args).await;
        let script = node_dir().join("browser.mjs");
        let script = script.to_str().unwrap();
        // $BROWSER entries are split on whitespace.
        assert!(!script.contains(char::is_whitespace), "{script}");
        let mut browser = format!("node {script}");
        for a in browser_args {
            browser.push(' ');
            browser.push_str(a);
        }
        Env {
            dir,
            provider,
            browser,
        }
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    async fn run(&self, args: &[&str]) -> Run {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.args(["--issuer", &self.provider.issuer])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("PASSKEYS_CLIENT_ID", &self.provider.client_id)
            .env("PASSKEYS_TOKEN_STORE", "file")
            .env("PASSKEYS_STATE_DIR", self.state_dir())
            .env("PASSKEYS_CONFIG", self.dir.path().join("no-config.toml"))
            .env("BROWSER", &self.browser)
            .stdin(Stdio::null());
        let r = run(cmd, LIMIT).await;
        if r.code != 0 {
            eprintln!(
                "passkeys {args:?} exited {}\nstderr: {}\nprovider log: {}",
                r.code,
                r.stderr,
                self.provider.log()
            );
        }
        r
    }

    fn token_files(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.state_dir().join("tokens")) {
            Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// (access token, refresh token) from the file store.
    fn stored(&self) -> (String, String) {
        let files = self.token_files();
        assert_eq!(files.len(), 1, "{files:?}");
        let v: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
        (
            v["access_token"].as_str().unwrap().to_string(),
            v["refresh_token"]
                .as_str()
                .expect("oidc-provider issued a refresh token")
                .to_string(),
        )
    }
}

/// Access tokens live 20 s at the provider, less than the app's 30 s expiry skew, so every
/// command that needs a token refreshes first.
const SHORT_TTL: [&str; 2] = ["--access-token-ttl", "20"];

#[tokio::test(flavor = "multi_thread")]
async fn login_refresh_rotation_and_revocation_against_oidc_provider() {
    if !enabled("login_refresh_rotation_and_revocation_against_oidc_provider") {
        return;
    }
    let env = Env::new(&SHORT_TTL, &[]).await;
    let p = &env.provider;

    // Sign-in: oidc-provider requires PKCE S256 and checks the loopback redirect URI; the app
    // validates the ID token it signed.
    let r = env.run(&["--json", "login", "--timeout", "30"]).await.ok();
    assert_eq!(r.json()["signedIn"], true);
    assert!(
        r.stderr.contains("Signed in as Alice Liddell"),
        "{}",
        r.stderr
    );
    assert_eq!(
        p.count("grant.success", Some("authorization_code")).await,
        1
    );
    let (at0, rt0) = env.stored();

    // Refresh with rotation, through the binary: whoami refreshes (the access token is within
    // the expiry skew), saves the rotated tokens, then uses the new access token.
    let r = env.run(&["whoami"]).await.ok();
    assert!(
        r.stdout.contains("Alice Liddell (alice@example.test)"),
        "{}",
        r.stdout
    );
    assert_eq!(p.count("grant.success", Some("refresh_token")).await, 1);
    let (at1, rt1) = env.stored();
    assert_ne!(
        rt1, rt0,
        "oidc-provider rotates refresh tokens; the new one must be stored"
    );
    assert_ne!(at1, at0);
    assert!(p.access_token_valid(&at1).await);

    let r = env.run(&["whoami"]).await.ok();
    assert!(r.stdout.contains("Alice Liddell"), "{}", r.stdout);
    assert_eq!(p.count("grant.success", Some("refresh_token")).await, 2);
    let (at2, rt2) = env.stored();
    assert_ne!(rt2, rt1);
    assert_eq!(
        p.count("resource.request", None).await,
        3,
        "each whoami used its fresh token once, without a 401 and retry (plus the check above)"
    );

    // Logout: RFC 7009 revocation at oidc-provider, the tokens are forgotten, and the browser's
    // session is ended through oidc-provider's end_session (RP-Initiated Logout 1.0, with the
    // ZITADEL-shaped id_token_hint) with the post-logout redirect back to the app.
    let r = env.run(&["--json", "logout", "--timeout", "20"]).await.ok();
    let report = r.json();
    assert_eq!(report["was_signed_in"], true);
    assert_eq!(report["revoked"], true, "{report}");
    assert_eq!(report["browser"], "confirmed", "{report}\n{}", r.stderr);
    assert!(env.token_files().is_empty());
    assert_eq!(p.count("revocation.error", None).await, 0);
    assert!(
        p.count("grant.revoked", None).await + p.count("refresh_token.destroyed", None).await >= 1,
        "{:?}",
        p.events().await
    );
    // The provider no longer honours either token.
    let (status, body) = p.refresh_directly(&rt2).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(!p.access_token_valid(&at2).await);

    let r = env.run(&["--json", "whoami"]).await.failed();
    assert_eq!(r.error_code(), "not_signed_in");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_replay_ends_the_session_cleanly() {
    if !enabled("a_refresh_token_replay_ends_the_session_cleanly") {
        return;
    }
    let env = Env::new(&SHORT_TTL, &[]).await;
    env.run(&["login", "--timeout", "30"]).await.ok();
    let (_, rt0) = env.stored();
    env.run(&["whoami"]).await.ok();
    // Someone replays the rotated-away refresh token: oidc-provider refuses it and revokes
    // the whole grant, the rotated token included.
    let (status, body) = env.provider.refresh_directly(&rt0).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The app's next refresh gets invalid_grant: it reports an ended session and forgets it.
    let r = env.run(&["--json", "whoami"]).await.failed();
    assert_eq!(r.error_code(), "session_expired");
    assert!(env.token_files().is_empty());
}

/// Signs in against a provider that tampers with the ID token (provider.mjs `--tamper`), or
/// with a browser that changes the nonce; the app must refuse and store nothing.
/// `reason` must appear in the error message.
async fn sign_in_is_refused(provider_args: &[&str], browser_args: &[&str], reason: &str) {
    let env = Env::new(provider_args, browser_args).await;
    let r = env
        .run(&["--json", "login", "--timeout", "30"])
        .await
        .failed();
    assert_eq!(
        r.error_code(),
        "invalid_id_token",
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains(reason), "{message}");
    assert!(env.token_files().is_empty(), "nothing may be stored");
    // The provider did issue the (good) code and tokens: the refusal is the app's.
    assert_eq!(
        env.provider
            .count("grant.success", Some("authorization_code"))
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_with_a_flipped_signature_bit_is_refused() {
    if enabled("an_id_token_with_a_flipped_signature_bit_is_refused") {
        sign_in_is_refused(&["--tamper", "signature"], &[], "signature does not verify").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_with_a_changed_payload_is_refused() {
    if enabled("an_id_token_with_a_changed_payload_is_refused") {
        sign_in_is_refused(&["--tamper", "payload"], &[], "signature does not verify").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_signed_by_a_key_not_in_the_jwks_is_refused() {
    if enabled("an_id_token_signed_by_a_key_not_in_the_jwks_is_refused") {
        sign_in_is_refused(
            &["--tamper", "foreign-key"],
            &[],
            "signature does not verify",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsigned_id_token_is_refused() {
    if enabled("an_unsigned_id_token_is_refused") {
        sign_in_is_refused(&["--tamper", "alg-none"], &[], "signature does not verify").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_for_another_nonce_is_refused() {
    if enabled("an_id_token_for_another_nonce_is_refused") {
        sign_in_is_refused(&[], &["--nonce", "replace"], "nonce").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_without_the_nonce_is_refused() {
    if enabled("an_id_token_without_the_nonce_is_refused") {
        sign_in_is_refused(&[], &["--nonce", "drop"], "nonce").await;
    }
}
