//! Demo mode wiring: the built-in sandbox issuer, a scripted sign-in of its demo user, and
//! software authenticators (as `passkeys demo` does in the CLI).

use passkeys_core::browser::FnBrowser;
use passkeys_sandbox::{Fault, Sandbox, SandboxConfig, DEMO_PASSWORD, DEMO_USERNAME};

use crate::ipc_error::IpcError;

/// Starts the sandbox on an ephemeral loopback port; injects `fault` once (test only).
pub async fn start_sandbox(fault: Option<Fault>) -> Result<Sandbox, IpcError> {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .map_err(|e| IpcError::app("sandbox_failed", format!("the demo could not start: {e}")))?;
    if let Some(fault) = fault {
        tracing::warn!("test hook: the demo sandbox will inject {fault:?} once");
        sandbox.inspect().set_fault(fault);
    }
    Ok(sandbox)
}

/// A "browser" that signs the sandbox's demo user in, as a person would on its sign-in page.
pub fn browser() -> FnBrowser {
    FnBrowser::new(|url: String| async move {
        if let Err(e) =
            passkeys_sandbox::browser::complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD).await
        {
            tracing::error!("the demo sign-in failed: {e}");
        }
    })
}
