//! The loopback redirect listener for native apps (RFC 8252 §7.3).
//!
//! Binds `127.0.0.1` on an ephemeral port and serves one path, [`CALLBACK_PATH`]. It ignores
//! stray requests (404), answers a response whose `state` does not match with 400 and keeps
//! waiting (the code in it is never used), stops on an `error=` reply, and hands over the first
//! code whose `state` matches.
//!
//! The browser's request that carried the code is answered only when the whole sign-in is over
//! ([`PendingReply::finish`]: code exchanged and ID token checked; at most [`FINAL_PAGE_WAIT`]),
//! so the tab says what really happened. Each answer is a small static HTML page that never
//! echoes anything from the request. After the final page the listener is torn down within
//! [`SHUTDOWN_GRACE`], whatever other connections are open.
//!
//! The same listener serves the return from RP-initiated logout ([`Expect::StateOnly`]: the
//! `post_logout_redirect_uri` carries only `state`; OpenID Connect RP-Initiated Logout 1.0 §3).
//!
//! [`LoopbackListener::start_url`] gives a one-time local address that redirects the browser to
//! a URL the app must not put on a command line (the logout URL carries the ID token as
//! `id_token_hint`; a browser is started with its URL as an argument, which other users of the
//! machine can read in the process list). It answers once, with `Cache-Control: no-store` and
//! `Referrer-Policy: no-referrer`; the address itself holds 128 random bits and nothing else.
//! Another user who reads the address in the process list could still race the browser to it:
//! on Linux it is answered only to a connection whose socket belongs to this user
//! (`/proc/net/tcp`); elsewhere (and where that table cannot tell) that race remains.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Html;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Where [`LoopbackListener::start_url`] addresses live.
pub const START_PATH: &str = "/start";

/// The redirect path registered on the ZITADEL native app (`http://127.0.0.1/callback`), used
/// for both the sign-in redirect and the post-logout redirect.
pub const CALLBACK_PATH: &str = "/callback";

/// How long the browser's request waits for the app to finish the sign-in (code exchange and ID
/// token check) before the tab is told to look at the app instead.
pub const FINAL_PAGE_WAIT: Duration = Duration::from_secs(60);

/// After the final page, how long open connections may take to close before the listener is
/// torn down regardless (a local process holding a half-sent request cannot keep it alive).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What the redirect to the listener carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// An authorization response: `code` (or `error`) and `state` (RFC 6749 §4.1.2).
    Code,
    /// The return from RP-initiated logout: `state` only.
    StateOnly,
}

/// The final word shown in the browser tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalPage {
    /// The sign-in finished: tokens exchanged and the ID token accepted.
    SignedIn,
    /// The browser session was ended (RP-initiated logout).
    SignedOut,
    /// The sign-in failed after the code arrived; the app says why and what to do.
    Failed,
}

impl FinalPage {
    fn render(self) -> (StatusCode, Html<String>) {
        match self {
            FinalPage::SignedIn => (
                StatusCode::OK,
                page(
                    "You are signed in",
                    "Return to Passkey Enroll. You can close this tab.",
                ),
            ),
            FinalPage::SignedOut => (
                StatusCode::OK,
                page(
                    "You are signed out",
                    "The browser session at your ZITADEL instance was ended. Return to Passkey Enroll. You can close this tab.",
                ),
            ),
            FinalPage::Failed => (
                StatusCode::OK,
                page(
                    "Sign-in failed",
                    "The sign-in could not be completed. Return to Passkey Enroll: it says what went wrong and what to do. You can close this tab.",
                ),
            ),
        }
    }
}

type Outcome = std::result::Result<Secret, Error>;
type Delivery = (Outcome, Option<oneshot::Sender<FinalPage>>);

struct Shared {
    /// The listener's own address (the far end of a connecting socket).
    local: Option<std::net::SocketAddr>,
    expected_state: Secret,
    expect: Expect,
    tx: Mutex<Option<mpsc::Sender<Delivery>>>,
    /// The one-time start address's random part and where it sends the browser.
    start: Mutex<Option<(Secret, Secret)>>,
}

/// A bound listener waiting for the authorization response.
pub struct LoopbackListener {
    listener: tokio::net::TcpListener,
    redirect_uri: String,
    start: Option<(Secret, Secret)>,
}

impl std::fmt::Debug for LoopbackListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackListener")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} – Passkey Enroll</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem}}</style></head>\
         <body><h1>{title}</h1><p>{body}</p></body></html>"
    ))
}

/// Longest query string the listener reads (a code, a state and an error description fit
/// easily); longer requests get 414 and are ignored.
pub const MAX_QUERY_BYTES: usize = 4096;

/// What the listener makes of one request to the callback path.
#[derive(Debug)]
pub enum CallbackVerdict {
    /// Not for this sign-in (wrong or missing `state`, or no code and no error): answered with
    /// 400 and ignored; the listener keeps waiting.
    Ignore(&'static str),
    /// The authorization response: a code (with the matching state) or an error.
    Finish(std::result::Result<Secret, Error>),
}

/// Classifies the query of a callback request (RFC 6749 §4.1.2, §4.1.2.1; RFC 8252 §8.9).
/// Pure: the listener and the fuzz target share it.
pub fn classify_callback(query: &str, expected_state: &str) -> CallbackVerdict {
    classify_redirect(query, expected_state, Expect::Code)
}

/// [`classify_callback`] for either kind of redirect: with [`Expect::StateOnly`] a matching
/// `state` alone finishes (the secret handed over is empty).
pub fn classify_redirect(query: &str, expected_state: &str, expect: Expect) -> CallbackVerdict {
    if query.len() > MAX_QUERY_BYTES {
        return CallbackVerdict::Ignore("the request is too long");
    }
    let mut state = None;
    let mut code = None;
    let mut error = None;
    let mut description = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "state" => &mut state,
            "code" => &mut code,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        if slot.is_some() {
            return CallbackVerdict::Ignore("a parameter is repeated");
        }
        *slot = Some(v.into_owned());
    }
    if state.as_deref() != Some(expected_state) || expected_state.is_empty() {
        return CallbackVerdict::Ignore("the state does not match this sign-in");
    }
    if let Some(error) = error {
        let hint = if error == "invalid_request" {
            "If the server says the redirect_uri is missing, register http://127.0.0.1/callback on a Native app in ZITADEL"
        } else {
            "Try signing in again"
        };
        return CallbackVerdict::Finish(Err(Error::AuthorizationFailed {
            error,
            description,
            hint,
        }));
    }
    match (expect, code.filter(|c| !c.is_empty())) {
        (Expect::StateOnly, _) => CallbackVerdict::Finish(Ok(Secret::new(String::new()))),
        (Expect::Code, Some(code)) => CallbackVerdict::Finish(Ok(Secret::new(code))),
        (Expect::Code, None) => {
            CallbackVerdict::Ignore("the response has neither a code nor an error")
        }
    }
}

/// Whether the TCP connection from `peer` to `local` (this listener) belongs to this user:
/// `Some(false)` for another user's process, `None` when the system cannot tell.
pub fn peer_is_this_user(peer: std::net::SocketAddr, local: std::net::SocketAddr) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        let entry = procfs::net::tcp()
            .ok()?
            .into_iter()
            .find(|e| e.local_address == peer && e.remote_address == local)?;
        Some(entry.uid == rustix::process::getuid().as_raw())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (peer, local);
        None
    }
}

async fn start(
    State(shared): State<Arc<Shared>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    axum::extract::Path(nonce): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if shared
        .local
        .and_then(|local| peer_is_this_user(peer, local))
        == Some(false)
    {
        tracing::warn!(
            "another user's process asked for the one-time sign-out address; it was refused"
        );
        return not_found().into_response();
    }
    let mut slot = shared.start.lock().await;
    let target = match slot.take() {
        Some((n, target)) if n.expose() == nonce => target,
        Some(kept) => {
            *slot = Some(kept);
            return not_found().into_response();
        }
        None => {
            tracing::warn!("the one-time sign-out address was asked for again (someone else may have opened it first)");
            return not_found().into_response();
        }
    };
    (
        StatusCode::SEE_OTHER,
        [
            (axum::http::header::LOCATION, target.expose().to_string()),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
            (
                axum::http::header::REFERRER_POLICY,
                "no-referrer".to_string(),
            ),
        ],
    )
        .into_response()
}

fn not_found() -> (StatusCode, Html<String>) {
    (StatusCode::NOT_FOUND, page("Not found", "Nothing here."))
}

async fn callback(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> (StatusCode, Html<String>) {
    let query = query.unwrap_or_default();
    let outcome = match classify_redirect(&query, shared.expected_state.expose(), shared.expect) {
        CallbackVerdict::Ignore(why) => {
            tracing::warn!("ignored a request to the sign-in callback: {why}");
            let status = if query.len() > MAX_QUERY_BYTES {
                StatusCode::URI_TOO_LONG
            } else {
                StatusCode::BAD_REQUEST
            };
            return (
                status,
                page(
                    "This link is not for this attempt",
                    "The response does not belong to what Passkey Enroll is waiting for, so it was ignored. Go back to the app and start again if needed.",
                ),
            );
        }
        CallbackVerdict::Finish(outcome) => outcome,
    };
    let Some(tx) = shared.tx.lock().await.take() else {
        return (
            StatusCode::BAD_REQUEST,
            page(
                "Already answered",
                "Passkey Enroll already has its answer. Return to the app. You can close this tab.",
            ),
        );
    };
    if outcome.is_err() {
        let _ = tx.send((outcome, None)).await;
        return (
            StatusCode::OK,
            page(
                "Sign-in refused",
                "The server refused the sign-in. Return to Passkey Enroll: it says why and what to do. You can close this tab.",
            ),
        );
    }
    let (final_tx, final_rx) = oneshot::channel();
    if tx.send((outcome, Some(final_tx))).await.is_err() {
        return FinalPage::Failed.render();
    }
    match tokio::time::timeout(FINAL_PAGE_WAIT, final_rx).await {
        Ok(Ok(page)) => page.render(),
        _ => FinalPage::Failed.render(),
    }
}

/// The listener after the matching response arrived: the browser waits for [`Self::finish`].
/// Dropping it without `finish` shows "Sign-in failed" and tears the listener down.
pub struct PendingReply {
    final_tx: Option<oneshot::Sender<FinalPage>>,
    stop_tx: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for PendingReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingReply").finish_non_exhaustive()
    }
}

impl PendingReply {
    /// Shows `page` in the browser tab, then closes the listener (waiting at most
    /// [`SHUTDOWN_GRACE`] for open connections).
    pub async fn finish(mut self, page: FinalPage) {
        if let Some(tx) = self.final_tx.take() {
            let _ = tx.send(page);
        }
        self.stop().await;
    }

    async fn stop(&mut self) {
        if let Some(stop) = self.stop_tx.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, server).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for PendingReply {
    fn drop(&mut self) {
        if let Some(stop) = self.stop_tx.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            // Give the failure page a moment to go out, then end the task whatever holds it.
            tokio::spawn(async move {
                let abort = server.abort_handle();
                if tokio::time::timeout(SHUTDOWN_GRACE, server).await.is_err() {
                    abort.abort();
                }
            });
        }
    }
}

impl LoopbackListener {
    /// Binds `127.0.0.1:0`.
    pub async fn bind() -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| {
                Error::Config(format!(
                    "cannot open a local port for the sign-in redirect: {e}"
                ))
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Config(format!("cannot read the local port: {e}")))?
            .port();
        Ok(Self {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}{CALLBACK_PATH}"),
            start: None,
        })
    }

    /// A one-time local address (`http://127.0.0.1:PORT/start/<random>`) that sends the browser
    /// on to `target` while the listener waits ([`Self::wait_for`]): open the browser on it
    /// instead of on `target` when `target` carries something that must not appear in the
    /// process list. A second request to it gets 404.
    pub fn start_url(&mut self, target: Secret) -> String {
        let nonce = openidconnect::CsrfToken::new_random().secret().clone();
        let port = self.listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let url = format!("http://127.0.0.1:{port}{START_PATH}/{nonce}");
        self.start = Some((Secret::new(nonce), target));
        url
    }

    /// The `redirect_uri` built from the address actually bound; reuse it byte for byte in
    /// the token request.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Serves until a response with the expected `state` arrives or `timeout` passes. A code is
    /// handed over with the browser still waiting: answer it with [`PendingReply::finish`].
    ///
    /// # Errors
    /// [`Error::SignInTimedOut`], or [`Error::AuthorizationFailed`] for an `error=` reply.
    pub async fn wait_for_code(
        self,
        expected_state: Secret,
        timeout: Duration,
    ) -> Result<(Secret, PendingReply)> {
        self.wait_for(expected_state, Expect::Code, timeout).await
    }

    /// [`Self::wait_for_code`] for either kind of redirect.
    pub async fn wait_for(
        self,
        expected_state: Secret,
        expect: Expect,
        timeout: Duration,
    ) -> Result<(Secret, PendingReply)> {
        let (tx, mut rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            local: self.listener.local_addr().ok(),
            expected_state,
            expect,
            tx: Mutex::new(Some(tx)),
            start: Mutex::new(self.start),
        });
        let app = axum::Router::new()
            .route(CALLBACK_PATH, axum::routing::get(callback))
            .route(
                &format!("{START_PATH}/{{nonce}}"),
                axum::routing::get(start),
            )
            .fallback(|| async { not_found() })
            .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
            .with_state(shared);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                self.listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await;
        });
        let mut pending = PendingReply {
            final_tx: None,
            stop_tx: Some(stop_tx),
            server: Some(server),
        };
        match tokio::time::timeout(timeout, rx.recv()).await {
            Ok(Some((Ok(secret), final_tx))) => {
                pending.final_tx = final_tx;
                Ok((secret, pending))
            }
            Ok(Some((Err(e), _))) => {
                pending.stop().await;
                Err(e)
            }
            Ok(None) => {
                pending.stop().await;
                Err(Error::Cancelled)
            }
            Err(_) => {
                pending.stop().await;
                Err(Error::SignInTimedOut {
                    seconds: timeout.as_secs(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_start_address_redirects_once_and_holds_nothing() {
        let mut listener = LoopbackListener::bind().await.unwrap();
        let target = "https://auth.example.com/oidc/v1/end_session?id_token_hint=eyJ.a.b";
        let start = listener.start_url(Secret::new(target));
        assert!(start.starts_with("http://127.0.0.1:") && start.contains("/start/"));
        assert!(!start.contains("id_token_hint") && !start.contains("example"));
        let waiting = tokio::spawn(listener.wait_for(
            Secret::new("s"),
            Expect::StateOnly,
            Duration::from_secs(10),
        ));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let wrong = start.rsplit_once('/').unwrap().0.to_string() + "/not-the-nonce";
        assert_eq!(client.get(&wrong).send().await.unwrap().status(), 404);
        let first = client.get(&start).send().await.unwrap();
        assert_eq!(first.status(), 303);
        assert_eq!(first.headers()["location"], target);
        assert_eq!(first.headers()["cache-control"], "no-store");
        assert_eq!(first.headers()["referrer-policy"], "no-referrer");
        assert_eq!(
            client.get(&start).send().await.unwrap().status(),
            404,
            "once"
        );
        // The check that refuses other users' processes can see this one's connection.
        #[cfg(target_os = "linux")]
        {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let local = listener.local_addr().unwrap();
            let client = tokio::net::TcpStream::connect(local).await.unwrap();
            let peer = client.local_addr().unwrap();
            assert_eq!(peer_is_this_user(peer, local), Some(true));
        }
        // The return from end_session: the tab waits for the final page.
        let back = start.split("/start/").next().unwrap().to_string() + "/callback?state=s";
        let tab = tokio::spawn(async move { client.get(&back).send().await.unwrap().status() });
        let (_, reply) = waiting.await.unwrap().unwrap();
        reply.finish(FinalPage::SignedOut).await;
        assert_eq!(tab.await.unwrap(), 200);
    }

    #[test]
    fn callback_rules() {
        let state = "s-123";
        let finish_ok = |q: &str| matches!(classify_callback(q, state), CallbackVerdict::Finish(Ok(c)) if c.expose() == "abc");
        assert!(finish_ok("code=abc&state=s-123"));
        assert!(finish_ok("state=s-123&code=abc&iss=http%3A%2F%2Fx"));
        for ignored in [
            "code=abc&state=other",
            "code=abc",
            "state=s-123",
            "code=&state=s-123",
            "code=abc&state=s-123&state=s-123",
            "code=abc&code=def&state=s-123",
            "",
            "%zz",
        ] {
            assert!(
                matches!(
                    classify_callback(ignored, state),
                    CallbackVerdict::Ignore(_)
                ),
                "{ignored}"
            );
        }
        let long = format!("code={}&state=s-123", "a".repeat(MAX_QUERY_BYTES));
        assert!(matches!(
            classify_callback(&long, state),
            CallbackVerdict::Ignore(_)
        ));
        match classify_callback(
            "error=access_denied&error_description=no%20thanks&state=s-123",
            state,
        ) {
            CallbackVerdict::Finish(Err(Error::AuthorizationFailed {
                error, description, ..
            })) => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("no thanks"));
            }
            other => panic!("{other:?}"),
        }
        // An error with the wrong state is ignored too (it could be forged by another page).
        assert!(matches!(
            classify_callback("error=access_denied&state=x", state),
            CallbackVerdict::Ignore(_)
        ));
        // An empty expected state never matches.
        assert!(matches!(
            classify_callback("code=abc&state=", ""),
            CallbackVerdict::Ignore(_)
        ));
    }

    async fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        let text = String::from_utf8_lossy(&buf).to_string();
        let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        Ok((status, text))
    }

    #[tokio::test]
    async fn listener_ignores_strays_accepts_one_code_and_closes() {
        let listener = LoopbackListener::bind().await.unwrap();
        let uri = listener.redirect_uri().to_string();
        assert!(
            uri.starts_with("http://127.0.0.1:") && uri.ends_with("/callback"),
            "{uri}"
        );
        let port: u16 = uri["http://127.0.0.1:".len()..uri.len() - "/callback".len()]
            .parse()
            .unwrap();
        let waiter =
            tokio::spawn(listener.wait_for_code(Secret::new("st"), Duration::from_secs(20)));
        assert_eq!(get(port, "/favicon.ico").await.unwrap().0, 404);
        assert_eq!(
            get(port, "/callback?code=evil&state=wrong")
                .await
                .unwrap()
                .0,
            400
        );
        assert_eq!(
            get(
                port,
                &format!("/callback?state=st&code={}", "a".repeat(5000))
            )
            .await
            .unwrap()
            .0,
            414
        );
        // The browser's request is answered only when the app has finished the sign-in.
        let browser = tokio::spawn(async move { get(port, "/callback?code=good&state=st").await });
        let (code, pending) = waiter.await.unwrap().unwrap();
        assert_eq!(code.expose(), "good");
        assert!(!browser.is_finished());
        pending.finish(FinalPage::SignedIn).await;
        let (status, body) = browser.await.unwrap().unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("You are signed in"), "{body}");
        // The port is closed after use.
        assert!(get(port, "/callback?code=again&state=st").await.is_err());
    }

    /// The tab reports a failure that happened after the code arrived (e.g. the ID token was
    /// refused), not "You are signed in".
    #[tokio::test]
    async fn final_page_reports_a_failed_exchange() {
        let listener = LoopbackListener::bind().await.unwrap();
        let port = listener.listener.local_addr().unwrap().port();
        let waiter =
            tokio::spawn(listener.wait_for_code(Secret::new("st"), Duration::from_secs(20)));
        let browser = tokio::spawn(async move { get(port, "/callback?code=c&state=st").await });
        let (_, pending) = waiter.await.unwrap().unwrap();
        pending.finish(FinalPage::Failed).await;
        let (status, body) = browser.await.unwrap().unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("Sign-in failed"), "{body}");
        assert!(!body.contains("signed in"), "{body}");
    }

    /// Attack: a local process opens a connection and sends half a request line. The sign-in
    /// still finishes, and the listener is gone within the grace period.
    #[tokio::test]
    async fn half_sent_request_does_not_hold_the_sign_in() {
        use tokio::io::AsyncWriteExt;
        let listener = LoopbackListener::bind().await.unwrap();
        let port = listener.listener.local_addr().unwrap().port();
        let waiter =
            tokio::spawn(listener.wait_for_code(Secret::new("st"), Duration::from_secs(20)));
        let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        slow.write_all(b"GET /callback?co").await.unwrap();
        let browser = tokio::spawn(async move { get(port, "/callback?code=c&state=st").await });
        let (_, pending) = waiter.await.unwrap().unwrap();
        let started = std::time::Instant::now();
        pending.finish(FinalPage::SignedIn).await;
        assert!(started.elapsed() < SHUTDOWN_GRACE + Duration::from_secs(1));
        assert_eq!(browser.await.unwrap().unwrap().0, 200);
        assert!(get(port, "/callback?code=again&state=st").await.is_err());
        drop(slow);
    }

    /// The post-logout redirect carries only `state`.
    #[test]
    fn logout_return_needs_only_the_state() {
        assert!(matches!(
            classify_redirect("state=s-1", "s-1", Expect::StateOnly),
            CallbackVerdict::Finish(Ok(_))
        ));
        assert!(matches!(
            classify_redirect("state=other", "s-1", Expect::StateOnly),
            CallbackVerdict::Ignore(_)
        ));
        assert!(matches!(
            classify_redirect("state=s-1", "s-1", Expect::Code),
            CallbackVerdict::Ignore(_)
        ));
    }

    #[tokio::test]
    async fn listener_stops_on_an_error_reply_and_times_out() {
        let listener = LoopbackListener::bind().await.unwrap();
        let port = listener.listener.local_addr().unwrap().port();
        let waiter =
            tokio::spawn(listener.wait_for_code(Secret::new("st"), Duration::from_secs(20)));
        get(port, "/callback?error=access_denied&state=st")
            .await
            .unwrap();
        assert_eq!(
            waiter.await.unwrap().map(|_| ()).unwrap_err().code(),
            "authorization_failed"
        );

        let listener = LoopbackListener::bind().await.unwrap();
        let err = listener
            .wait_for_code(Secret::new("st"), Duration::from_millis(50))
            .await
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.code(), "sign_in_timed_out");
    }

    #[tokio::test]
    async fn listener_is_bound_to_loopback_only() {
        let listener = LoopbackListener::bind().await.unwrap();
        let addr = listener.listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback(), "{addr}");
    }
}
