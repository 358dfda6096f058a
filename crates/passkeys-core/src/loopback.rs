//! The loopback redirect listener for native apps (RFC 8252 §7.3).
//!
//! Binds `127.0.0.1` on an ephemeral port and serves one path, [`CALLBACK_PATH`]. It ignores
//! stray requests (404), answers a response whose `state` does not match with 400 and keeps
//! waiting (the code in it is never used), stops on an `error=` reply, and hands over the first
//! code whose `state` matches. Each answer is a small HTML page the person can close.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use tokio::sync::{mpsc, Mutex};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The redirect path registered on the ZITADEL native app (`http://127.0.0.1/callback`).
pub const CALLBACK_PATH: &str = "/callback";

type Outcome = std::result::Result<Secret, Error>;

struct Shared {
    expected_state: Secret,
    tx: Mutex<Option<mpsc::Sender<Outcome>>>,
}

/// A bound listener waiting for the authorization response.
pub struct LoopbackListener {
    listener: tokio::net::TcpListener,
    redirect_uri: String,
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
    match code.filter(|c| !c.is_empty()) {
        Some(code) => CallbackVerdict::Finish(Ok(Secret::new(code))),
        None => CallbackVerdict::Ignore("the response has neither a code nor an error"),
    }
}

async fn callback(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> impl IntoResponse {
    let query = query.unwrap_or_default();
    let outcome = match classify_callback(&query, shared.expected_state.expose()) {
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
                    "This sign-in link is not for this attempt",
                    "The response does not belong to the sign-in that Passkey Enroll is waiting for, so it was ignored. Go back to the app and start signing in again if needed.",
                ),
            );
        }
        CallbackVerdict::Finish(outcome) => outcome,
    };
    let failed = outcome.is_err();
    if let Some(tx) = shared.tx.lock().await.take() {
        let _ = tx.send(outcome).await;
    }
    if failed {
        (
            StatusCode::OK,
            page("Sign-in failed", "The server refused the sign-in. Return to Passkey Enroll for details. You can close this tab."),
        )
    } else {
        (
            StatusCode::OK,
            page(
                "You are signed in",
                "Return to Passkey Enroll. You can close this tab.",
            ),
        )
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
        })
    }

    /// The `redirect_uri` built from the address actually bound; reuse it byte for byte in
    /// the token request.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Serves until a response with the expected `state` arrives or `timeout` passes, then
    /// closes the port.
    ///
    /// # Errors
    /// [`Error::SignInTimedOut`], or [`Error::AuthorizationFailed`] for an `error=` reply.
    pub async fn wait_for_code(self, expected_state: Secret, timeout: Duration) -> Result<Secret> {
        let (tx, mut rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            expected_state,
            tx: Mutex::new(Some(tx)),
        });
        let app = axum::Router::new()
            .route(CALLBACK_PATH, axum::routing::get(callback))
            .fallback(|| async { (StatusCode::NOT_FOUND, page("Not found", "Nothing here.")) })
            .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
            .with_state(shared);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(self.listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await;
        });
        let result = tokio::time::timeout(timeout, rx.recv()).await;
        let _ = stop_tx.send(());
        let _ = server.await;
        match result {
            Ok(Some(outcome)) => outcome,
            Ok(None) => Err(Error::Cancelled),
            Err(_) => Err(Error::SignInTimedOut {
                seconds: timeout.as_secs(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (status, body) = get(port, "/callback?code=good&state=st").await.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("You can close this tab"));
        let code = waiter.await.unwrap().unwrap();
        assert_eq!(code.expose(), "good");
        // The port is closed after use.
        assert!(get(port, "/callback?code=again&state=st").await.is_err());
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
            waiter.await.unwrap().unwrap_err().code(),
            "authorization_failed"
        );

        let listener = LoopbackListener::bind().await.unwrap();
        let err = listener
            .wait_for_code(Secret::new("st"), Duration::from_millis(50))
            .await
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
