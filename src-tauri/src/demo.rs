//! Demo mode: the one place that builds the demo instance. The built-in sandbox issuer, an
//! [`Environment::demo`] (its demo user signed in by script, a simulated phone for registration
//! links, a temporary inventory, software authenticators kept for the session; as
//! `passkeys demo` in the CLI) and tokens in memory. Every command then runs the same code as
//! for a real instance.

use std::sync::Arc;

use passkeys_core::config::parse_issuer;
use passkeys_core::oidc::Oidc;
use passkeys_core::tokens::MemoryStore;
use passkeys_core::ErrorCode;
use passkeys_sandbox::{Fault, Sandbox, SandboxConfig};
use passkeys_service::Environment;

use crate::ipc_error::IpcError;
use crate::state::{Active, ActiveProfile};

/// Starts the sandbox on an ephemeral loopback port; injects `fault` once (test only); without
/// the Auth API v1 passkey endpoints when `without_v1` (test only).
async fn start_sandbox(fault: Option<Fault>, without_v1: bool) -> Result<Sandbox, IpcError> {
    if without_v1 {
        tracing::warn!("test hook: the demo sandbox serves no Auth API v1 passkey endpoints");
    }
    let sandbox = Sandbox::start(SandboxConfig {
        auth_v1_passkeys: !without_v1,
        ..SandboxConfig::default()
    })
    .await
    .map_err(|e| {
        IpcError::app(
            ErrorCode::SandboxFailed,
            format!("the demo could not start: {e}"),
        )
    })?;
    if let Some(fault) = fault {
        tracing::warn!("test hook: the demo sandbox will inject {fault:?} once");
        sandbox.inspect().set_fault(fault);
    }
    Ok(sandbox)
}

/// The demo instance: the sandbox (injecting `fault` once, test only), not signed in.
pub(crate) async fn instance(
    fault: Option<Fault>,
    without_v1: bool,
    http: reqwest::Client,
) -> Result<Active, IpcError> {
    let sandbox = start_sandbox(fault, without_v1).await?;
    let issuer = parse_issuer(sandbox.issuer().as_str())?;
    let oidc = Oidc::discover(&issuer, sandbox.client_id(), http).await?;
    let env =
        Environment::demo().map_err(|e| IpcError::app(ErrorCode::SandboxFailed, e.to_string()))?;
    // The practice key waits for the person's "Touch the key" (src-tauri/src/practice.rs).
    if let Some(key) = env.authenticators.practice() {
        key.set_touch(passkeys_ctap::practice::Touch::Person);
    }
    tracing::info!("demo mode: sandbox issuer at {}", issuer.as_str);
    Ok(Active {
        profile: ActiveProfile {
            id: "demo".into(),
            issuer: issuer.as_str.clone(),
            client_id: sandbox.client_id().to_string(),
            demo: true,
        },
        oidc,
        store: Arc::new(MemoryStore::default()),
        session: None,
        _sandbox: Some(sandbox),
        env: Arc::new(env),
        api: Default::default(),
    })
}
