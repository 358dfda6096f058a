//! The person's passkeys at ZITADEL, with this computer's inventory kept in step.

use passkeys_core::inventory::Inventory;
use passkeys_core::zitadel::ZitadelClient;
use passkeys_core::Result;

/// The instance key the inventory files passkeys under: the API's base URL without the trailing
/// slash (what enrollment records).
pub fn instance_of(api: &ZitadelClient) -> String {
    api.base().as_str().trim_end_matches('/').to_string()
}

/// Removes the passkey `id` (RemoveMyPasswordless, also for an unfinished registration) and
/// forgets it in `inventory`, so a credential of it left on a security key later counts as
/// "not enrolled with this app" rather than as an orphan of a passkey still listed. The
/// inventory is updated only after ZITADEL removed it; a failure to save it is logged, not
/// returned (the passkey is gone either way).
///
/// # Errors
/// API errors; nothing is forgotten then.
pub async fn remove(api: &ZitadelClient, inventory: &mut Inventory, id: &str) -> Result<()> {
    api.remove_passkey(id).await?;
    tracing::info!("passkey {id} removed");
    match inventory.remove(&instance_of(api), id) {
        Ok(true) => tracing::debug!("passkey {id} forgotten in the inventory"),
        Ok(false) => {}
        Err(e) => tracing::warn!("the local passkey inventory could not be updated: {e}"),
    }
    Ok(())
}
