//! Know your passkeys: which authenticator holds a passkey this computer enrolled (a silent
//! probe: no touch, no PIN; the key holding it blinks when it can), and testing it (one sign-in
//! with it, the signature checked here). The results are typed; the shells word them.

use std::path::PathBuf;
use std::sync::Arc;

use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::inventory::{Inventory, InventoryEntry};
use passkeys_core::prompt::Prompt;
use passkeys_core::selftest::{self, SelfTestError, SelfTestReport};
use passkeys_core::{b64, Error};
use passkeys_ctap::assertion::find_holder;
use passkeys_ctap::discovery::{self, KeySummary};
use passkeys_ctap::{CancellationToken, Discoverable, SecurityKey};

use crate::choose::AuthenticatorChoice;
use crate::environment::{AuthenticatorSource, Candidates, SharedAuthenticator, Unreachable};

/// Where a passkey was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// On an attached security key.
    SecurityKey {
        /// The key.
        key: KeySummary,
        /// Whether it is blinking now (only [`which`] asks it to).
        winked: bool,
    },
    /// In a software authenticator (with its file, when it has one).
    Software {
        /// Its file.
        path: Option<PathBuf>,
    },
}

/// Why a passkey could not be located.
#[derive(Debug)]
pub enum LocateError {
    /// It cannot be reached from here (the shells word it).
    Unreachable {
        /// Why.
        why: Unreachable,
        /// The inventory's entry.
        entry: Box<InventoryEntry>,
    },
    /// Not in the inventory, not held by any authenticator asked, or the authenticators
    /// failed.
    Failed(Error),
}

impl From<Error> for LocateError {
    fn from(e: Error) -> Self {
        LocateError::Failed(e)
    }
}

impl From<AuthenticatorError> for LocateError {
    fn from(e: AuthenticatorError) -> Self {
        LocateError::Failed(e.into())
    }
}

/// The inventory's entry for the passkey `id` of `instance`.
///
/// # Errors
/// [`Error::NotInInventory`] when this computer did not enroll it.
pub fn entry(inventory: &Inventory, instance: &str, id: &str) -> Result<InventoryEntry, Error> {
    inventory
        .find(instance, id)
        .cloned()
        .ok_or_else(|| Error::NotInInventory { id: id.to_string() })
}

/// Whether `entry` can be located from here through `choice`.
///
/// # Errors
/// [`LocateError::Unreachable`].
pub fn check_reachable(
    source: &dyn AuthenticatorSource,
    entry: &InventoryEntry,
    choice: &AuthenticatorChoice,
) -> Result<(), LocateError> {
    source
        .reach(choice, entry.kind)
        .map_err(|why| LocateError::Unreachable {
            why,
            entry: Box::new(entry.clone()),
        })
}

/// "None of the attached authenticators holds …": attach the key it was made on.
pub fn not_held(entry: &InventoryEntry) -> Error {
    Error::Authenticator(AuthenticatorError::NotFound(format!(
        "none of the attached authenticators holds \"{}\"; it was made on a {} ({}): attach that key (or hold it on the NFC reader) and try again",
        entry.name,
        entry.model,
        entry.transport_label()
    )))
}

fn credential_id(entry: &InventoryEntry) -> Result<Vec<u8>, Error> {
    b64::decode_lenient(&entry.credential_id)
        .map_err(|e| Error::Config(format!("the inventory's credential id is damaged ({e})")))
}

/// The authenticator that holds the passkey, found among the candidates.
enum Found {
    Key(Box<crate::choose::Key>),
    Software(Option<PathBuf>, SharedAuthenticator),
}

/// With `ask_named_file` false, a software authenticator file the person named is used without
/// asking it first (the test itself then says whether it holds the passkey).
async fn find(
    source: &dyn AuthenticatorSource,
    entry: &InventoryEntry,
    choice: &AuthenticatorChoice,
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
    ask_named_file: bool,
) -> Result<Found, LocateError> {
    check_reachable(source, entry, choice)?;
    match source.candidates(choice, prompt, cancel).await? {
        Candidates::Keys(mut devices) => {
            let credential_id = credential_id(entry)?;
            let i = find_holder(&mut devices, &entry.rp_id, &credential_id)
                .await?
                .ok_or_else(|| not_held(entry))?;
            Ok(Found::Key(Box::new(devices.swap_remove(i))))
        }
        Candidates::Software(mut list) => {
            if !ask_named_file && list.len() == 1 && list[0].0.is_some() {
                let (path, authenticator) = list.remove(0);
                return Ok(Found::Software(path, authenticator));
            }
            for (path, authenticator) in list {
                let held = {
                    let mut a = authenticator.lock().await;
                    selftest::holds(a.as_mut(), entry).await?
                };
                if held {
                    return Ok(Found::Software(path, authenticator));
                }
            }
            Err(not_held(entry).into())
        }
    }
}

/// Which authenticator (through `choice`) holds the passkey of `entry`: every candidate is asked
/// silently; a security key holding it is made to blink when it can.
///
/// # Errors
/// Unreachable from here, held by none, authenticator failures.
pub async fn which(
    source: &dyn AuthenticatorSource,
    entry: &InventoryEntry,
    choice: &AuthenticatorChoice,
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
) -> Result<Holder, LocateError> {
    match find(source, entry, choice, prompt, cancel, true).await? {
        Found::Key(mut device) => {
            let key = discovery::summary(&device);
            let winked = passkeys_ctap::manage::wink(&mut device).await.is_ok();
            Ok(Holder::SecurityKey { key, winked })
        }
        Found::Software(path, _) => Ok(Holder::Software { path }),
    }
}

/// Finds the authenticator holding the passkey of `entry` (as [`which`], without the blink; a
/// software authenticator file named in `choice` is used as it is), tells `on_found`, then signs
/// in once with the passkey there and checks the answer here.
/// A self-test that fails is the inner `Err` (a result, not a failure to locate).
///
/// # Errors
/// As [`which`].
pub async fn test(
    source: &dyn AuthenticatorSource,
    entry: &InventoryEntry,
    choice: &AuthenticatorChoice,
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
    on_found: &(dyn Fn(&Holder) + Send + Sync),
) -> Result<Result<SelfTestReport, SelfTestError>, LocateError> {
    match find(source, entry, choice, prompt, cancel, false).await? {
        Found::Key(device) => {
            on_found(&Holder::SecurityKey {
                key: discovery::summary(&device),
                winked: false,
            });
            let mut key = SecurityKey::new(*device, Discoverable::Auto);
            Ok(selftest::test_entry(&mut key, entry).await)
        }
        Found::Software(path, authenticator) => {
            on_found(&Holder::Software { path });
            let mut a = authenticator.lock().await;
            Ok(selftest::test_entry(a.as_mut(), entry).await)
        }
    }
}
