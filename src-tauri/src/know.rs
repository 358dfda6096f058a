//! Know your passkeys (issue 8) in the app: the authenticator model beside each passkey the
//! inventory knows ("enrolled elsewhere" for the others), "Which key is this?" (a silent probe of
//! the attached keys; the one holding the passkey blinks) and "Test this passkey" (the self-test
//! on demand). Thin commands over `passkeys_service::locate` in the instance's environment (its
//! inventory and authenticators), as `passkeys which` / `passkeys test` in the CLI.

use std::sync::Arc;

use passkeys_core::authenticator::{AuthenticatorError, AuthenticatorKind};
use passkeys_core::inventory::InventoryEntry;
use passkeys_core::prompt::{NoPrompt, Prompt};
use passkeys_core::selftest::{self, SelfTestOutcome};
use passkeys_core::zitadel::Passkey;
use passkeys_core::{Error, ErrorCode};
use passkeys_ctap::discovery::KeySummary;
use passkeys_ctap::CancellationToken;
use passkeys_service::environment::Unreachable;
use passkeys_service::locate::{self, Holder, LocateError};
use passkeys_service::{AuthenticatorChoice, Environment};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::ipc_error::IpcError;
use crate::prompt::PromptEvent;
use crate::state::AppState;

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
    /// Stored on a security key (discoverable, USB or NFC): removing it from ZITADEL leaves it
    /// there, so the confirmation says so.
    pub on_key: bool,
    /// Whether "Which key is this?" and "Test this passkey" can work here (the environment
    /// reaches its authenticator).
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
    env: Arc<Environment>,
}

async fn context(state: &AppState) -> Result<Context, IpcError> {
    let (api, env) = state.api().await?;
    Ok(Context {
        instance: passkeys_service::passkeys::instance_of(&api),
        api,
        env,
    })
}

/// Where "Which key" and "Test" look: every authenticator the environment reaches.
const EVERYWHERE: AuthenticatorChoice = AuthenticatorChoice::AUTO;

fn can_check(env: &Environment, entry: &InventoryEntry) -> bool {
    env.authenticators.reach(&EVERYWHERE, entry.kind).is_ok()
}

fn cannot_check(why: Unreachable, entry: &InventoryEntry) -> IpcError {
    let why = match why {
        Unreachable::Platform => "passkeys of this computer or a phone live in your browser's or the system's keychain; this app cannot ask them".to_string(),
        Unreachable::Software | Unreachable::SecurityKey => format!(
            "\"{}\" is on a software authenticator this app cannot reach; use `passkeys which` / `passkeys test` with --authenticator soft:PATH",
            entry.name
        ),
    };
    IpcError::app(ErrorCode::CannotCheck, why)
}

fn locate_error(e: LocateError) -> IpcError {
    match e {
        LocateError::Unreachable { why, entry } => cannot_check(why, &entry),
        LocateError::Failed(e) => e.into(),
    }
}

fn entry_for(ctx: &Context, id: &str) -> Result<InventoryEntry, IpcError> {
    let entry = locate::entry(&ctx.env.inventory.open(), &ctx.instance, id)?;
    locate::check_reachable(ctx.env.authenticators.as_ref(), &entry, &EVERYWHERE)
        .map_err(locate_error)?;
    Ok(entry)
}

/// Security keys are cancelled on the device; software authenticators are aborted.
fn on_device(entry: &InventoryEntry, cancel: &CancellationToken) -> Option<CancellationToken> {
    matches!(entry.kind, AuthenticatorKind::Usb | AuthenticatorKind::Nfc).then(|| cancel.clone())
}

/// The person's passkeys, each with the model when this computer enrolled it.
#[tauri::command]
pub async fn list_known_passkeys(
    state: State<'_, AppState>,
) -> Result<Vec<KnownPasskeyView>, IpcError> {
    let ctx = context(&state).await?;
    let list = ctx.api.list_passkeys().await?;
    let inventory = ctx.env.inventory.open();
    Ok(inventory
        .annotate(&ctx.instance, &list)
        .into_iter()
        .map(|k| KnownPasskeyView {
            passkey: k.passkey.clone(),
            known: k.entry.is_some(),
            model: k.entry.map(|e| e.model.clone()),
            transport: k.entry.map(InventoryEntry::transport_label),
            kind: k.entry.map(|e| e.kind),
            on_key: k.entry.is_some_and(InventoryEntry::stored_on_security_key),
            can_check: k.entry.is_some_and(|e| can_check(&ctx.env, e)),
        })
        .collect())
}

/// Which attached key holds the passkey `id`: every key the environment reaches is asked
/// silently (no touch, no PIN); the one holding it blinks when it can.
#[tauri::command]
pub async fn which_passkey(state: State<'_, AppState>, id: String) -> Result<WhichView, IpcError> {
    let ctx = context(&state).await?;
    let entry = entry_for(&ctx, &id)?;
    let cancel = CancellationToken::new();
    let on_device = on_device(&entry, &cancel);
    state
        .cancellable_with(on_device, async move {
            let holder = locate::which(
                ctx.env.authenticators.as_ref(),
                &entry,
                &EVERYWHERE,
                Arc::new(NoPrompt),
                cancel,
            )
            .await
            .map_err(locate_error)?;
            Ok(match holder {
                Holder::SecurityKey { key, winked } => {
                    tracing::info!(
                        "passkey {id} is on the {} over {}",
                        key.model,
                        key.transport
                    );
                    WhichView {
                        id,
                        kind: "security-key",
                        model: key.model.clone(),
                        transport: key.transport.to_uppercase(),
                        key: Some(key),
                        winked,
                    }
                }
                Holder::Software { .. } => WhichView {
                    id,
                    kind: "software",
                    model: entry.model.clone(),
                    transport: entry.transport_label(),
                    key: None,
                    winked: false,
                },
            })
        })
        .await
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
    let on_device = on_device(&entry, &cancel);
    state
        .cancellable_with(on_device, async move {
            // Attached only once this is the running operation (a `busy` call changes nothing).
            prompt.attach(on_prompt);
            let result = async {
                let dyn_prompt: Arc<dyn Prompt> = prompt.clone();
                let result = locate::test(
                    ctx.env.authenticators.as_ref(),
                    &entry,
                    &EVERYWHERE,
                    dyn_prompt,
                    cancel,
                    &|_| {},
                )
                .await
                .map_err(locate_error)?;
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
