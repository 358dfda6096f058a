//! A hostile server (issue 12, part A): a small HTTP server of its own answers with each bad
//! value; every run must end with a clear error, nothing sent where it must not go (no request
//! to another server, nothing handed to the browser or shown), and nothing lost.
//!
//! Items: 1 (registration links), 4 (reply sizes), 5 (discovery endpoints on the issuer's
//! origin). Huge bodies are streamed, never held in memory by the test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use passkeys_core::browser::{Browser, FnBrowser};
use passkeys_core::config::parse_issuer;
use passkeys_core::link_enroll::enroll_via_link;
use passkeys_core::oidc::{Oidc, SignInOptions};
use passkeys_core::zitadel::{http_client, AccessTokenSource, ZitadelClient};
use passkeys_core::{Error, Secret};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the server answers.
#[derive(Clone)]
enum Reply {
    /// A JSON body with this status.
    Json(u16, String),
    /// 400 MB of JSON whitespace, streamed without `Content-Length` (or with it when `announce`).
    Huge { announce: bool },
}

const HUGE: u64 = 400_000_000;

type Route = dyn Fn(&str, &str, &str) -> Reply + Send + Sync;

/// A server at `base` that records every request (`METHOD /path`) and how many body bytes it
/// sent.
struct Server {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
    sent: Arc<AtomicU64>,
}

impl Server {
    async fn start(route: Arc<Route>) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicU64::new(0));
        let (b, s, n) = (base.clone(), seen.clone(), sent.clone());
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (b, s, n, route) = (b.clone(), s.clone(), n.clone(), route.clone());
                tokio::spawn(async move {
                    let _ = handle(sock, &b, &s, &n, &*route).await;
                });
            }
        });
        Server { base, seen, sent }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }
}

async fn handle(
    mut sock: tokio::net::TcpStream,
    base: &str,
    seen: &Mutex<Vec<String>>,
    sent: &AtomicU64,
    route: &Route,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let target = words.next().unwrap_or_default().to_string();
    let path = target.split('?').next().unwrap_or_default().to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    sock.read_exact(&mut body).await?;
    seen.lock().unwrap().push(format!("{method} {path}"));
    match route(&method, &path, base) {
        Reply::Json(status, text) => {
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            sock.write_all(reply.as_bytes()).await?;
        }
        Reply::Huge { announce } => {
            let length = if announce {
                format!("Content-Length: {HUGE}\r\n")
            } else {
                String::new()
            };
            sock.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n").as_bytes(),
            )
            .await?;
            let chunk = vec![b' '; 64 * 1024];
            while sent.load(Ordering::SeqCst) < HUGE {
                sock.write_all(&chunk).await?;
                sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
        }
    }
    Ok(())
}

/// A discovery document with every endpoint on `base`, then `changes` applied.
fn discovery(base: &str, changes: &[(&str, &str)]) -> String {
    let mut v = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth/v2/authorize"),
        "token_endpoint": format!("{base}/oauth/v2/token"),
        "introspection_endpoint": format!("{base}/oauth/v2/introspect"),
        "userinfo_endpoint": format!("{base}/oidc/v1/userinfo"),
        "revocation_endpoint": format!("{base}/oauth/v2/revoke"),
        "end_session_endpoint": format!("{base}/oidc/v1/end_session"),
        "device_authorization_endpoint": format!("{base}/oauth/v2/device_authorization"),
        "jwks_uri": format!("{base}/oauth/v2/keys"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA", "RS256"],
    });
    for (k, val) in changes {
        v[*k] = json!(val);
    }
    v.to_string()
}

/// A well-behaved OpenID provider at `base`, except for what `special` answers.
fn provider(special: impl Fn(&str, &str) -> Option<Reply> + Send + Sync + 'static) -> Arc<Route> {
    Arc::new(move |method: &str, path: &str, base: &str| {
        if let Some(r) = special(method, path) {
            return r;
        }
        match path {
            "/.well-known/openid-configuration" => Reply::Json(200, discovery(base, &[])),
            "/oauth/v2/keys" => Reply::Json(200, r#"{"keys":[]}"#.into()),
            _ => Reply::Json(404, r#"{"code":5,"message":"Not Found"}"#.into()),
        }
    })
}

async fn discover(base: &str) -> Result<Oidc, Error> {
    Oidc::discover(
        &parse_issuer(base).unwrap(),
        "client-1",
        http_client().unwrap(),
    )
    .await
}

/// Bytes a client may let through before it stops reading: its limit plus what the kernel's
/// socket buffers on both sides absorb. Far below the 400 MB offered.
const READ_BOUND: u64 = 48 * 1024 * 1024;

fn assert_too_large(e: &Error, endpoint: &str, kib: usize) {
    assert_eq!(e.code(), "response_too_large", "{e}");
    let text = e.to_string();
    assert!(text.contains(endpoint), "{text}");
    assert!(text.contains(&format!("{kib} KiB")), "{text}");
}

// ---- item 4: reply sizes ----------------------------------------------------------------

#[tokio::test]
async fn discovery_document_of_400_mb_is_refused_after_64_kib() {
    let server = Server::start(provider(|_, p| {
        (p == "/.well-known/openid-configuration").then_some(Reply::Huge { announce: false })
    }))
    .await;
    let e = discover(&server.base).await.unwrap_err();
    assert_too_large(&e, "discovery document", 64);
    assert!(server.sent() < READ_BOUND, "{} bytes sent", server.sent());
}

#[tokio::test]
async fn discovery_document_announcing_400_mb_is_refused_before_reading() {
    let server = Server::start(provider(|_, p| {
        (p == "/.well-known/openid-configuration").then_some(Reply::Huge { announce: true })
    }))
    .await;
    let e = discover(&server.base).await.unwrap_err();
    assert_too_large(&e, "discovery document", 64);
    assert!(server.sent() < READ_BOUND, "{} bytes sent", server.sent());
}

#[tokio::test]
async fn jwks_of_400_mb_is_refused_after_256_kib() {
    let server = Server::start(provider(|_, p| {
        (p == "/oauth/v2/keys").then_some(Reply::Huge { announce: false })
    }))
    .await;
    let e = discover(&server.base).await.unwrap_err();
    assert_too_large(&e, "jwks_uri", 256);
    assert!(server.sent() < READ_BOUND, "{} bytes sent", server.sent());
}

/// The browser a person would use: follows the authorization URL straight back to the loopback
/// redirect with a code (the hostile server "signed them in").
fn browser_returning_a_code() -> FnBrowser {
    FnBrowser::new(|authorize: String| async move {
        let url = url::Url::parse(&authorize).unwrap();
        let get = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.to_string())
                .unwrap()
        };
        let mut back = url::Url::parse(&get("redirect_uri")).unwrap();
        back.query_pairs_mut()
            .append_pair("code", "code-1")
            .append_pair("state", &get("state"));
        let _ = reqwest::get(back).await;
    })
}

#[tokio::test]
async fn token_reply_of_400_mb_is_refused_after_64_kib() {
    let server = Server::start(provider(|_, p| {
        (p == "/oauth/v2/token").then_some(Reply::Huge { announce: false })
    }))
    .await;
    let oidc = discover(&server.base).await.unwrap();
    let e = oidc
        .sign_in(
            &browser_returning_a_code(),
            &SignInOptions::new(Duration::from_secs(30)),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_too_large(&e, "token endpoint", 64);
    assert!(server.sent() < READ_BOUND, "{} bytes sent", server.sent());
}

#[tokio::test]
async fn refresh_reply_of_400_mb_is_refused_after_64_kib() {
    let server = Server::start(provider(|_, p| {
        (p == "/oauth/v2/token").then_some(Reply::Huge { announce: true })
    }))
    .await;
    let oidc = discover(&server.base).await.unwrap();
    let e = oidc.refresh(&Secret::new("rt")).await.unwrap_err();
    assert_too_large(&e, "token endpoint", 64);
}

/// Nothing lost: a refresh that fails on an oversized reply keeps the stored session (the
/// refresh token may still be good), and no API call is made with the stale token.
#[tokio::test]
async fn refresh_reply_of_400_mb_keeps_the_stored_session() {
    use passkeys_core::session::Session;
    use passkeys_core::tokens::{store_key, MemoryStore, TokenSet, TokenStore};
    let dir = tempfile::tempdir().unwrap();
    // The refresh lock lives in the state directory.
    std::env::set_var("PASSKEYS_STATE_DIR", dir.path());
    let server = Server::start(provider(|_, p| {
        (p == "/oauth/v2/token").then_some(Reply::Huge { announce: false })
    }))
    .await;
    let oidc = discover(&server.base).await.unwrap();
    let store = Arc::new(MemoryStore::default());
    let key = store_key(&server.base, "client-1");
    store
        .save(
            &key,
            &TokenSet {
                access_token: Secret::new("old-access"),
                refresh_token: Some(Secret::new("refresh-1")),
                id_token: None,
                expires_at: Some(0),
                scope: None,
            },
        )
        .unwrap();
    let session = Session::resume(oidc, store.clone()).unwrap();
    let e = session
        .zitadel(http_client().unwrap())
        .list_passkeys()
        .await
        .unwrap_err();
    assert_too_large(&e, "token endpoint", 64);
    let kept = store.load(&key).unwrap().expect("the session is kept");
    assert_eq!(kept.refresh_token.unwrap().expose(), "refresh-1");
    assert_eq!(kept.access_token.expose(), "old-access");
    assert!(
        !server.seen().iter().any(|r| r.contains("/auth/v1/")),
        "{:?}",
        server.seen()
    );
}

#[tokio::test]
async fn userinfo_reply_of_400_mb_is_refused_after_64_kib() {
    // Sign-in reads userinfo only after a valid ID token; the read itself is the shared capped
    // reader with the userinfo limit, tried here against the endless body.
    let server = Server::start(provider(|_, p| {
        (p == "/oidc/v1/userinfo").then_some(Reply::Huge { announce: false })
    }))
    .await;
    let resp = http_client()
        .unwrap()
        .get(format!("{}/oidc/v1/userinfo", server.base))
        .send()
        .await
        .unwrap();
    let e = passkeys_core::http::read_capped(resp, passkeys_core::http::USERINFO)
        .await
        .unwrap_err()
        .into_error("userinfo");
    assert_too_large(&e, "userinfo endpoint", 64);
    assert!(server.sent() < READ_BOUND, "{} bytes sent", server.sent());
}

struct StaticToken;

#[async_trait]
impl AccessTokenSource for StaticToken {
    async fn access_token(&self) -> passkeys_core::Result<Secret> {
        Ok(Secret::new("at"))
    }
    async fn refresh_after_unauthorized(&self, _: &Secret) -> passkeys_core::Result<Secret> {
        Err(Error::SessionExpired)
    }
}

fn api(base: &str) -> ZitadelClient {
    ZitadelClient::new(
        url::Url::parse(base).unwrap(),
        http_client().unwrap(),
        Arc::new(StaticToken),
    )
}

#[tokio::test]
async fn api_reply_of_400_mb_is_refused_after_4_mib() {
    let server = Server::start(Arc::new(|_: &str, _: &str, _: &str| Reply::Huge {
        announce: false,
    }))
    .await;
    let e = api(&server.base).list_passkeys().await.unwrap_err();
    assert_too_large(&e, "ZITADEL API", 4096);
    assert!(server.sent() < READ_BOUND, "{} bytes sent", server.sent());
}

#[tokio::test]
async fn api_error_body_of_400_mb_is_refused_too() {
    let server = Server::start(Arc::new(|_: &str, _: &str, _: &str| Reply::Huge {
        announce: true,
    }))
    .await;
    let e = api(&server.base).get_my_user().await.unwrap_err();
    assert_too_large(&e, "ZITADEL API", 4096);
}

// ---- item 5: discovery endpoints on the issuer's origin ---------------------------------

/// A document whose `endpoint` points to another server (a second local server, which must get
/// nothing) is refused, naming the endpoint.
async fn endpoint_elsewhere_is_refused(endpoint: &'static str) {
    let elsewhere = Server::start(Arc::new(|_: &str, _: &str, _: &str| {
        Reply::Json(200, r#"{"keys":[]}"#.into())
    }))
    .await;
    let other = format!("{}/stolen", elsewhere.base);
    let server = Server::start(Arc::new(
        move |_: &str, path: &str, base: &str| match path {
            "/.well-known/openid-configuration" => {
                Reply::Json(200, discovery(base, &[(endpoint, other.as_str())]))
            }
            _ => Reply::Json(200, r#"{"keys":[]}"#.into()),
        },
    ))
    .await;
    let e = discover(&server.base)
        .await
        .expect_err("a document with an endpoint elsewhere must be refused");
    assert_eq!(e.code(), "discovery_failed", "{e}");
    let text = e.to_string();
    assert!(text.contains(endpoint), "{text}");
    assert!(text.contains(&elsewhere.base), "{text}");
    assert!(elsewhere.seen().is_empty(), "{:?}", elsewhere.seen());
}

#[tokio::test]
async fn discovery_with_jwks_uri_on_another_server_is_refused_before_fetching_it() {
    endpoint_elsewhere_is_refused("jwks_uri").await;
}

#[tokio::test]
async fn discovery_with_revocation_endpoint_on_another_server_is_refused() {
    endpoint_elsewhere_is_refused("revocation_endpoint").await;
}

#[tokio::test]
async fn discovery_with_token_endpoint_on_another_server_is_refused() {
    endpoint_elsewhere_is_refused("token_endpoint").await;
}

#[tokio::test]
async fn discovery_with_authorization_endpoint_on_another_server_is_refused() {
    endpoint_elsewhere_is_refused("authorization_endpoint").await;
}

#[tokio::test]
async fn discovery_with_userinfo_endpoint_on_another_server_is_refused() {
    endpoint_elsewhere_is_refused("userinfo_endpoint").await;
}

#[tokio::test]
async fn discovery_with_end_session_endpoint_on_another_server_is_refused() {
    endpoint_elsewhere_is_refused("end_session_endpoint").await;
}

#[tokio::test]
async fn discovery_with_device_endpoint_on_another_server_is_refused() {
    endpoint_elsewhere_is_refused("device_authorization_endpoint").await;
}

#[tokio::test]
async fn discovery_with_an_endpoint_on_an_https_site_elsewhere_is_refused() {
    let server = Server::start(Arc::new(|_: &str, path: &str, base: &str| match path {
        "/.well-known/openid-configuration" => Reply::Json(
            200,
            discovery(
                base,
                &[("revocation_endpoint", "https://evil.example/revoke")],
            ),
        ),
        _ => Reply::Json(200, r#"{"keys":[]}"#.into()),
    }))
    .await;
    let e = discover(&server.base).await.unwrap_err();
    assert_eq!(e.code(), "discovery_failed");
    let text = e.to_string();
    assert!(
        text.contains("revocation_endpoint") && text.contains("https://evil.example"),
        "{text}"
    );
    // Only the document was read: not even the keys.
    assert_eq!(
        server.seen(),
        vec!["GET /.well-known/openid-configuration".to_string()]
    );
}

// ---- item 1: registration links -----------------------------------------------------------

/// A browser that records what it was asked to open.
#[derive(Default, Clone)]
struct RecordingBrowser(Arc<Mutex<Vec<String>>>);

#[async_trait]
impl Browser for RecordingBrowser {
    async fn open(&self, url: &str) -> passkeys_core::Result<()> {
        self.0.lock().unwrap().push(url.to_string());
        Ok(())
    }
}

/// The server answers AddMyPasswordlessLink with `link`; `passkeys add --authenticator platform`
/// (enroll_via_link) and `passkeys link` (add_passkey_link) must both refuse it with a message
/// naming `target`, and nothing reaches the browser or the screen.
async fn link_is_refused(link: &'static str, target: &'static str) {
    let server = Server::start(Arc::new(move |_: &str, path: &str, _: &str| match path {
        "/auth/v1/users/me/passwordless/_search" => Reply::Json(200, "{}".into()),
        "/auth/v1/users/me/passwordless/_link" => Reply::Json(
            200,
            json!({"link": link, "expiration": "3600s"}).to_string(),
        ),
        _ => Reply::Json(404, "{}".into()),
    }))
    .await;
    let api = api(&server.base);
    let browser = RecordingBrowser::default();
    let shown = Arc::new(Mutex::new(Vec::new()));
    let s = shown.clone();
    let e = enroll_via_link(
        &api,
        &browser,
        Duration::from_millis(10),
        Duration::from_secs(5),
        &move |l| s.lock().unwrap().push(l.link.clone()),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "untrusted_link", "{link}: {e}");
    let text = e.to_string();
    assert!(text.contains(target), "{link}: {text}");
    assert!(text.contains(&server.base), "names the instance: {text}");
    assert!(
        browser.0.lock().unwrap().is_empty(),
        "{link} reached the browser"
    );
    assert!(shown.lock().unwrap().is_empty(), "{link} was shown");
    let e = api.add_passkey_link().await.unwrap_err();
    assert_eq!(e.code(), "untrusted_link", "{link}: {e}");
}

#[tokio::test]
async fn registration_link_to_a_local_file_is_refused() {
    link_is_refused("file:///etc/passwd", "a file: URL").await;
}

#[tokio::test]
async fn registration_link_with_javascript_is_refused() {
    link_is_refused("javascript:alert(1)", "a javascript: URL").await;
}

#[tokio::test]
async fn registration_link_to_a_windows_share_is_refused() {
    link_is_refused("smb://x/y", "smb://x").await;
}

#[tokio::test]
async fn registration_link_to_another_site_is_refused() {
    link_is_refused(
        "https://evil.example/ui/login/login/passwordless/init?code=1",
        "https://evil.example",
    )
    .await;
}

#[tokio::test]
async fn registration_link_that_is_a_browser_flag_is_refused() {
    link_is_refused("--renderer-cmd-prefix=/bin/sh -c id", "no site").await;
}

#[tokio::test]
async fn relative_registration_link_is_refused() {
    link_is_refused("/ui/login/login/passwordless/init?code=1", "no site").await;
}

#[tokio::test]
async fn plain_http_registration_link_to_another_loopback_port_is_refused() {
    link_is_refused("http://127.0.0.1:1/ui/login", "http://127.0.0.1:1").await;
}

#[tokio::test]
async fn registration_link_on_the_instance_is_opened_reserialised() {
    let server =
        Server::start(Arc::new(move |_: &str, path: &str, base: &str| {
            match path {
        "/auth/v1/users/me/passwordless/_search" => Reply::Json(200, "{}".into()),
        "/auth/v1/users/me/passwordless/_link" => Reply::Json(
            200,
            json!({"link": format!("{base}/ui/login/login/passwordless/init?userID=1&code=a b")})
                .to_string(),
        ),
        _ => Reply::Json(404, "{}".into()),
    }
        }))
        .await;
    let browser = RecordingBrowser::default();
    let e = enroll_via_link(
        &api(&server.base),
        &browser,
        Duration::from_millis(10),
        Duration::from_millis(50),
        &|_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "authenticator_timeout", "{e}");
    assert_eq!(
        *browser.0.lock().unwrap(),
        vec![format!(
            "{}/ui/login/login/passwordless/init?userID=1&code=a%20b",
            server.base
        )]
    );
}
