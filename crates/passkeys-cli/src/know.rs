//! Know your passkeys (issue 8): the self-test report after `passkeys add`, the authenticator
//! model in `passkeys list` (from the local inventory), `passkeys which ID` and
//! `passkeys test ID`.

use std::path::Path;
use std::sync::Arc;

use passkeys_core::authenticator::{AuthenticatorError, AuthenticatorKind, SoftAuthenticator};
use passkeys_core::enroll::{EnrollOptions, Enrollment};
use passkeys_core::inventory::{Inventory, InventoryEntry};
use passkeys_core::prompt::Prompt;
use passkeys_core::selftest::{self, SelfTestOutcome, SelfTestReport};
use passkeys_core::zitadel::Passkey;
use passkeys_core::{b64, Error, Result};
use passkeys_ctap::assertion::find_holder;
use passkeys_ctap::discovery;
use passkeys_ctap::{CancellationToken, Discoverable, SecurityKey};

use crate::keys::Choice;
use crate::output::{p, Out};

/// `passkeys add` options: self-test unless `--no-self-test`, inventory at its default path.
pub fn enroll_options(no_self_test: bool) -> EnrollOptions {
    let mut options = EnrollOptions::standard();
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
pub fn print_list(out: &Out, instance: &str, list: &[Passkey]) {
    let inventory = Inventory::open_default();
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

/// After `passkeys remove ID`: the inventory forgets it (a failure is only logged).
pub fn forget(instance: &str, id: &str) {
    let mut inventory = Inventory::open_default();
    if let Err(e) = inventory.remove(instance, id) {
        tracing::warn!("the local passkey inventory could not be updated: {e}");
    }
}

fn entry_for(instance: &str, id: &str) -> Result<InventoryEntry> {
    Inventory::open_default()
        .find(instance, id)
        .cloned()
        .ok_or_else(|| Error::NotInInventory { id: id.to_string() })
}

fn open_soft(path: &Path) -> Result<SoftAuthenticator> {
    if !path.exists() {
        return Err(Error::Authenticator(AuthenticatorError::NotFound(format!(
            "there is no software authenticator at {}",
            path.display()
        ))));
    }
    Ok(SoftAuthenticator::open_or_create(path)?)
}

fn not_held(entry: &InventoryEntry) -> Error {
    Error::Authenticator(AuthenticatorError::NotFound(format!(
        "none of the attached authenticators holds \"{}\"; it was made on a {} ({}): attach that key (or hold it on the NFC reader) and try again",
        entry.name,
        entry.model,
        entry.transport_label()
    )))
}

fn check_choice(entry: &InventoryEntry, choice: &Choice) -> Result<()> {
    match (choice, entry.kind) {
        (Choice::Platform, _) | (Choice::Key { .. }, AuthenticatorKind::Platform) => {
            Err(Error::Config(
                "passkeys of this computer or a phone live in your browser's or the system's keychain; this app cannot ask them".into(),
            ))
        }
        (Choice::Key { .. }, AuthenticatorKind::Software) => Err(Error::Config(format!(
            "\"{}\" is on a software authenticator: pass --authenticator soft:PATH with its file",
            entry.name
        ))),
        _ => Ok(()),
    }
}

/// The attached keys matching the choice, and the index of the one holding the passkey.
async fn find_key(
    entry: &InventoryEntry,
    transport: Option<&'static str>,
    index: Option<usize>,
    prompt: Arc<dyn Prompt>,
) -> Result<(
    Vec<passkeys_ctap::Device<webauthn_authenticator_rs::transport::AnyToken>>,
    usize,
)> {
    let credential_id = b64::decode_lenient(&entry.credential_id)
        .map_err(|e| Error::Config(format!("the inventory's credential id is damaged ({e})")))?;
    let mut devices = discovery::open_all(prompt, CancellationToken::new()).await?;
    if let Some(t) = transport {
        devices.retain(|d| passkeys_ctap::device::transport_name(d.transport()) == t);
    }
    if let Some(i) = index {
        if i >= devices.len() {
            return Err(not_held(entry));
        }
        let d = devices.swap_remove(i);
        devices = vec![d];
    }
    match find_holder(&mut devices, &entry.rp_id, &credential_id).await? {
        Some(i) => Ok((devices, i)),
        None => Err(not_held(entry)),
    }
}

/// `passkeys which ID`: which attached authenticator holds the passkey (a silent probe, no
/// touch, no PIN); the key blinks when it can.
pub async fn which(
    out: &Out,
    instance: &str,
    id: &str,
    choice: &Choice,
    prompt: Arc<dyn Prompt>,
) -> Result<()> {
    let entry = entry_for(instance, id)?;
    check_choice(&entry, choice)?;
    let label = format!("\"{}\" ({})", p(&entry.name), p(id));
    match choice {
        Choice::Soft(path) => {
            let mut soft = open_soft(path)?;
            if !selftest::holds(&mut soft, &entry).await? {
                return Err(not_held(&entry));
            }
            out.line(&format!(
                "Passkey {label} is in the software authenticator {}.",
                path.display()
            ));
            out.json(&serde_json::json!({
                "id": id, "found": true, "kind": "software", "path": path, "model": entry.model,
            }));
        }
        Choice::Key { transport, index } => {
            let (mut devices, i) = find_key(&entry, *transport, *index, prompt).await?;
            let summary = discovery::summary(&devices[i]);
            let winked = passkeys_ctap::manage::wink(&mut devices[i]).await.is_ok();
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
        Choice::Platform => {}
    }
    Ok(())
}

/// `passkeys test ID`: finds the authenticator, signs in once with the passkey (touch, maybe
/// the PIN) and checks the answer here.
pub async fn test(
    out: &Out,
    instance: &str,
    id: &str,
    choice: &Choice,
    prompt: Arc<dyn Prompt>,
) -> Result<()> {
    let entry = entry_for(instance, id)?;
    check_choice(&entry, choice)?;
    let report = match choice {
        Choice::Soft(path) => {
            let mut soft = open_soft(path)?;
            selftest::test_entry(&mut soft, &entry).await?
        }
        Choice::Key { transport, index } => {
            let (mut devices, i) = find_key(&entry, *transport, *index, prompt).await?;
            let device = devices.swap_remove(i);
            drop(devices);
            let summary = discovery::summary(&device);
            out.note(&format!(
                "Found it on the {} over {}. Touch it when asked (it may ask for its PIN).",
                p(&summary.model),
                p(&summary.transport.to_uppercase())
            ));
            let mut key = SecurityKey::new(device, Discoverable::Auto);
            selftest::test_entry(&mut key, &entry).await?
        }
        Choice::Platform => return Ok(()),
    };
    out.line(&format!(
        "Passkey \"{}\" ({}) works: {}.",
        p(&entry.name),
        p(id),
        describe_pass(&report)
    ));
    out.json(&serde_json::json!({"id": id, "selfTest": report}));
    Ok(())
}
