//! Demo mode wiring: the built-in sandbox issuer, a scripted sign-in of its demo user, and
//! software authenticators (as `passkeys demo` does in the CLI).

use passkeys_core::browser::FnBrowser;
use passkeys_core::ErrorCode;
use passkeys_sandbox::{Fault, Sandbox, SandboxConfig, DEMO_PASSWORD, DEMO_USERNAME};

use crate::ipc_error::IpcError;

/// Starts the sandbox on an ephemeral loopback port; injects `fault` once (test only).
pub async fn start_sandbox(fault: Option<Fault>) -> Result<Sandbox, IpcError> {
    let sandbox = Sandbox::start(SandboxConfig::default())
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

/// Demo mode's stand-in for the person's browser and phone on a registration link: a software
/// authenticator registers a passkey named "Phone (demo)", as the phone would after scanning
/// the link, while the app polls the list.
pub fn phone(api: passkeys_core::zitadel::ZitadelClient) -> FnBrowser {
    FnBrowser::new(move |_link: String| {
        let api = api.clone();
        async move {
            let added = match passkeys_core::authenticator::SoftAuthenticator::ephemeral() {
                Ok(mut phone) => passkeys_core::enroll::add_passkey(
                    &api,
                    &mut phone,
                    Some("Phone (demo)"),
                    &|_: &_| {},
                )
                .await
                .map(|_| ()),
                Err(e) => Err(e.into()),
            };
            if let Err(e) = added {
                tracing::error!("the demo phone could not register a passkey: {e}");
            }
        }
    })
}
