//! `passkeys demo` and `passkeys sandbox`.
//!
//! The demo runs the real flow end to end on this machine: the sandbox (a local
//! ZITADEL-compatible issuer that verifies registrations with webauthn-rs) in-process, and the
//! demo [`Environment`] the desktop app's demo uses too (a sign-in completed by a scripted
//! "browser", a temporary inventory), with software authenticators.

use std::sync::Arc;
use std::time::Duration;

use passkeys_core::authenticator::{AuthenticatorError, SoftAuthenticator};
use passkeys_core::config::parse_issuer;
use passkeys_core::enroll::{self, EnrollEvent};
use passkeys_core::oidc::{Oidc, SignInOptions};
use passkeys_core::session::Session;
use passkeys_core::tokens::{MemoryStore, TokenStore};
use passkeys_core::zitadel::http_client;
use passkeys_core::{Error, Result};
use passkeys_sandbox::{Sandbox, SandboxConfig, DEMO_PASSWORD, DEMO_USERNAME};
use passkeys_service::Environment;

use crate::output::{list_table, Out};

fn sandbox_err(e: impl std::fmt::Display) -> Error {
    Error::Config(format!("the sandbox could not start: {e}"))
}

/// `passkeys sandbox`: runs the sandbox until Ctrl-C.
pub async fn run_sandbox(port: u16, out: &Out) -> Result<()> {
    let sandbox = Sandbox::start(SandboxConfig {
        port,
        ..SandboxConfig::default()
    })
    .await
    .map_err(sandbox_err)?;
    let issuer = sandbox.issuer().as_str().trim_end_matches('/').to_string();
    out.line(&format!("Sandbox issuer: {issuer}"));
    out.line(&format!("Client id:      {}", sandbox.client_id()));
    out.line(&format!(
        "Demo user:      {DEMO_USERNAME} / password {DEMO_PASSWORD}"
    ));
    out.line("");
    out.line("Try it in another terminal:");
    out.line(&format!(
        "  export PASSKEYS_ISSUER={issuer} PASSKEYS_CLIENT_ID={}",
        sandbox.client_id()
    ));
    out.line("  passkeys --token-store file login");
    // The software authenticator's default file is in the per-user state directory (0700),
    // never a fixed name in a shared temporary directory that another user could plant.
    out.line("  passkeys --token-store file add --authenticator soft");
    out.line("");
    out.line("Press Ctrl-C to stop.");
    out.json(&serde_json::json!({"issuer": issuer, "clientId": sandbox.client_id()}));
    let _ = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
    Ok(())
}

/// `passkeys demo`: the whole flow against the in-process sandbox.
pub async fn run_demo(out: &Out) -> Result<()> {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .map_err(sandbox_err)?;
    let result = demo_steps(&sandbox, out).await;
    sandbox.shutdown().await;
    result
}

async fn demo_steps(sandbox: &Sandbox, out: &Out) -> Result<()> {
    let issuer = parse_issuer(sandbox.issuer().as_str())?;
    let step = |n: u32, text: &str| out.line(&format!("\n{n}. {text}"));
    out.line("Passkey Enroll demo: everything runs on this machine.");
    out.line(&format!(
        "  - the sandbox, a local ZITADEL-compatible issuer (\"ZITADEL\" below), at {}",
        issuer.as_str
    ));
    out.line(
        "  - software authenticators A and B (for demos and tests, not security keys): their \
         private keys live only in this program's memory and are gone when the demo ends.",
    );

    let http = http_client()?;
    let env = Environment::demo()?;
    step(1, "OpenID Connect discovery");
    let oidc = Oidc::discover(&issuer, sandbox.client_id(), http.clone()).await?;
    out.line(&format!(
        "   issuer {} verified; signing keys loaded",
        issuer.as_str
    ));

    step(2, "Sign in (authorization code + PKCE S256, loopback redirect; the demo user signs in on the sandbox's page)");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let (session, _) = Session::login(
        oidc,
        store,
        env.sign_in_browser.as_ref(),
        &SignInOptions::new(Duration::from_secs(60)),
        &|_| {},
    )
    .await?;
    let api = env.remembering(session.zitadel(http.clone()));
    let me = api.get_my_user().await?;
    out.line(&format!(
        "   signed in as {} ({})",
        me.display_name, me.login_name
    ));

    let progress = |e: &EnrollEvent| {
        let text = match e {
            EnrollEvent::WaitingForAuthenticator { .. } => {
                Some("Waiting for the software authenticator…".to_string())
            }
            EnrollEvent::SelfTesting => {
                Some("Checking the new passkey by signing in with it once…".to_string())
            }
            other => crate::describe_event(other),
        };
        if let Some(text) = text {
            out.line(&format!("   {text}"));
        }
    };
    step(3, "Add a passkey on software authenticator A");
    let mut key_a = SoftAuthenticator::ephemeral()?;
    // Self-test on (one sign-in with the new passkey, signature checked here); the demo's
    // inventory is a temporary one: it must not write into the person's own records.
    let demo_options = env.enroll_options();
    let enrolled = enroll::add_passkey_with(
        &api,
        &mut key_a,
        Some("Demo key A"),
        &progress,
        &demo_options,
    )
    .await?;
    if enrolled.self_test.as_ref().is_some_and(|t| t.passed()) {
        out.line(
            "   self-test passed: signed in once with the new passkey, signature checked here",
        );
    }
    let first = enrolled.passkey;
    out.line(&format!(
        "   registered \"{}\" with ZITADEL (id {})\n   credential id {} (the key pair on the \
         authenticator)\n   rpId {}",
        first.name,
        first.id.as_deref().unwrap_or("?"),
        first.credential_id,
        first.rp_id
    ));

    step(
        4,
        "Try authenticator A again: ZITADEL lists its credential in excludeCredentials",
    );
    match enroll::add_passkey(&api, &mut key_a, Some("Demo key A again"), &progress).await {
        Err(Error::Authenticator(AuthenticatorError::CredentialExcluded)) => out.line(
            "   refused as expected: this authenticator is already registered for the account",
        ),
        Err(e) => return Err(e),
        Ok(_) => {
            return Err(Error::Config(
                "the demo expected the exclude list to refuse authenticator A".into(),
            ))
        }
    }

    step(5, "Add a backup passkey on software authenticator B");
    let mut key_b = SoftAuthenticator::ephemeral()?;
    let second =
        enroll::add_passkey(&api, &mut key_b, Some("Demo key B (backup)"), &progress).await?;
    out.line(&format!(
        "   registered \"{}\" (ZITADEL's id {}; no self-test this time: step 3 showed one)",
        second.name,
        second.id.as_deref().unwrap_or("?")
    ));

    let table = |list: &[passkeys_core::zitadel::Passkey]| {
        for line in list_table(list) {
            out.line(&format!("   {line}"));
        }
    };
    step(6, "List the passkeys");
    table(&api.list_passkeys().await?);

    step(7, "Remove the first passkey");
    let first_id = first
        .id
        .clone()
        .ok_or_else(|| Error::Config("the first passkey's id was not found in the list".into()))?;
    passkeys_service::passkeys::remove(&api, &mut env.inventory.open(), &first_id).await?;
    out.line(&format!("   removed \"{}\" ({first_id})", first.name));
    let remaining = api.list_passkeys().await?;
    table(&remaining);

    step(8, "Sign out (tokens revoked)");
    let report =
        Session::logout(session.oidc(), &*store_of(&session), None, Duration::ZERO).await?;
    match &report.revoke_error {
        None => out.line("   signed out: the refresh and access tokens were revoked at the issuer"),
        Some(e) => out.line(&format!(
            "   signed out locally, but revocation failed: {e}"
        )),
    }
    out.line(
        "\nDone: a passkey was enrolled end to end and verified by the sandbox with webauthn-rs.",
    );
    // The same row shape as `passkeys --json list` (state as a word).
    let remaining: Vec<_> = remaining
        .iter()
        .map(|p| serde_json::json!({"id": p.id, "name": p.name, "state": p.state.label()}))
        .collect();
    out.json(&serde_json::json!({
        "enrolled": [first, second],
        "removed": {"id": first_id, "name": first.name},
        "remaining": remaining,
    }));
    Ok(())
}

fn store_of(session: &Arc<Session>) -> Arc<dyn TokenStore> {
    session.store()
}
