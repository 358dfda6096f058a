//! The "Security keys" page: managing any CTAP2 security key (USB, NFC) from the app, the twin of
//! `passkeys key …` in the CLI (same `passkeys_ctap` calls: `manage`, `credmgmt`, `bio`).
//!
//! Every command opens the key afresh for its one operation (`key:N` as `list_keys` reported it,
//! or `key`: the only one, or the one touched among several) and runs as the app's cancellable
//! operation: Cancel cancels on the key, and a key used by a cancelled operation is never reused.
//! What the key asks (PIN, touch) goes to `onPrompt`; PINs come back through `answer_pin` and stay
//! [`Secret`]s (never logged). Argument-only rules (a credential id, the RESET word) are checked
//! before any key is touched.

use std::sync::Arc;
use std::time::Duration;

use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::prompt::{PinRequest, Prompt};
use passkeys_core::zitadel::ZitadelClient;
use passkeys_core::Secret;
use passkeys_ctap::bio::{Fingerprint, Sample};
use passkeys_ctap::credmgmt::{self, InstanceView, RelyingParty, Standing, StoredCredential};
use passkeys_ctap::manage::{self, AnyToken, KeyReport};
use passkeys_ctap::{discovery, CancellationToken, CredentialSlots, Device};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::ipc_error::IpcError;
use crate::prompt::{AppPrompt, PromptEvent};
use crate::state::AppState;

/// How long touch-to-select waits when several keys are attached.
const SELECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the reset waits for the key to be removed and inserted again.
const REINSERT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the reset waits for the touch after re-insertion.
const RESET_TOUCH_TIMEOUT: Duration = Duration::from_secs(30);
/// The word the person types to confirm a reset.
pub const RESET_WORD: &str = "RESET";
/// A new PIN's maximum length in UTF-8 bytes (CTAP 2.1 §6.5.5).
const PIN_MAX_BYTES: usize = 63;

type Key = Device<AnyToken>;

/// One passkey stored on the key, with ZITADEL's view of it when signed in.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CredentialView {
    /// The credential (id, user id, user name, display name, credProtect).
    #[serde(flatten)]
    pub credential: StoredCredential,
    /// `{status: other|known|orphan|unknown, ...}` when compared with the signed-in account.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub zitadel: Option<Standing>,
}

/// The passkeys of one site on the key.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SiteView {
    /// The rpId.
    pub rp_id: String,
    /// The site's name, when stored.
    pub name: Option<String>,
    /// Its passkeys.
    pub credentials: Vec<CredentialView>,
}

/// What `key_credentials` returns.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct KeyCredentials {
    /// By site.
    pub sites: Vec<SiteView>,
    /// Stored / remaining slots, when the key says.
    pub slots: Option<CredentialSlots>,
    /// The instance the credentials were compared with (signed in), else `None`.
    pub compared_with: Option<String>,
    /// Why they were not compared (not signed in, network...), for the detail line.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub not_compared: Option<String>,
}

/// A step of the reset ceremony.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "step", rename_all = "camelCase")]
pub enum ResetStep {
    /// Remove the key and insert it again now (NFC: off the reader and back).
    #[serde(rename_all = "camelCase")]
    Reinsert {
        /// `usb` or `nfc`.
        transport: &'static str,
        /// The key wants a long press for the reset.
        long_touch: bool,
        /// The reset window after power-up, in seconds.
        window_secs: u64,
        /// The engine's wording (English), as detail.
        guide: String,
    },
    /// The key is back: touch it (or hold its button) now.
    #[serde(rename_all = "camelCase")]
    Touch {
        /// Hold the button for a few seconds.
        long_touch: bool,
    },
}

fn unknown_key(id: &str) -> IpcError {
    IpcError::app(
        "unknown_authenticator",
        format!("the security key {id:?} is not available (use key or key:N from list_keys)"),
    )
}

fn no_key() -> IpcError {
    AuthenticatorError::NotFound(discovery::no_key_hint()).into()
}

/// `key` → `None` (the only or the touched one), `key:N` → `Some(N)`.
fn parse_key(id: &str) -> Result<Option<usize>, IpcError> {
    if id == "key" {
        return Ok(None);
    }
    id.strip_prefix("key:")
        .and_then(|n| n.parse().ok())
        .map(Some)
        .ok_or_else(|| unknown_key(id))
}

fn parse_id(id: &str, what: &str) -> Result<Vec<u8>, IpcError> {
    passkeys_core::b64::decode_lenient(id.trim())
        .ok()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            IpcError::app(
                "invalid_id",
                format!("{id:?} is not a {what} id (base64url, as the page listed it)"),
            )
        })
}

/// Opens the key for one operation.
async fn open(
    index: Option<usize>,
    prompt: Arc<AppPrompt>,
    cancel: CancellationToken,
) -> Result<Key, IpcError> {
    let dyn_prompt: Arc<dyn Prompt> = prompt.clone();
    let mut devices = discovery::open_all(dyn_prompt, cancel.clone()).await?;
    match index {
        Some(i) if i < devices.len() => Ok(devices.swap_remove(i)),
        Some(_) => Err(no_key()),
        None if devices.is_empty() => Err(no_key()),
        None => {
            if devices.len() > 1 {
                prompt.send(PromptEvent::TouchToSelect);
            }
            Ok(discovery::select_by_touch(devices, &cancel, SELECT_TIMEOUT).await?)
        }
    }
}

/// Runs `op` on the freshly opened key `key` as the one cancellable operation, with the key's
/// prompts on `on_prompt`.
async fn on_key<T, F, Fut>(
    state: &AppState,
    key: &str,
    on_prompt: Option<Channel<PromptEvent>>,
    op: F,
) -> Result<T, IpcError>
where
    T: Send + 'static,
    F: FnOnce(Key, Arc<AppPrompt>, CancellationToken) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, IpcError>> + Send + 'static,
{
    let index = parse_key(key)?;
    let cancel = CancellationToken::new();
    let prompt = state.prompt.clone();
    let on_device = cancel.clone();
    state
        .cancellable_with(Some(on_device), async move {
            // Attached only once this is the running operation (a `busy` call changes nothing).
            if let Some(channel) = on_prompt {
                prompt.attach(channel);
            }
            let result = async {
                let device = open(index, prompt.clone(), cancel.clone()).await?;
                op(device, prompt.clone(), cancel).await
            }
            .await;
            prompt.detach();
            if let Err(e) = &result {
                tracing::warn!("security key operation failed ({}): {}", e.code, e.message);
            }
            result
        })
        .await
}

/// Asks for a PIN through the window; `None` (Cancel) becomes `cancelled`.
async fn ask(prompt: &AppPrompt, request: PinRequest) -> Result<Secret, IpcError> {
    prompt
        .request_pin(&request)
        .await
        .ok_or_else(|| passkeys_core::Error::Cancelled.into())
}

/// The signed-in account's view for the orphan check: `Ok(None)` when nobody is signed in.
async fn instance_view(state: &AppState) -> Result<Option<InstanceView>, IpcError> {
    let issuer = {
        let active = state.active.lock().await;
        match active.as_ref() {
            Some(a) if a.session.is_some() => a.profile.issuer.clone(),
            _ => return Ok(None),
        }
    };
    let (api, _) = state.api().await?;
    let instance = passkeys_core::config::parse_issuer(&issuer)?.url;
    Ok(Some(view_of(&api, instance).await?))
}

/// Same rule as `passkeys key credentials`: the user id, the READY passkeys' token ids and the
/// local inventory's credential ids for this instance.
async fn view_of(api: &ZitadelClient, instance: reqwest::Url) -> Result<InstanceView, IpcError> {
    Ok(InstanceView::load(api, instance).await?)
}

fn site_views(rps: Vec<RelyingParty>, view: Option<&InstanceView>) -> Vec<SiteView> {
    rps.into_iter()
        .map(|rp| {
            let credentials = rp
                .credentials
                .iter()
                .map(|c| CredentialView {
                    zitadel: view.map(|v| credmgmt::classify(&rp, c, v)),
                    credential: c.clone(),
                })
                .collect();
            SiteView {
                rp_id: rp.rp_id,
                name: rp.name,
                credentials,
            }
        })
        .collect()
}

/// The key's report: model, firmware, versions, transports, options, PIN state and attempts
/// left, built-in UV, alwaysUv, minimum PIN length, room for passkeys. Asks for nothing.
#[tauri::command]
pub async fn key_info(state: State<'_, AppState>, key: String) -> Result<KeyReport, IpcError> {
    on_key(&state, &key, None, |mut device, _, _| async move {
        Ok(device.report(false).await?)
    })
    .await
}

/// Sets the first PIN on a key without one (the new PIN is asked for on `onPrompt`, typed
/// twice in the window).
#[tauri::command]
pub async fn key_set_pin(
    state: State<'_, AppState>,
    key: String,
    on_prompt: Channel<PromptEvent>,
) -> Result<(), IpcError> {
    on_key(
        &state,
        &key,
        Some(on_prompt),
        |mut device, prompt, _| async move {
            match device.info().client_pin() {
                Some(true) => {
                    return Err(AuthenticatorError::PinPolicy(
                        "this key already has a PIN; change it instead".into(),
                    )
                    .into())
                }
                None => {
                    return Err(AuthenticatorError::NotSupported(
                        "this security key has no PIN support".into(),
                    )
                    .into())
                }
                Some(false) => {}
            }
            let pin = ask(
                &prompt,
                PinRequest::SetNew {
                    min_length: device.info().min_pin_len(),
                    max_bytes: PIN_MAX_BYTES,
                },
            )
            .await?;
            device.set_first_pin(&pin).await?;
            tracing::info!("a PIN was set on the security key");
            Ok(())
        },
    )
    .await
}

/// Changes the PIN: the current one (with the attempts left), then the new one, both asked for
/// on `onPrompt`. Blocked PINs are refused before anything is asked.
#[tauri::command]
pub async fn key_change_pin(
    state: State<'_, AppState>,
    key: String,
    on_prompt: Channel<PromptEvent>,
) -> Result<(), IpcError> {
    on_key(
        &state,
        &key,
        Some(on_prompt),
        |mut device, prompt, _| async move {
            let r = device.report(false).await?;
            if r.pin != "set" {
                return Err(AuthenticatorError::PinNotSet("set one first".into()).into());
            }
            if r.pin_retries == Some(0) {
                return Err(AuthenticatorError::PinBlocked.into());
            }
            if r.pin_power_cycle_required {
                return Err(AuthenticatorError::PinAuthBlocked.into());
            }
            let current = ask(
                &prompt,
                PinRequest::Enter {
                    attempts_left: r.pin_retries,
                    after_wrong_pin: false,
                },
            )
            .await?;
            let new = ask(
                &prompt,
                PinRequest::SetNew {
                    min_length: r.min_pin_length,
                    max_bytes: PIN_MAX_BYTES,
                },
            )
            .await?;
            device.change_pin(&current, &new).await?;
            tracing::info!("the security key's PIN was changed");
            Ok(())
        },
    )
    .await
}

/// The passkeys stored on the key, by site, with the slots; when signed in, each one's standing
/// with the account (known / orphan / cannot tell / another site or account). Asks for the PIN.
#[tauri::command]
pub async fn key_credentials(
    state: State<'_, AppState>,
    key: String,
    on_prompt: Channel<PromptEvent>,
) -> Result<KeyCredentials, IpcError> {
    // ZITADEL first (network), so the key's PIN token is not kept waiting.
    let (view, not_compared) = match instance_view(&state).await {
        Ok(v) => (v, None),
        Err(e) => (None, Some(e.message)),
    };
    on_key(
        &state,
        &key,
        Some(on_prompt),
        |mut device, _, _| async move {
            let mut cm = device.credential_manager().await?;
            let slots = cm.metadata().await.ok();
            let rps = cm.list().await?;
            Ok(KeyCredentials {
                compared_with: view.as_ref().map(|v| v.instance.to_string()),
                sites: site_views(rps, view.as_ref()),
                slots,
                not_compared,
            })
        },
    )
    .await
}

/// Deletes one passkey from the key (it stops working everywhere; the window confirms first,
/// naming it). Asks for the PIN.
#[tauri::command]
pub async fn key_delete_credential(
    state: State<'_, AppState>,
    key: String,
    id: String,
    on_prompt: Channel<PromptEvent>,
) -> Result<(), IpcError> {
    let bytes = parse_id(&id, "passkey")?;
    on_key(
        &state,
        &key,
        Some(on_prompt),
        |mut device, _, _| async move {
            let mut cm = device.credential_manager().await?;
            cm.delete(&bytes).await?;
            tracing::info!("deleted passkey {id} from the security key");
            Ok(())
        },
    )
    .await
}

/// Deletes the orphans among `ids`: the key is read again and only credentials that are orphans
/// of the signed-in account now are deleted (never one that is known or cannot be told). Returns
/// the ids deleted. Needs a signed-in session; asks for the PIN.
#[tauri::command]
pub async fn key_delete_orphans(
    state: State<'_, AppState>,
    key: String,
    ids: Vec<String>,
    on_prompt: Channel<PromptEvent>,
) -> Result<Vec<String>, IpcError> {
    let view = instance_view(&state)
        .await?
        .ok_or(passkeys_core::Error::NotSignedIn)?;
    on_key(
        &state,
        &key,
        Some(on_prompt),
        |mut device, _, _| async move {
            let mut cm = device.credential_manager().await?;
            let rps = cm.list().await?;
            let orphans: Vec<StoredCredential> = rps
                .iter()
                .flat_map(|rp| {
                    rp.credentials
                        .iter()
                        .filter(|c| {
                            ids.contains(&c.id)
                                && matches!(
                                    credmgmt::classify(rp, c, &view),
                                    Standing::Orphan { .. }
                                )
                        })
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .collect();
            let mut deleted = Vec::new();
            for c in orphans {
                cm.delete(&c.id_bytes).await?;
                deleted.push(c.id);
            }
            tracing::info!(
                "deleted {} orphaned passkey(s) from the security key",
                deleted.len()
            );
            Ok(deleted)
        },
    )
    .await
}

/// The fingerprints enrolled on the key. Asks for the PIN.
#[tauri::command]
pub async fn key_fingerprints(
    state: State<'_, AppState>,
    key: String,
    on_prompt: Channel<PromptEvent>,
) -> Result<Vec<Fingerprint>, IpcError> {
    on_key(
        &state,
        &key,
        Some(on_prompt),
        |mut device, _, _| async move { Ok(device.bio_manager().await?.list().await?) },
    )
    .await
}

/// Enrolls a fingerprint, sending every sample's feedback and the samples still needed on
/// `onSample`; names it when `name` is given. Asks for the PIN; Cancel stops it on the key.
#[tauri::command]
pub async fn key_enroll_fingerprint(
    state: State<'_, AppState>,
    key: String,
    name: Option<String>,
    on_prompt: Channel<PromptEvent>,
    on_sample: Channel<Sample>,
) -> Result<Fingerprint, IpcError> {
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    on_key(
        &state,
        &key,
        Some(on_prompt),
        |mut device, _, _| async move {
            let mut bio = device.bio_manager().await?;
            let fp = bio
                .enroll(name.as_deref(), |s| {
                    let _ = on_sample.send(s.clone());
                })
                .await?;
            tracing::info!("fingerprint {} enrolled", fp.id);
            Ok(fp)
        },
    )
    .await
}

/// Renames a fingerprint. Asks for the PIN.
#[tauri::command]
pub async fn key_rename_fingerprint(
    state: State<'_, AppState>,
    key: String,
    id: String,
    name: String,
    on_prompt: Channel<PromptEvent>,
) -> Result<(), IpcError> {
    let bytes = parse_id(&id, "fingerprint")?;
    let name = name.trim().to_string();
    on_key(
        &state,
        &key,
        Some(on_prompt),
        |mut device, _, _| async move {
            Ok(device.bio_manager().await?.rename(&bytes, &name).await?)
        },
    )
    .await
}

/// Removes a fingerprint. Asks for the PIN.
#[tauri::command]
pub async fn key_remove_fingerprint(
    state: State<'_, AppState>,
    key: String,
    id: String,
    on_prompt: Channel<PromptEvent>,
) -> Result<(), IpcError> {
    let bytes = parse_id(&id, "fingerprint")?;
    on_key(
        &state,
        &key,
        Some(on_prompt),
        |mut device, _, _| async move { Ok(device.bio_manager().await?.remove(&bytes).await?) },
    )
    .await
}

/// Factory-resets the key: erases every passkey on it (for every site), its PIN and
/// fingerprints. `confirm` must be exactly `RESET` (checked before any key is touched). The
/// steps (re-insert the key, then touch it) go to `onStep`; a different model inserted is
/// refused without erasing anything.
#[tauri::command]
pub async fn key_reset(
    state: State<'_, AppState>,
    key: String,
    confirm: String,
    on_prompt: Channel<PromptEvent>,
    on_step: Channel<ResetStep>,
) -> Result<(), IpcError> {
    if confirm != RESET_WORD {
        return Err(IpcError::app(
            "not_confirmed",
            format!("type {RESET_WORD} exactly to reset the key; nothing was changed"),
        ));
    }
    on_key(
        &state,
        &key,
        Some(on_prompt),
        |mut device, prompt, cancel| async move {
            let extra = device.extra_info().await?;
            device.reset_allowed_here(&extra)?;
            let aaguid = device.info().aaguid;
            let transport = device.transport();
            drop(device);
            let _ = on_step.send(ResetStep::Reinsert {
                transport: passkeys_ctap::device::transport_name(transport.clone()),
                long_touch: extra.long_touch_for_reset,
                window_secs: manage::RESET_WINDOW_SECS,
                guide: manage::reset_guide(transport, extra.long_touch_for_reset),
            });
            let mut device = manage::wait_for_reinsert(prompt, cancel, REINSERT_TIMEOUT).await?;
            if device.info().aaguid != aaguid {
                return Err(IpcError::app(
                    "different_key",
                    "a different key model was inserted; nothing was erased. Insert the key you chose and start the reset again",
                ));
            }
            let _ = on_step.send(ResetStep::Touch {
                long_touch: extra.long_touch_for_reset,
            });
            device.reset(RESET_TOUCH_TIMEOUT).await?;
            tracing::info!("the security key was reset");
            Ok(())
        },
    )
    .await
}

/// Makes a USB key blink (identify), when it supports wink.
#[tauri::command]
pub async fn key_wink(state: State<'_, AppState>, key: String) -> Result<(), IpcError> {
    on_key(&state, &key, None, |mut device, _, _| async move {
        Ok(manage::wink(&mut device).await?)
    })
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn key_ids_are_key_or_key_n() {
        assert_eq!(parse_key("key").unwrap(), None);
        assert_eq!(parse_key("key:2").unwrap(), Some(2));
        for bad in ["", "key:", "key:x", "usb:0", "software"] {
            assert_eq!(parse_key(bad).unwrap_err().code, "unknown_authenticator");
        }
        assert_eq!(parse_id("", "passkey").unwrap_err().code, "invalid_id");
        assert_eq!(parse_id("AQID", "passkey").unwrap(), vec![1, 2, 3]);
    }

    #[test]
    fn reset_steps_serialize_for_the_window() {
        let step = ResetStep::Reinsert {
            transport: "usb",
            long_touch: true,
            window_secs: 10,
            guide: "Unplug".into(),
        };
        assert_eq!(
            serde_json::to_value(step).unwrap(),
            serde_json::json!({"step": "reinsert", "transport": "usb", "longTouch": true, "windowSecs": 10, "guide": "Unplug"})
        );
    }
}
