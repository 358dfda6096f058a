//! The one helper for "sandbox + signed-in client" that the integration tests and benchmarks
//! share (architecture review §4.3, issue 13). Used only as a dev-dependency.
//!
//! - [`start`] runs the sandbox issuer in-process on a loopback port.
//! - [`login`] signs a user in through the product's real sign-in: OIDC discovery,
//!   authorization code with PKCE, the loopback redirect listener of `passkeys_core::loopback`,
//!   with the sandbox's scripted browser ([`passkeys_sandbox::browser::complete_login`])
//!   filling in the login form. Tokens stay in memory.
//! - [`signed_in`] / [`signed_in_as`] return the ZITADEL client of that session; [`SignedIn`]
//!   bundles sandbox and client for the common case.
//!
//! Every helper panics on failure with the underlying error: it is test set-up.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up: a failure is a panic
#![warn(missing_docs, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use passkeys_core::browser::FnBrowser;
use passkeys_core::config::parse_issuer;
use passkeys_core::oidc::{Oidc, SignInOptions};
use passkeys_core::session::Session;
use passkeys_core::tokens::MemoryStore;
use passkeys_core::zitadel::{http_client, ZitadelClient};
pub use passkeys_sandbox::{Sandbox, SandboxConfig};
use passkeys_sandbox::{DEMO_PASSWORD, DEMO_USERNAME};

/// How long one sign-in may take.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts the sandbox issuer with `config`.
pub async fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).await.expect("the sandbox starts")
}

/// OIDC discovery against `sandbox` with the product's HTTP client; returns the provider and
/// that client (for [`Session::zitadel`]).
pub async fn discover(sandbox: &Sandbox) -> (Oidc, reqwest::Client) {
    let issuer = parse_issuer(sandbox.issuer().as_str()).expect("the sandbox issuer parses");
    let http = http_client().expect("the HTTP client builds");
    let oidc = Oidc::discover(&issuer, sandbox.client_id(), http.clone())
        .await
        .expect("discovery against the sandbox");
    (oidc, http)
}

/// Signs `user` in with `password` through the real loopback flow of `oidc` (tokens in a
/// [`MemoryStore`]). The error is returned, so that a test can name its case when it panics.
///
/// # Errors
/// What [`Session::login`] returns.
pub async fn login(
    oidc: Oidc,
    user: &'static str,
    password: &'static str,
) -> passkeys_core::Result<(Arc<Session>, passkeys_core::oidc::SignedIn)> {
    let browser = FnBrowser::new(move |url: String| async move {
        passkeys_sandbox::browser::complete_login(&url, user, password)
            .await
            .expect("the sandbox login form accepts the user");
    });
    Session::login(
        oidc,
        Arc::new(MemoryStore::default()),
        &browser,
        &SignInOptions::new(SIGN_IN_TIMEOUT),
        &|_| {},
    )
    .await
}

/// The ZITADEL client of `user` signed in to `sandbox`.
pub async fn signed_in_as(
    sandbox: &Sandbox,
    user: &'static str,
    password: &'static str,
) -> ZitadelClient {
    let (oidc, http) = discover(sandbox).await;
    let (session, _) = login(oidc, user, password)
        .await
        .expect("sign-in to the sandbox");
    session.zitadel(http)
}

/// The ZITADEL client of the demo user signed in to `sandbox`.
pub async fn signed_in(sandbox: &Sandbox) -> ZitadelClient {
    signed_in_as(sandbox, DEMO_USERNAME, DEMO_PASSWORD).await
}

/// A sandbox and the demo user's client signed in to it.
pub struct SignedIn {
    /// The sandbox issuer (stops when dropped).
    pub sandbox: Sandbox,
    /// The demo user's ZITADEL client.
    pub api: ZitadelClient,
}

impl SignedIn {
    /// The default sandbox with the demo user signed in.
    pub async fn demo() -> Self {
        Self::start(SandboxConfig::default()).await
    }

    /// A sandbox with `config` and the demo user signed in.
    pub async fn start(config: SandboxConfig) -> Self {
        let sandbox = start(config).await;
        let api = signed_in(&sandbox).await;
        Self { sandbox, api }
    }
}
