//! The "Security keys" page: managing any CTAP2 security key (USB, NFC) from the app, the twin of
//! `passkeys key …` in the CLI (the same `passkeys_service::key_ops` ceremonies, and
//! `passkeys_ctap`'s `manage`, `credmgmt`, `bio` for single calls).
//!
//! Every command opens the key afresh for its one operation (`key:N` as `list_keys` reported it,
//! or `key`: the only one, or the one touched among several) and runs as the app's cancellable
//! operation: Cancel cancels on the key, and a key used by a cancelled operation is never reused.
//!
//! One PIN per visit: the management pinUvAuthToken the key gives for the PIN is kept in
//! [`AppState`]'s `passkeys_ctap::session::TokenCache` (never the PIN), so listing, deleting and
//! changing the key's settings in a row asks once. It is zeroized when the page is left
//! (`key_forget`, which the page also calls when the key disappears from its list), when the
//! key cannot be reached, when the instance is closed, after
//! [`passkeys_ctap::session::IDLE_TIMEOUT`] without use, after a PIN change or reset, and when
//! the key refuses it (then the PIN is asked once more).
//! What the key asks (PIN, touch) goes to `onPrompt`; PINs come back through `answer_pin` and stay
//! [`Secret`]s (never logged). Argument-only rules (a credential id, the RESET word) are checked
//! before any key is touched.

use std::sync::Arc;
use std::time::Duration;

use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::prompt::{PinRequest, Prompt, MAX_PIN_BYTES};
use passkeys_core::{ErrorCode, Secret};
use passkeys_ctap::bio::{Fingerprint, Sample};
use passkeys_ctap::credmgmt::StoredCredential;
use passkeys_ctap::manage::{self, KeyReport};
use passkeys_ctap::session::TokenCache;
use passkeys_ctap::{CancellationToken, CredentialSlots};
use passkeys_service::choose::{self, Key};
use passkeys_service::key_ops::{self, InstanceView, KeyOpError, Refusal, Site, Standing};
use passkeys_service::AuthenticatorChoice;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::ipc_error::IpcError;
use crate::prompt::{AppPrompt, PromptEvent};
use crate::state::AppState;

/// The word the person types to confirm a reset.
pub const RESET_WORD: &str = "RESET";

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
        ErrorCode::UnknownAuthenticator,
        format!("the security key {id:?} is not available (use key or key:N from list_keys)"),
    )
}

/// `key` → `None` (the only or the touched one), `key:N` → `Some(N)`: the ids `list_keys`
/// gives (any transport).
fn parse_key(id: &str) -> Result<Option<usize>, IpcError> {
    match id.parse::<AuthenticatorChoice>() {
        Ok(AuthenticatorChoice::Key(k)) if k.transport.is_none() && id.starts_with("key") => {
            Ok(k.index)
        }
        _ => Err(unknown_key(id)),
    }
}

/// Words a refused or failed key operation.
fn key_op_error(e: KeyOpError) -> IpcError {
    match e {
        KeyOpError::Refused(Refusal::PinAlreadySet) => AuthenticatorError::PinPolicy(
            "this key already has a PIN; change it instead".into(),
        )
        .into(),
        KeyOpError::Refused(Refusal::PinNotSet) => {
            AuthenticatorError::PinNotSet("set one first".into()).into()
        }
        KeyOpError::Refused(Refusal::DifferentKey) => IpcError::app(
            ErrorCode::DifferentKey,
            "a different key model was inserted; nothing was erased. Insert the key you chose and start the reset again",
        ),
        KeyOpError::Failed(e) => e.into(),
    }
}

fn parse_id(id: &str, what: &str) -> Result<Vec<u8>, IpcError> {
    passkeys_core::b64::decode_lenient(id.trim())
        .ok()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            IpcError::app(
                ErrorCode::InvalidId,
                format!("{id:?} is not a {what} id (base64url, as the page listed it)"),
            )
        })
}

/// Which key a page operation is for: an attached one (`key`, `key:N`) or the demo's practice
/// key (`practice`).
enum Target {
    Attached(Option<usize>),
    Practice(passkeys_ctap::practice::PracticeKey),
}

async fn target(state: &AppState, id: &str) -> Result<Target, IpcError> {
    if id == crate::practice::ID {
        return crate::practice::key(state)
            .await
            .map(Target::Practice)
            .ok_or_else(|| unknown_key(id));
    }
    parse_key(id).map(Target::Attached)
}

/// Opens the key for one operation (several attached: the window asks for a touch).
async fn open(
    target: Target,
    prompt: Arc<AppPrompt>,
    cancel: CancellationToken,
) -> Result<Key, IpcError> {
    let dyn_prompt: Arc<dyn Prompt> = prompt.clone();
    let index = match target {
        Target::Practice(key) => return Ok(choose::open_practice(&key, dyn_prompt, &cancel).await?),
        Target::Attached(index) => index,
    };
    let choice = choose::KeyChoice {
        transport: None,
        index,
    };
    let on_several = move || prompt.send(PromptEvent::TouchToSelect);
    Ok(choose::open_key(choice, dyn_prompt, &cancel, &on_several).await?)
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
    let target = target(state, key).await?;
    let cancel = CancellationToken::new();
    let prompt = state.prompt.clone();
    let on_device = cancel.clone();
    let tokens = state.key_tokens.clone();
    state
        .cancellable_with(Some(on_device), async move {
            // Attached only once this is the running operation (a `busy` call changes nothing).
            if let Some(channel) = on_prompt {
                prompt.attach(channel);
            }
            let result = async {
                let mut device = open(target, prompt.clone(), cancel.clone()).await?;
                device.use_token_cache(tokens.clone());
                op(device, prompt.clone(), cancel).await
            }
            .await;
            prompt.detach();
            if let Err(e) = &result {
                if matches!(
                    e.code,
                    ErrorCode::AuthenticatorDisconnected | ErrorCode::AuthenticatorNotFound
                ) {
                    // The key went away: its token is useless, and is not kept.
                    tokens.clear();
                }
            }
            expire_when_idle(tokens);
            if let Err(e) = &result {
                tracing::warn!("security key operation failed ({}): {}", e.code, e.message);
            }
            result
        })
        .await
}

/// Forgets the visit's token once it has been idle for
/// [`passkeys_ctap::session::IDLE_TIMEOUT`] (checked once that long after each operation).
fn expire_when_idle(tokens: Arc<TokenCache>) {
    if !tokens.is_held() {
        return;
    }
    tokio::spawn(async move {
        tokio::time::sleep(passkeys_ctap::session::IDLE_TIMEOUT + Duration::from_secs(1)).await;
        if tokens.expire_if_idle() {
            tracing::info!("forgot the security key's PIN token after idling");
        }
    });
}

/// Forgets the security key's PIN token (zeroized): the page calls it when the person leaves
/// it or the key is removed. The next operation asks for the PIN again.
#[tauri::command]
pub async fn key_forget(state: State<'_, AppState>) -> Result<bool, IpcError> {
    Ok(state.key_tokens.clear())
}

/// Asks for a PIN through the window; `None` (Cancel) becomes `cancelled`.
fn asker(
    prompt: Arc<AppPrompt>,
) -> impl FnMut(
    PinRequest,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Secret, passkeys_core::Error>> + Send>,
> {
    move |request| {
        let prompt = prompt.clone();
        Box::pin(async move {
            prompt
                .request_pin(&request)
                .await
                .ok_or(passkeys_core::Error::Cancelled)
        })
    }
}

/// The signed-in account's view for the orphan check (same rule as `passkeys key
/// credentials`: the user id, the READY passkeys' token ids and the environment's inventory for
/// this instance): `Ok(None)` when nobody is signed in.
async fn instance_view(state: &AppState) -> Result<Option<InstanceView>, IpcError> {
    let issuer = {
        let active = state.active.lock().await;
        match active.as_ref() {
            Some(a) if a.session.is_some() => a.profile.issuer.clone(),
            _ => return Ok(None),
        }
    };
    let (api, env) = state.api().await?;
    let instance = passkeys_core::config::parse_issuer(&issuer)?.url;
    Ok(Some(
        InstanceView::load(&api, instance, &env.inventory.open()).await?,
    ))
}

fn site_views(sites: Vec<Site>) -> Vec<SiteView> {
    sites
        .into_iter()
        .map(|site| SiteView {
            rp_id: site.rp_id,
            name: site.name,
            credentials: site
                .credentials
                .into_iter()
                .map(|c| CredentialView {
                    credential: c.credential,
                    zitadel: c.standing,
                })
                .collect(),
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
            key_ops::set_first_pin(&mut device, asker(prompt))
                .await
                .map_err(key_op_error)
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
            key_ops::change_pin(&mut device, asker(prompt))
                .await
                .map_err(key_op_error)
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
            let listed = key_ops::credentials(&mut device, view.as_ref())
                .await
                .map_err(key_op_error)?;
            Ok(KeyCredentials {
                compared_with: view.as_ref().map(|v| v.instance.to_string()),
                sites: site_views(listed.sites),
                slots: listed.slots,
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
            key_ops::delete_orphans(&mut cm, &view, Some(&ids))
                .await
                .map_err(key_op_error)
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
            ErrorCode::NotConfirmed,
            format!("type {RESET_WORD} exactly to reset the key; nothing was changed"),
        ));
    }
    on_key(
        &state,
        &key,
        Some(on_prompt),
        |device, prompt, cancel| async move {
            let plan = key_ops::prepare_reset(device).await.map_err(key_op_error)?;
            let on_step = move |step| {
                let _ = on_step.send(match step {
                    key_ops::ResetStep::Reinsert {
                        transport,
                        long_touch,
                        window_secs,
                    } => ResetStep::Reinsert {
                        transport: passkeys_ctap::device::transport_name(transport.clone()),
                        long_touch,
                        window_secs,
                        guide: manage::reset_guide(transport, long_touch),
                    },
                    key_ops::ResetStep::Touch { long_touch } => ResetStep::Touch { long_touch },
                });
            };
            plan.run(prompt, cancel, &on_step)
                .await
                .map_err(key_op_error)
        },
    )
    .await
}

/// Turns the key's "always require user verification" (alwaysUv) on or off
/// (authenticatorConfig toggleAlwaysUv; only on keys that list `authnrCfg` and `alwaysUv`).
/// Returns the key's report afterwards. Asks for the PIN (once per visit).
#[tauri::command]
pub async fn key_set_always_uv(
    state: State<'_, AppState>,
    key: String,
    on: bool,
    on_prompt: Channel<PromptEvent>,
) -> Result<KeyReport, IpcError> {
    on_key(
        &state,
        &key,
        Some(on_prompt),
        move |mut device, _, _| async move {
            device.set_always_uv(on).await?;
            tracing::info!(
                "alwaysUv turned {} on the security key",
                if on { "on" } else { "off" }
            );
            Ok(device.report(false).await?)
        },
    )
    .await
}

/// Raises the key's minimum PIN length to `length` code points (authenticatorConfig
/// setMinPINLength). It can never be lowered again short of a reset (the window warns first);
/// a length below the current one or above 63 is refused before the key is touched. Returns the
/// key's report afterwards. Asks for the PIN (once per visit).
#[tauri::command]
pub async fn key_set_min_pin_length(
    state: State<'_, AppState>,
    key: String,
    length: u32,
    on_prompt: Channel<PromptEvent>,
) -> Result<KeyReport, IpcError> {
    check_min_pin_length(length)?;
    on_key(
        &state,
        &key,
        Some(on_prompt),
        move |mut device, _, _| async move {
            device
                .set_min_pin_length(Some(u64::from(length)), false)
                .await?;
            tracing::info!("the security key's minimum PIN length was raised to {length}");
            Ok(device.report(false).await?)
        },
    )
    .await
}

/// A minimum PIN length CTAP can hold (4 to 63), checked before any key is touched.
fn check_min_pin_length(length: u32) -> Result<(), IpcError> {
    let min = passkeys_core::prompt::DEFAULT_MIN_PIN_LENGTH;
    match usize::try_from(length) {
        Ok(n) if (min..=MAX_PIN_BYTES).contains(&n) => Ok(()),
        _ => Err(AuthenticatorError::PinPolicy(format!(
            "a minimum PIN length is between {min} and {MAX_PIN_BYTES} characters; nothing was changed"
        ))
        .into()),
    }
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
            assert_eq!(
                parse_key(bad).unwrap_err().code,
                ErrorCode::UnknownAuthenticator
            );
        }
        assert_eq!(
            parse_id("", "passkey").unwrap_err().code,
            ErrorCode::InvalidId
        );
        assert_eq!(parse_id("AQID", "passkey").unwrap(), vec![1, 2, 3]);
    }

    #[test]
    fn min_pin_length_is_checked_before_the_key() {
        for bad in [0, 3, 64, u32::MAX] {
            assert_eq!(
                check_min_pin_length(bad).unwrap_err().code,
                ErrorCode::PinPolicy,
                "{bad}"
            );
        }
        for good in [4, 8, 63] {
            check_min_pin_length(good).unwrap();
        }
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
