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
/// marks it removed in `inventory`: a credential of it left on a security key is then an orphan
/// for certain (ZITADEL confirmed the removal), offered for deletion on the Security keys page
/// and by `passkeys key credentials orphans --delete`. The inventory is updated only after ZITADEL removed it; a
/// failure to save it is logged, not returned (the passkey is gone either way).
///
/// # Errors
/// API errors; nothing is marked then.
pub async fn remove(api: &ZitadelClient, inventory: &mut Inventory, id: &str) -> Result<()> {
    api.remove_passkey(id).await?;
    tracing::info!("passkey {id} removed");
    match inventory.mark_removed(&instance_of(api), id) {
        Ok(true) => tracing::debug!("passkey {id} marked removed in the inventory"),
        Ok(false) => {}
        Err(e) => tracing::warn!("the local passkey inventory could not be updated: {e}"),
    }
    Ok(())
}
