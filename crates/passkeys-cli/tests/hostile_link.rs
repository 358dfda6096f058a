//! The real `passkeys` binary against a hostile server that answers AddMyPasswordlessLink with a
//! link that is not on the instance's site (issue 12, item 1): `passkeys link` prints neither the
//! link nor a QR code, `passkeys add --authenticator platform` opens no browser, and both end with
//! a clear error naming where the link pointed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::path::Path;
use std::sync::Arc;

use passkeys_core::tokens::{store_key, FileStore, TokenSet, TokenStore};
use passkeys_core::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_passkeys");
const CLIENT: &str = "client-1";

/// A server at the returned base URL: a well-formed OpenID provider and Auth API whose
/// AddMyPasswordlessLink answers `link`.
async fn hostile_instance(link: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let b = base.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let base = b.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if sock.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                let mut body = vec![0u8; length];
                let _ = sock.read_exact(&mut body).await;
                let path = head.split_whitespace().nth(1).unwrap_or_default();
                let (status, text) = match path {
                    "/.well-known/openid-configuration" => (
                        200,
                        serde_json::json!({
                            "issuer": base,
                            "authorization_endpoint": format!("{base}/oauth/v2/authorize"),
                            "token_endpoint": format!("{base}/oauth/v2/token"),
                            "userinfo_endpoint": format!("{base}/oidc/v1/userinfo"),
                            "revocation_endpoint": format!("{base}/oauth/v2/revoke"),
                            "end_session_endpoint": format!("{base}/oidc/v1/end_session"),
                            "jwks_uri": format!("{base}/oauth/v2/keys"),
                            "response_types_supported": ["code"],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"],
                        })
                        .to_string(),
                    ),
                    "/oauth/v2/keys" => (200, r#"{"keys":[]}"#.to_string()),
                    "/auth/v1/users/me/passwordless/_search" => (200, "{}".to_string()),
                    "/auth/v1/users/me/passwordless/_link" => (
                        200,
                        serde_json::json!({"link": link, "expiration": "3600s"}).to_string(),
                    ),
                    _ => (404, r#"{"code":5,"message":"Not Found"}"#.to_string()),
                };
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    base
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `passkeys` signed in (a stored access token) at `base`, with a `$BROWSER` that records
/// what it is given in `dir/opened`.
async fn run(base: &str, dir: &Path, args: &[&str]) -> Run {
    let state = dir.join("state");
    let store: Arc<dyn TokenStore> = Arc::new(FileStore::new(state.join("tokens")));
    store
        .save(
            &store_key(base, CLIENT),
            &TokenSet {
                access_token: Secret::new("access-token-1"),
                refresh_token: None,
                id_token: None,
                expires_at: Some(time_now() + 3600),
                scope: None,
            },
        )
        .unwrap();
    let recorder = dir.join("browser.sh");
    std::fs::write(
        &recorder,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\n",
            dir.join("opened").display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&recorder, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = tokio::process::Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("PASSKEYS_ISSUER", base)
        .env("PASSKEYS_CLIENT_ID", CLIENT)
        .env("PASSKEYS_TOKEN_STORE", "file")
        .env("PASSKEYS_STATE_DIR", &state)
        .env("PASSKEYS_CONFIG", dir.join("no-config.toml"))
        .env("BROWSER", &recorder)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Both commands refuse `link` (which points to `target`), print neither it nor a QR code, and
/// start no browser.
async fn refused(link: &'static str, target: &str) {
    let base = hostile_instance(link).await;
    let dir = tempfile::tempdir().unwrap();
    for args in [&["link"][..], &["add", "--authenticator", "platform"][..]] {
        let r = run(&base, dir.path(), args).await;
        assert_ne!(r.code, 0, "{args:?}: {}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("refusing the link the server sent") && r.stderr.contains(target),
            "{args:?}: {}",
            r.stderr
        );
        for text in [&r.stdout, &r.stderr] {
            assert!(
                !text.contains(link),
                "{args:?}: the link was printed: {text}"
            );
            assert!(
                !text.contains('█') && !text.contains('▀'),
                "{args:?}: a QR code was drawn"
            );
        }
        assert!(
            !dir.path().join("opened").exists(),
            "{args:?}: the browser was started with {:?}",
            std::fs::read_to_string(dir.path().join("opened"))
        );
    }
    let r = run(&base, dir.path(), &["--json", "link"]).await;
    let v: serde_json::Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr));
    assert_eq!(v["error"]["code"], "untrusted_link", "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_refuses_a_registration_link_to_a_local_file() {
    refused("file:///etc/passwd", "a file: URL").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_refuses_a_registration_link_that_is_a_browser_flag() {
    refused("--renderer-cmd-prefix=/bin/sh -c id", "no site").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_refuses_a_registration_link_to_another_site() {
    refused(
        "https://evil.example/ui/login/login/passwordless/init?code=1",
        "https://evil.example",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_refuses_a_javascript_registration_link() {
    refused("javascript:alert(1)", "a javascript: URL").await;
}
