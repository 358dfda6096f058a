//! Know your passkeys (issue 8): the self-test report after `passkeys add`, the authenticator
//! model in `passkeys list` (from the local inventory), `passkeys which ID` and
//! `passkeys test ID`.

use std::sync::Arc;

use passkeys_core::authenticator::AuthenticatorKind;
use passkeys_core::enroll::{EnrollOptions, Enrollment};
use passkeys_core::inventory::{Inventory, InventoryEntry};
use passkeys_core::prompt::Prompt;
use passkeys_core::selftest::{SelfTestOutcome, SelfTestReport};
use passkeys_core::zitadel::Passkey;
use passkeys_core::{Error, Result};
use passkeys_service::environment::Unreachable;
use passkeys_service::locate::{self, Holder, LocateError};
use passkeys_service::{AuthenticatorChoice, Environment};

use crate::output::{p, Out};

/// `passkeys add` options: self-test unless `--no-self-test`, the environment's inventory.
pub fn enroll_options(env: &Environment, no_self_test: bool) -> EnrollOptions {
    let mut options = env.enroll_options();
    options.self_test = !no_self_test;
    options
}

fn describe_pass(r: &SelfTestReport) -> String {
    format!(
        "the authenticator signed in with it{} and the signature checks out (signature counter {})",
        if r.user_verified {
            ", verifying you,"
        } else {
            ""
        },
        r.sign_count
    )
}

/// Prints the self-test's outcome after `passkeys add`. A failure is a warning: the passkey is
/// registered.
pub fn report_self_test(out: &Out, enrollment: &Enrollment) {
    match &enrollment.self_test {
        None => {}
        Some(SelfTestOutcome::Passed(r)) => {
            out.line(&format!("Self-test passed: {}.", describe_pass(r)))
        }
        Some(SelfTestOutcome::Failed {
            message,
            advice,
            code,
            ..
        }) => {
            out.note(&format!("Warning: {message}."));
            out.note(&crate::output::with_cli_advice(advice, *code));
        }
    }
}

/// `passkeys list`: ZITADEL's list with the model of each passkey this computer enrolled, and
/// the others marked as enrolled elsewhere. `--json` keeps `{id, name, state}` and adds
/// `known` and, for known passkeys, `model`, `aaguid`, `transport`, `discoverable`,
/// `credentialId`, `createdAt`.
pub fn print_list(out: &Out, inventory: &Inventory, instance: &str, list: &[Passkey]) {
    let known = inventory.annotate(instance, list);
    let where_ = |e: Option<&InventoryEntry>| match e {
        Some(e) if e.kind == AuthenticatorKind::Software => e.model.clone(),
        Some(e) => format!("{} ({})", e.model, e.transport_label()),
        None => "enrolled elsewhere".to_string(),
    };
    if list.is_empty() {
        out.line("You have no passkeys yet. Add one with `passkeys add`.");
    } else {
        // Names and ids come from the server: printable, one line each (issue 12 item 3).
        let shown: Vec<(String, String)> = known
            .iter()
            .map(|k| {
                (
                    p(&k.passkey.id).into_owned(),
                    p(&k.passkey.name).into_owned(),
                )
            })
            .collect();
        let w_id = shown.iter().map(|(i, _)| i.len()).max().unwrap_or(2).max(2);
        let w_name = shown
            .iter()
            .map(|(_, n)| n.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let w_state = list
            .iter()
            .map(|p| p.state.label().len())
            .max()
            .unwrap_or(5)
            .max(5);
        out.line(&format!(
            "{:w_id$}  {:w_name$}  {:w_state$}  AUTHENTICATOR",
            "ID", "NAME", "STATE"
        ));
        for (k, (id, name)) in known.iter().zip(&shown) {
            out.line(&format!(
                "{id:w_id$}  {name:w_name$}  {:w_state$}  {}",
                k.passkey.state.label(),
                where_(k.entry)
            ));
        }
    }
    let rows: Vec<_> = known
        .iter()
        .map(|k| {
            let p = k.passkey;
            let mut row = serde_json::json!({"id": p.id, "name": p.name, "state": p.state.label()});
            row["known"] = serde_json::json!(k.entry.is_some());
            if let Some(e) = k.entry {
                row["model"] = serde_json::json!(e.model);
                row["aaguid"] = serde_json::json!(e.aaguid);
                row["transport"] = serde_json::json!(e.transport_label());
                row["discoverable"] = serde_json::json!(e.discoverable);
                row["credentialId"] = serde_json::json!(e.credential_id);
                row["createdAt"] = serde_json::json!(e.created_at);
            }
            row
        })
        .collect();
    out.json(&rows);
}

fn words(e: LocateError) -> Error {
    match e {
        LocateError::Unreachable {
            why: Unreachable::Platform,
            ..
        } => Error::Config(
            "passkeys of this computer or a phone live in your browser's or the system's keychain; this app cannot ask them".into(),
        ),
        LocateError::Unreachable { entry, .. } => Error::Config(format!(
            "\"{}\" is on a software authenticator: pass --authenticator soft:PATH with its file",
            entry.name
        )),
        LocateError::Failed(e) => e,
    }
}

/// `passkeys which ID`: which attached authenticator holds the passkey (a silent probe, no
/// touch, no PIN); the key blinks when it can.
pub async fn which(
    out: &Out,
    env: &Environment,
    instance: &str,
    id: &str,
    choice: &AuthenticatorChoice,
    prompt: Arc<dyn Prompt>,
) -> Result<()> {
    let entry = locate::entry(&env.inventory.open(), instance, id)?;
    let label = format!("\"{}\" ({})", p(&entry.name), p(id));
    let source = env.authenticators.as_ref();
    let cancel = passkeys_ctap::CancellationToken::new();
    match locate::which(source, &entry, choice, prompt, cancel)
        .await
        .map_err(words)?
    {
        Holder::Software { path } => {
            let path = path.unwrap_or_default();
            out.line(&format!(
                "Passkey {label} is in the software authenticator {}.",
                path.display()
            ));
            out.json(&serde_json::json!({
                "id": id, "found": true, "kind": "software", "path": path, "model": entry.model,
            }));
        }
        Holder::SecurityKey {
            key: summary,
            winked,
        } => {
            out.line(&format!(
                "Passkey {label} is on the {} over {} (AAGUID {}){}.",
                p(&summary.model),
                p(&summary.transport.to_uppercase()),
                summary.aaguid,
                if winked {
                    ": it is blinking now"
                } else {
                    "; this key cannot blink on request"
                }
            ));
            out.json(&serde_json::json!({
                "id": id, "found": true, "kind": "security-key", "key": summary, "winked": winked,
            }));
        }
    }
    Ok(())
}

/// `passkeys test ID`: finds the authenticator, signs in once with the passkey (touch, maybe
/// the PIN) and checks the answer here.
pub async fn test(
    out: &Out,
    env: &Environment,
    instance: &str,
    id: &str,
    choice: &AuthenticatorChoice,
    prompt: Arc<dyn Prompt>,
) -> Result<()> {
    let entry = locate::entry(&env.inventory.open(), instance, id)?;
    let source = env.authenticators.as_ref();
    let cancel = passkeys_ctap::CancellationToken::new();
    let on_found = |holder: &Holder| {
        if let Holder::SecurityKey { key, .. } = holder {
            out.note(&format!(
                "Found it on the {} over {}. Touch it when asked (it may ask for its PIN).",
                p(&key.model),
                p(&key.transport.to_uppercase())
            ));
        }
    };
    let report = locate::test(source, &entry, choice, prompt, cancel, &on_found)
        .await
        .map_err(words)??;
    out.line(&format!(
        "Passkey \"{}\" ({}) works: {}.",
        p(&entry.name),
        p(id),
        describe_pass(&report)
    ));
    out.json(&serde_json::json!({"id": id, "selfTest": report}));
    Ok(())
}
