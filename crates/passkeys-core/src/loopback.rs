//! The loopback redirect listener for native apps (RFC 8252 §7.3).
//!
//! Binds `127.0.0.1` on an ephemeral port and serves one path, [`CALLBACK_PATH`]. It ignores
//! stray requests (404), answers a response whose `state` does not match with 400 and keeps
//! waiting (the code in it is never used), stops on an `error=` reply, and hands over the first
//! code whose `state` matches. Each answer is a small HTML page the person can close.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
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

async fn callback(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let state_ok = q.get("state").map(|s| s.as_str()) == Some(shared.expected_state.expose());
    if !state_ok {
        tracing::warn!("ignored an authorization response with a wrong or missing state");
        return (
            StatusCode::BAD_REQUEST,
            page(
                "This sign-in link is not for this attempt",
                "The response does not belong to the sign-in that Passkey Enroll is waiting for, so it was ignored. Go back to the app and start signing in again if needed.",
            ),
        );
    }
    let outcome = if let Some(error) = q.get("error") {
        Err(Error::AuthorizationFailed {
            error: error.clone(),
            description: q.get("error_description").cloned(),
            hint: if error == "invalid_request" {
                "If the server says the redirect_uri is missing, register http://127.0.0.1/callback on a Native app in ZITADEL"
            } else {
                "Try signing in again"
            },
        })
    } else if let Some(code) = q.get("code").filter(|c| !c.is_empty()) {
        Ok(Secret::new(code.clone()))
    } else {
        return (
            StatusCode::BAD_REQUEST,
            page(
                "No sign-in code",
                "The response carried neither a code nor an error.",
            ),
        );
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
