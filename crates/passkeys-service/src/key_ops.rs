//! Security-key management ceremonies, once for both shells: set the first PIN, change the PIN
//! (preconditions on the typed [`PinState`]), the reset ceremony (drop the key, wait for it to be
//! re-inserted, check it is the same model, touch; as ykman's `_do_reinsert`), the credentials on
//! a key with their standing at the signed-in ZITADEL instance, and deleting orphans.
//!
//! The engine (`passkeys_ctap`) lists neutral credential records; what they mean to an account
//! (ZITADEL's passkeys and this computer's inventory) is decided here ([`classify`]).

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::inventory::Inventory;
use passkeys_core::prompt::{PinRequest, Prompt, MAX_PIN_BYTES};
use passkeys_core::zitadel::{AuthFactorState, ZitadelClient};
use passkeys_core::{Error, Secret};
use passkeys_ctap::credmgmt::{CredentialManager, RelyingParty, StoredCredential};
use passkeys_ctap::manage::{self, KeyToken, PinState};
use passkeys_ctap::{CancellationToken, CredentialSlots};
use serde::Serialize;
use webauthn_rs_proto::AuthenticatorTransport;

use crate::choose::Key;

/// How long the reset waits for the key to be removed and inserted again.
pub const REINSERT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the reset waits for the touch after re-insertion.
pub const RESET_TOUCH_TIMEOUT: Duration = Duration::from_secs(30);

/// A precondition a key operation refused on (nothing was changed). The shells word it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Set-PIN on a key that has one: change it instead.
    PinAlreadySet,
    /// Change-PIN on a key without one: set one first.
    PinNotSet,
    /// Reset: a different model was inserted; nothing was erased.
    DifferentKey,
}

/// What a key operation failed on.
#[derive(Debug)]
pub enum KeyOpError {
    /// A precondition; nothing was changed.
    Refused(Refusal),
    /// The key, the PIN dialog or the server failed.
    Failed(Error),
}

impl From<Error> for KeyOpError {
    fn from(e: Error) -> Self {
        KeyOpError::Failed(e)
    }
}

impl From<AuthenticatorError> for KeyOpError {
    fn from(e: AuthenticatorError) -> Self {
        KeyOpError::Failed(e.into())
    }
}

/// Sets the first PIN on a key without one. `ask` gets one [`PinRequest::SetNew`] (with the
/// key's minimum length) and returns the new PIN, confirmed by the shell (or an error, e.g.
/// cancelled).
///
/// # Errors
/// [`Refusal::PinAlreadySet`]; no PIN support; `ask`'s error; the key's PIN rules.
pub async fn set_first_pin<F, Fut>(device: &mut Key, ask: F) -> Result<(), KeyOpError>
where
    F: FnOnce(PinRequest) -> Fut,
    Fut: Future<Output = Result<Secret, Error>>,
{
    device.refresh_info().await?;
    match PinState::from_option(device.info().client_pin()) {
        PinState::Set => return Err(KeyOpError::Refused(Refusal::PinAlreadySet)),
        PinState::Unsupported => {
            return Err(AuthenticatorError::NotSupported(
                "this security key has no PIN support".into(),
            )
            .into())
        }
        PinState::NotSet => {}
    }
    let pin = ask(PinRequest::SetNew {
        min_length: device.info().min_pin_len(),
        max_bytes: MAX_PIN_BYTES,
    })
    .await?;
    device.set_first_pin(&pin).await?;
    tracing::info!("a PIN was set on the security key");
    Ok(())
}

/// Changes the PIN. Refused before anything is asked when no PIN is set, it is blocked, or the
/// key wants a power cycle. `ask` gets [`PinRequest::Enter`] (with the attempts left) for the
/// current PIN, then [`PinRequest::SetNew`] for the new one.
///
/// # Errors
/// [`Refusal::PinNotSet`]; PIN blocked / power cycle needed; `ask`'s error; a wrong PIN.
pub async fn change_pin<F, Fut>(device: &mut Key, mut ask: F) -> Result<(), KeyOpError>
where
    F: FnMut(PinRequest) -> Fut,
    Fut: Future<Output = Result<Secret, Error>>,
{
    let r = device.report(false).await?;
    if r.pin != PinState::Set {
        return Err(KeyOpError::Refused(Refusal::PinNotSet));
    }
    if r.pin_retries == Some(0) {
        return Err(AuthenticatorError::PinBlocked.into());
    }
    if r.pin_power_cycle_required {
        return Err(AuthenticatorError::PinAuthBlocked.into());
    }
    let current = ask(PinRequest::Enter {
        attempts_left: r.pin_retries,
        after_wrong_pin: false,
    })
    .await?;
    let new = ask(PinRequest::SetNew {
        min_length: r.min_pin_length,
        max_bytes: MAX_PIN_BYTES,
    })
    .await?;
    device.change_pin(&current, &new).await?;
    tracing::info!("the security key's PIN was changed");
    Ok(())
}

/// A step of the reset ceremony, for the shell to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetStep {
    /// Remove the key and insert it again now (NFC: off the reader and back).
    Reinsert {
        /// The key's transport.
        transport: AuthenticatorTransport,
        /// The key wants a long press for the reset.
        long_touch: bool,
        /// The reset window after power-up, in seconds.
        window_secs: u64,
    },
    /// The key is back: touch it (or hold its button) now.
    Touch {
        /// Hold the button for a few seconds.
        long_touch: bool,
    },
}

/// A reset checked and ready to run: the key allows a reset over this transport. The shell
/// confirms with the person between [`prepare_reset`] and [`ResetPlan::run`].
pub struct ResetPlan {
    device: Key,
    aaguid: [u8; 16],
    long_touch: bool,
}

impl std::fmt::Debug for ResetPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetPlan")
            .field("long_touch", &self.long_touch)
            .finish_non_exhaustive()
    }
}

/// Checks that `device` may be reset over its transport (getInfo transportsForReset).
///
/// # Errors
/// Not allowed over this transport; transport failures.
pub async fn prepare_reset(mut device: Key) -> Result<ResetPlan, KeyOpError> {
    let extra = device.extra_info().await?;
    device.reset_allowed_here(&extra)?;
    Ok(ResetPlan {
        aaguid: device.info().aaguid,
        long_touch: extra.long_touch_for_reset,
        device,
    })
}

impl ResetPlan {
    /// The key wants a long touch for the reset.
    pub fn long_touch(&self) -> bool {
        self.long_touch
    }

    /// Runs the ceremony: lets go of the key, asks for it to be re-inserted
    /// ([`ResetStep::Reinsert`]) and waits at most [`REINSERT_TIMEOUT`], refuses a different model
    /// ([`Refusal::DifferentKey`], nothing erased), asks for the touch ([`ResetStep::Touch`]) and
    /// resets within [`RESET_TOUCH_TIMEOUT`].
    ///
    /// # Errors
    /// Nothing re-inserted in time, Cancel, a different model, the key's refusal.
    pub async fn run(
        self,
        prompt: Arc<dyn Prompt>,
        cancel: CancellationToken,
        on_step: &(dyn Fn(ResetStep) + Send + Sync),
    ) -> Result<(), KeyOpError> {
        #[cfg_attr(not(feature = "practice"), allow(unused_mut))]
        let mut device = self.device;
        let transport = device.transport();
        #[cfg(feature = "practice")]
        let practice = match device.token_mut() {
            KeyToken::Practice(t) => Some((t.key().clone(), t.key().plug_ins())),
            _ => None,
        };
        drop(device);
        on_step(ResetStep::Reinsert {
            transport,
            long_touch: self.long_touch,
            window_secs: manage::RESET_WINDOW_SECS,
        });
        #[cfg(feature = "practice")]
        let mut device = match practice {
            // The practice key is pulled out and re-inserted in the app ("Remove the key",
            // "Insert the key"), not on USB.
            Some((key, since)) => {
                key.wait_for_reinsert(since, prompt, cancel, REINSERT_TIMEOUT)
                    .await?
            }
            None => manage::wait_for_reinsert(prompt, cancel, REINSERT_TIMEOUT).await?,
        };
        #[cfg(not(feature = "practice"))]
        let mut device = manage::wait_for_reinsert(prompt, cancel, REINSERT_TIMEOUT).await?;
        if device.info().aaguid != self.aaguid {
            return Err(KeyOpError::Refused(Refusal::DifferentKey));
        }
        on_step(ResetStep::Touch {
            long_touch: self.long_touch,
        });
        device.reset(RESET_TOUCH_TIMEOUT).await?;
        tracing::info!("the security key was reset");
        Ok(())
    }
}

/// A credential on a key with its standing at the signed-in instance (`None`: not compared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialStanding {
    /// The credential.
    pub credential: StoredCredential,
    /// Its standing, when compared.
    pub standing: Option<Standing>,
}

/// The credentials of one site on a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// rp.id.
    pub rp_id: String,
    /// rp.name, if stored.
    pub name: Option<String>,
    /// Its credentials.
    pub credentials: Vec<CredentialStanding>,
}

/// The passkeys stored on a key, with the slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCredentials {
    /// By site.
    pub sites: Vec<Site>,
    /// Stored / remaining, when the key says.
    pub slots: Option<CredentialSlots>,
}

/// Each credential of `rps` with its standing under `view`.
pub fn with_standing(rps: Vec<RelyingParty>, view: Option<&InstanceView>) -> Vec<Site> {
    rps.into_iter()
        .map(|rp| {
            let credentials = rp
                .credentials
                .iter()
                .map(|c| CredentialStanding {
                    standing: view.map(|v| classify(&rp, c, v)),
                    credential: c.clone(),
                })
                .collect();
            Site {
                rp_id: rp.rp_id,
                name: rp.name,
                credentials,
            }
        })
        .collect()
}

/// The passkeys stored on the key (asks for the PIN once), each with its standing under `view`.
///
/// # Errors
/// No credential management; PIN failures; CTAP failures.
pub async fn credentials(
    device: &mut Key,
    view: Option<&InstanceView>,
) -> Result<KeyCredentials, KeyOpError> {
    let mut cm = device.credential_manager().await?;
    let slots = cm.metadata().await.ok();
    let rps = cm.list().await?;
    Ok(KeyCredentials {
        sites: with_standing(rps, view),
        slots,
    })
}

/// An orphan: a credential for the instance's user that ZITADEL no longer has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// The site.
    pub rp_id: String,
    /// The credential.
    pub credential: StoredCredential,
    /// Why it is an orphan.
    pub reason: String,
}

/// The orphans among `rps`, and how many credentials of the instance cannot be judged.
pub fn orphans(rps: &[RelyingParty], view: &InstanceView) -> (Vec<Orphan>, usize) {
    let mut orphans = Vec::new();
    let mut unknown = 0;
    for rp in rps {
        for c in &rp.credentials {
            match classify(rp, c, view) {
                Standing::Orphan { reason } => orphans.push(Orphan {
                    rp_id: rp.rp_id.clone(),
                    credential: c.clone(),
                    reason,
                }),
                Standing::Unknown { .. } => unknown += 1,
                _ => {}
            }
        }
    }
    (orphans, unknown)
}

/// Deletes orphans from the key, in the credential-management session `cm` (its PIN token: the
/// PIN is not asked again): the key is read again and only credentials that are orphans under
/// `view` now, and among `only` when given (credential ids as listed), are deleted; never one
/// that is known or cannot be told. Returns the ids deleted.
///
/// # Errors
/// CTAP failures.
pub async fn delete_orphans(
    cm: &mut CredentialManager<'_, KeyToken>,
    view: &InstanceView,
    only: Option<&[String]>,
) -> Result<Vec<String>, KeyOpError> {
    let rps = cm.list().await?;
    let (orphans, _) = orphans(&rps, view);
    let mut deleted = Vec::new();
    for o in orphans {
        if only.is_some_and(|ids| !ids.contains(&o.credential.id)) {
            continue;
        }
        cm.delete(&o.credential.id_bytes).await?;
        deleted.push(o.credential.id);
    }
    tracing::info!(
        "deleted {} orphaned passkey(s) from the security key",
        deleted.len()
    );
    Ok(deleted)
}

/// What the signed-in ZITADEL instance tells about the credentials on a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceView {
    /// The instance's host: credentials for it or a registrable parent domain of it count.
    pub instance: url::Url,
    /// The signed-in user's id (ZITADEL's user.id is its ASCII bytes).
    pub user_id: String,
    /// Token ids of the user's READY passkeys (ZITADEL lists no credential ids).
    pub ready_token_ids: BTreeSet<String>,
    /// The local inventory of passkeys this app enrolled, as (credential id, token id), when one
    /// exists. `None`: no inventory.
    pub inventory: Option<Vec<(Vec<u8>, String)>>,
    /// The passkeys this app removed from ZITADEL (ZITADEL confirmed it), as (credential id,
    /// token id): their credentials left on a key are orphans for certain.
    pub removed: Vec<(Vec<u8>, String)>,
}

impl InstanceView {
    /// What ZITADEL (the user id and READY passkeys) and the local inventory say about the
    /// signed-in user at `instance`, with `inventory` (this environment's): the input of
    /// [`classify`], shared by the CLI and the app.
    ///
    /// # Errors
    /// API errors from GetMyUser and ListMyPasswordless.
    pub async fn load(
        api: &ZitadelClient,
        instance: url::Url,
        inventory: &Inventory,
    ) -> passkeys_core::Result<InstanceView> {
        let me = api.get_my_user().await?;
        let ready_token_ids = api
            .list_passkeys()
            .await?
            .into_iter()
            .filter(|p| p.state == AuthFactorState::Ready)
            .map(|p| p.id)
            .collect();
        Ok(InstanceView {
            inventory: Some(inventory.credential_map(instance.as_str())),
            removed: inventory.removed_credentials(instance.as_str()),
            instance,
            user_id: me.id,
            ready_token_ids,
        })
    }
}

/// How a credential on the key relates to the instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Standing {
    /// Another site or another account: not ours to judge.
    Other,
    /// ZITADEL still knows it (inventory maps it to a READY passkey).
    Known {
        /// ZITADEL token id.
        token_id: String,
    },
    /// Left on the key: ZITADEL no longer has (or never had) it. Safe to delete.
    Orphan {
        /// Why.
        reason: String,
    },
    /// For this instance and user, but there is no way to tell (no inventory entry, and ZITADEL
    /// lists passkeys but no credential ids). Not offered for deletion.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// Decides each credential's standing.
///
/// Rules, most certain first (ZITADEL's list has token ids, names and states, no credential
/// ids, so "knows" can only come from the app's inventory). An orphan is offered for deletion,
/// and deleting a working passkey can lock the person out, so the server's word alone never
/// proves one (issue 12 item 11): a server that lies, or a list that came back empty, must not
/// empty the key.
/// 1. another rpId (not the instance host or a registrable parent of it) or another user.id:
///    [`Standing::Other`];
/// 2. a passkey this app removed from ZITADEL (ZITADEL confirmed the removal) and ZITADEL does
///    not list as READY: [`Standing::Orphan`], whatever the rest of the list says;
/// 3. no inventory entry for the credential: [`Standing::Unknown`] (a failed registration, or
///    a passkey enrolled with another tool such as a browser);
/// 4. the inventory maps it to a token id READY in ZITADEL: [`Standing::Known`];
/// 5. the inventory maps it to a token id ZITADEL does not list as READY: an
///    [`Standing::Orphan`] only when ZITADEL's list is consistent with the inventory, i.e. it
///    is not empty and lists as READY at least one other passkey the inventory recorded for
///    this instance; otherwise [`Standing::Unknown`] ("can't tell").
pub fn classify(rp: &RelyingParty, cred: &StoredCredential, view: &InstanceView) -> Standing {
    let ours = !rp.rp_id.is_empty()
        && passkeys_core::webauthn::check_rp_id(&rp.rp_id, &view.instance).is_ok()
        && cred.user_id_bytes == view.user_id.as_bytes();
    if !ours {
        return Standing::Other;
    }
    if let Some((_, token)) = view.removed.iter().find(|(id, _)| *id == cred.id_bytes) {
        // Still listed as READY although ZITADEL confirmed its removal: ZITADEL's word wins.
        if view.ready_token_ids.contains(token) {
            return Standing::Known {
                token_id: token.clone(),
            };
        }
        return Standing::Orphan {
            reason: format!(
                "you removed its passkey {token} from ZITADEL with this app; it still takes a place on the key"
            ),
        };
    }
    let Some(inventory) = view.inventory.as_ref() else {
        return Standing::Unknown {
            reason:
                "no local inventory of enrolled passkeys yet, and ZITADEL lists no credential ids"
                    .into(),
        };
    };
    let Some((_, token)) = inventory.iter().find(|(id, _)| *id == cred.id_bytes) else {
        return Standing::Unknown {
            reason:
                "not enrolled with this app: a failed registration or a passkey added elsewhere"
                    .into(),
        };
    };
    if view.ready_token_ids.contains(token) {
        return Standing::Known {
            token_id: token.clone(),
        };
    }
    if view.ready_token_ids.is_empty() {
        return Standing::Unknown {
            reason: "ZITADEL lists no passkey for your account, and an empty list cannot prove that this one was removed; if you removed it in ZITADEL, delete it from the key by its credential id".into(),
        };
    }
    let consistent = inventory
        .iter()
        .any(|(id, t)| *id != cred.id_bytes && view.ready_token_ids.contains(t));
    if !consistent {
        return Standing::Unknown {
            reason: format!("ZITADEL does not list its passkey {token}, but its list matches none of the passkeys this computer recorded for the instance either, so it cannot prove that this one was removed"),
        };
    }
    Standing::Orphan {
        reason: format!("its passkey {token} was removed in ZITADEL"),
    }
}
