//! Know your passkeys (issue 8) in the app: the authenticator model beside each passkey the
//! local inventory knows ("enrolled elsewhere" for the others), "Which key is this?" (a silent
//! probe of the attached keys; the one holding the passkey blinks) and "Test this passkey"
//! (the self-test on demand). Thin commands over `passkeys_core::{inventory, selftest}` and the
//! CTAP engine, as `passkeys which` / `passkeys test` in the CLI.
//!
//! In demo mode nothing is written to the person's own inventory: the demo keeps an inventory
//! in a temporary directory and the software authenticators it enrolled on, for the session
//! ([`DemoShelf`]), and those authenticators stand in for "the attached keys".

use std::path::PathBuf;
use std::sync::Arc;

use passkeys_core::authenticator::{Authenticator, AuthenticatorError, AuthenticatorKind};
use passkeys_core::inventory::{Inventory, InventoryEntry};
use passkeys_core::prompt::{NoPrompt, Prompt};
use passkeys_core::selftest::{self, SelfTestOutcome};
use passkeys_core::zitadel::Passkey;
use passkeys_core::{b64, Error};
use passkeys_ctap::assertion::find_holder;
use passkeys_ctap::discovery::{self, KeySummary};
use passkeys_ctap::{CancellationToken, Discoverable, SecurityKey};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::ipc_error::IpcError;
use crate::prompt::PromptEvent;
use crate::state::{no_instance, AppState};

/// What the demo keeps for its session: an inventory in a temporary directory (removed when
/// the demo ends) and the software authenticators it enrolled passkeys on.
pub(crate) struct DemoShelf {
    dir: tempfile::TempDir,
    authenticators: tokio::sync::Mutex<Vec<Box<dyn Authenticator>>>,
}

impl DemoShelf {
    /// A fresh, empty shelf.
    pub(crate) fn new() -> Result<Self, IpcError> {
        let dir = tempfile::Builder::new()
            .prefix("passkey-enroll-demo")
            .tempdir()
            .map_err(|e| {
                IpcError::app(
                    "sandbox_failed",
                    format!("the demo could not create its temporary folder: {e}"),
                )
            })?;
        Ok(Self {
            dir,
            authenticators: Default::default(),
        })
    }

    /// The demo's inventory file.
    pub(crate) fn inventory_path(&self) -> PathBuf {
        self.dir.path().join(passkeys_core::inventory::FILE_NAME)
    }

    /// Keeps an authenticator the demo enrolled a passkey on.
    pub(crate) async fn keep(&self, authenticator: Box<dyn Authenticator>) {
        self.authenticators.lock().await.push(authenticator);
    }
}

/// A passkey as ZITADEL lists it, with what this computer knows about it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct KnownPasskeyView {
    /// ZITADEL's view (`id`, `state`, `name`).
    #[serde(flatten)]
    pub passkey: Passkey,
    /// True when this computer enrolled it (it is in the inventory); false: enrolled elsewhere.
    pub known: bool,
    /// The authenticator model, for known passkeys.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub model: Option<String>,
    /// `USB`, `NFC`, `software`, ..., for known passkeys.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub transport: Option<String>,
    /// The kind of authenticator, for known passkeys.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub kind: Option<AuthenticatorKind>,
    /// Whether "Which key is this?" and "Test this passkey" can work here (a security key, or
    /// a software authenticator of this demo).
    pub can_check: bool,
}

/// Where the passkey was found by [`which_passkey`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct WhichView {
    /// The ZITADEL passkey id.
    pub id: String,
    /// `security-key` or `software`.
    pub kind: &'static str,
    /// The model (from the key's AAGUID, else the inventory).
    pub model: String,
    /// `USB`, `NFC` or `software`.
    pub transport: String,
    /// The key, for a security key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub key: Option<KeySummary>,
    /// Whether the key is blinking now.
    pub winked: bool,
}

/// What the commands need from the active instance.
struct Context {
    api: passkeys_core::zitadel::ZitadelClient,
    instance: String,
    demo: Option<Arc<DemoShelf>>,
}

async fn context(state: &AppState) -> Result<Context, IpcError> {
    let (api, _) = state.api().await?;
    let active = state.active.lock().await;
    let active = active.as_ref().ok_or_else(no_instance)?;
    Ok(Context {
        instance: api.base().as_str().trim_end_matches('/').to_string(),
        api,
        demo: active.demo_shelf.clone(),
    })
}

fn inventory(ctx: &Context) -> Inventory {
    match &ctx.demo {
        Some(shelf) => Inventory::load(&shelf.inventory_path()),
        None => Inventory::open_default(),
    }
}

fn can_check(entry: &InventoryEntry, demo: bool) -> bool {
    match entry.kind {
        AuthenticatorKind::Usb | AuthenticatorKind::Nfc => !demo,
        AuthenticatorKind::Software => demo,
        AuthenticatorKind::Platform => false,
    }
}

fn entry_for(ctx: &Context, id: &str) -> Result<InventoryEntry, IpcError> {
    let entry = inventory(ctx)
        .find(&ctx.instance, id)
        .cloned()
        .ok_or_else(|| Error::NotInInventory { id: id.to_string() })?;
    if !can_check(&entry, ctx.demo.is_some()) {
        let why = match entry.kind {
            AuthenticatorKind::Platform => "passkeys of this computer or a phone live in your browser's or the system's keychain; this app cannot ask them".to_string(),
            _ => format!(
                "\"{}\" is on a software authenticator this app cannot reach; use `passkeys which` / `passkeys test` with --authenticator soft:PATH",
                entry.name
            ),
        };
        return Err(IpcError::app("cannot_check", why));
    }
    Ok(entry)
}

fn not_held(entry: &InventoryEntry) -> IpcError {
    AuthenticatorError::NotFound(format!(
        "none of the attached authenticators holds \"{}\"; it was made on a {} ({}): attach that key (or hold it on the NFC reader) and try again",
        entry.name,
        entry.model,
        entry.transport_label()
    ))
    .into()
}

/// The person's passkeys, each with the model when this computer enrolled it.
#[tauri::command]
pub async fn list_known_passkeys(
    state: State<'_, AppState>,
) -> Result<Vec<KnownPasskeyView>, IpcError> {
    let ctx = context(&state).await?;
    let list = ctx.api.list_passkeys().await?;
    let inventory = inventory(&ctx);
    let demo = ctx.demo.is_some();
    Ok(inventory
        .annotate(&ctx.instance, &list)
        .into_iter()
        .map(|k| KnownPasskeyView {
            passkey: k.passkey.clone(),
            known: k.entry.is_some(),
            model: k.entry.map(|e| e.model.clone()),
            transport: k.entry.map(InventoryEntry::transport_label),
            kind: k.entry.map(|e| e.kind),
            can_check: k.entry.is_some_and(|e| can_check(e, demo)),
        })
        .collect())
}

/// Which attached key holds the passkey `id`: every key is asked silently (no touch, no PIN);
/// the one holding it blinks when it can. In demo mode: which of the demo's software
/// authenticators holds it.
#[tauri::command]
pub async fn which_passkey(state: State<'_, AppState>, id: String) -> Result<WhichView, IpcError> {
    let ctx = context(&state).await?;
    let entry = entry_for(&ctx, &id)?;
    let cancel = CancellationToken::new();
    let on_device = ctx.demo.is_none().then(|| cancel.clone());
    state
        .cancellable_with(on_device, async move {
            if let Some(shelf) = ctx.demo {
                let mut kept = shelf.authenticators.lock().await;
                for authenticator in kept.iter_mut() {
                    if selftest::holds(authenticator.as_mut(), &entry).await? {
                        return Ok(WhichView {
                            id,
                            kind: "software",
                            model: entry.model.clone(),
                            transport: entry.transport_label(),
                            key: None,
                            winked: false,
                        });
                    }
                }
                return Err(not_held(&entry));
            }
            let credential_id = credential_id(&entry)?;
            let mut devices = discovery::open_all(Arc::new(NoPrompt), cancel).await?;
            let i = find_holder(&mut devices, &entry.rp_id, &credential_id)
                .await?
                .ok_or_else(|| not_held(&entry))?;
            let summary = discovery::summary(&devices[i]);
            let winked = passkeys_ctap::manage::wink(&mut devices[i]).await.is_ok();
            tracing::info!(
                "passkey {id} is on the {} over {}",
                summary.model,
                summary.transport
            );
            Ok(WhichView {
                id,
                kind: "security-key",
                model: summary.model.clone(),
                transport: summary.transport.to_uppercase(),
                key: Some(summary),
                winked,
            })
        })
        .await
}

fn credential_id(entry: &InventoryEntry) -> Result<Vec<u8>, IpcError> {
    b64::decode_lenient(&entry.credential_id).map_err(|e| {
        Error::Config(format!("the inventory's credential id is damaged ({e})")).into()
    })
}

/// Signs in once with the passkey `id` on the authenticator that holds it and checks the
/// answer here. What the key asks (PIN, touch) goes to `on_prompt`; the PIN comes back through
/// `answer_pin`; `cancel` stops it (on the key too). A self-test that fails is a result
/// (`passed: false`, with the reason), not an error; errors are for finding the key.
#[tauri::command]
pub async fn test_passkey(
    state: State<'_, AppState>,
    id: String,
    on_prompt: Channel<PromptEvent>,
) -> Result<SelfTestOutcome, IpcError> {
    let ctx = context(&state).await?;
    let entry = entry_for(&ctx, &id)?;
    let prompt = state.prompt.clone();
    let cancel = CancellationToken::new();
    let on_device = ctx.demo.is_none().then(|| cancel.clone());
    state
        .cancellable_with(on_device, async move {
            // Attached only once this is the running operation (a `busy` call changes nothing).
            prompt.attach(on_prompt);
            let result = async {
                let result = if let Some(shelf) = ctx.demo {
                    let mut kept = shelf.authenticators.lock().await;
                    let mut holder = None;
                    for (i, authenticator) in kept.iter_mut().enumerate() {
                        if selftest::holds(authenticator.as_mut(), &entry).await? {
                            holder = Some(i);
                            break;
                        }
                    }
                    let i = holder.ok_or_else(|| not_held(&entry))?;
                    selftest::test_entry(kept[i].as_mut(), &entry).await
                } else {
                    let credential_id = credential_id(&entry)?;
                    let dyn_prompt: Arc<dyn Prompt> = prompt.clone();
                    let mut devices = discovery::open_all(dyn_prompt, cancel).await?;
                    let i = find_holder(&mut devices, &entry.rp_id, &credential_id)
                        .await?
                        .ok_or_else(|| not_held(&entry))?;
                    let mut key = SecurityKey::new(devices.swap_remove(i), Discoverable::Auto);
                    drop(devices);
                    selftest::test_entry(&mut key, &entry).await
                };
                if let Err(selftest::SelfTestError::Authenticator(AuthenticatorError::Cancelled)) =
                    &result
                {
                    return Err(Error::Cancelled.into());
                }
                match &result {
                    Ok(_) => tracing::info!("self-test of passkey {id} passed"),
                    Err(e) => {
                        tracing::warn!("self-test of passkey {id} failed ({}): {e}", e.code())
                    }
                }
                Ok(SelfTestOutcome::from(result))
            }
            .await;
            prompt.detach();
            result
        })
        .await
}
