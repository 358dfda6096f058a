//! The local inventory of the passkeys this app enrolled: which authenticator model holds which
//! ZITADEL passkey. ZITADEL's list shows only a name and a state.
//!
//! No secrets: token id, credential id (public), AAGUID and model, transport, discoverable,
//! instance, rpId, created at, and when this app removed the passkey from ZITADEL (a removed
//! passkey's entry is kept, up to 32 per instance, so its credential left on a security key is
//! recognised as an orphan). Kept as JSON (`inventory.json`) in `$PASSKEYS_STATE_DIR`, else
//! the platform data directory, written atomically (0600). It never blocks anything: a missing
//! file is an empty inventory; a corrupt one is logged, kept as `inventory.json.corrupt`, and
//! replaced by an empty one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::authenticator::AuthenticatorKind;
use crate::zitadel::Passkey;
use crate::{Error, Result};

/// File name of the inventory.
pub const FILE_NAME: &str = "inventory.json";
const VERSION: u32 = 1;
/// How many passkeys removed from ZITADEL are remembered per instance (to recognise their
/// credentials left on security keys as orphans).
pub const MAX_REMOVED_PER_INSTANCE: usize = 32;

/// One passkey this app enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InventoryEntry {
    /// ZITADEL token id (None when it could not be found after enrollment).
    pub id: Option<String>,
    /// The name given in ZITADEL at enrollment.
    pub name: String,
    /// base64url credential id.
    pub credential_id: String,
    /// AAGUID of the authenticator model.
    pub aaguid: String,
    /// Model name.
    pub model: String,
    /// Kind of authenticator.
    pub kind: AuthenticatorKind,
    /// Transports the authenticator reported (`usb`, `nfc`, ...).
    #[serde(default)]
    pub transports: Vec<String>,
    /// Stored on the authenticator.
    pub discoverable: bool,
    /// The instance (issuer URL).
    pub instance: String,
    /// The rpId.
    pub rp_id: String,
    /// COSE algorithm.
    #[serde(default)]
    pub algorithm: Option<i64>,
    /// The credential public key (COSE_Key, base64url), for the self-test of a passkey in the inventory. Public data.
    #[serde(default)]
    pub public_key: Option<String>,
    /// The user verification the instance asked for at enrollment.
    #[serde(default)]
    pub user_verification: Option<crate::webauthn::UserVerification>,
    /// RFC 3339 time of enrollment.
    pub created_at: String,
    /// RFC 3339 time this app removed the passkey from ZITADEL (ZITADEL confirmed it). The
    /// entry stays, so a credential of it left on a security key is known for what it is: an
    /// orphan, safe to delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<String>,
}

impl InventoryEntry {
    /// A new entry stamped now.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: Option<String>,
        name: String,
        credential_id: String,
        aaguid: String,
        model: String,
        kind: AuthenticatorKind,
        instance: String,
        rp_id: String,
    ) -> Self {
        Self {
            id,
            name,
            credential_id,
            aaguid,
            model,
            kind,
            transports: Vec::new(),
            discoverable: false,
            instance,
            rp_id,
            algorithm: None,
            public_key: None,
            user_verification: None,
            created_at: now_rfc3339(),
            removed_at: None,
        }
    }

    /// Whether the passkey is stored on a security key (discoverable, USB or NFC): removed from
    /// ZITADEL, it stays there, taking a place, until deleted on the key.
    pub fn stored_on_security_key(&self) -> bool {
        self.discoverable && matches!(self.kind, AuthenticatorKind::Usb | AuthenticatorKind::Nfc)
    }

    /// A short description of the transport for people: `USB`, `NFC`, `software`, ...
    pub fn transport_label(&self) -> String {
        match self.kind {
            AuthenticatorKind::Software => "software".into(),
            AuthenticatorKind::Platform => "platform".into(),
            _ if !self.transports.is_empty() => self.transports.join("/").to_uppercase(),
            AuthenticatorKind::Nfc => "NFC".into(),
            AuthenticatorKind::Usb => "USB".into(),
        }
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[derive(Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    passkeys: Vec<InventoryEntry>,
}

/// The inventory, loaded from and saved to one file.
#[derive(Debug, Clone)]
pub struct Inventory {
    path: PathBuf,
    entries: Vec<InventoryEntry>,
}

/// Where the inventory lives: `$PASSKEYS_STATE_DIR/inventory.json`, else the platform data
/// directory (`~/.local/share/passkeys` on Linux).
///
/// # Errors
/// When there is no home directory and no `PASSKEYS_STATE_DIR`.
pub fn default_path() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PASSKEYS_STATE_DIR") {
        return Ok(PathBuf::from(dir).join(FILE_NAME));
    }
    let dirs =
        directories::ProjectDirs::from("dev", "passkey-enroll", "passkeys").ok_or_else(|| {
            Error::Config("cannot find your home directory; set PASSKEYS_STATE_DIR".into())
        })?;
    Ok(dirs.data_dir().join(FILE_NAME))
}

impl Inventory {
    /// The inventory at the default path; empty (and not saved anywhere) when there is no
    /// such path. Never fails.
    pub fn open_default() -> Self {
        match default_path() {
            Ok(p) => Self::load(&p),
            Err(e) => {
                tracing::warn!("the passkey inventory is not available: {e}");
                Self {
                    path: PathBuf::new(),
                    entries: Vec::new(),
                }
            }
        }
    }

    /// Loads the inventory at `path`. Never fails: a missing file is empty; an unreadable or
    /// corrupt one is logged, copied to `<path>.corrupt`, and treated as empty.
    pub fn load(path: &Path) -> Self {
        let empty = || Self {
            path: path.to_path_buf(),
            entries: Vec::new(),
        };
        let bytes = match crate::files::read_private_file(path) {
            Ok(Some(b)) => b,
            Ok(None) => return empty(),
            Err(e) => {
                tracing::warn!(
                    "the passkey inventory {} cannot be read ({e}); starting empty",
                    path.display()
                );
                return empty();
            }
        };
        match serde_json::from_slice::<FileFormat>(&bytes) {
            Ok(f) if f.version == VERSION => Self {
                path: path.to_path_buf(),
                entries: f.passkeys,
            },
            other => {
                let why = match other {
                    Ok(f) => format!("unknown version {}", f.version),
                    Err(e) => e.to_string(),
                };
                let copy = corrupt_path(path);
                let kept = crate::files::write_private_file(&copy, &bytes).is_ok();
                tracing::warn!(
                    "the passkey inventory {} is not usable ({why}); starting empty{}",
                    path.display(),
                    if kept {
                        format!(", a copy is kept in {}", copy.display())
                    } else {
                        String::new()
                    }
                );
                empty()
            }
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All entries, oldest first.
    pub fn entries(&self) -> &[InventoryEntry] {
        &self.entries
    }

    /// Entries of one instance, those removed from ZITADEL included.
    fn all_for_instance<'a>(
        &'a self,
        instance: &'a str,
    ) -> impl Iterator<Item = &'a InventoryEntry> + 'a {
        let instance = normalise(instance);
        self.entries
            .iter()
            .filter(move |e| normalise(&e.instance) == instance)
    }

    /// Entries of one instance whose passkeys this app has not removed.
    pub fn for_instance<'a>(
        &'a self,
        instance: &'a str,
    ) -> impl Iterator<Item = &'a InventoryEntry> + 'a {
        self.all_for_instance(instance)
            .filter(|e| e.removed_at.is_none())
    }

    /// The entry for a ZITADEL token id on an instance (not one this app removed).
    pub fn find<'a>(&'a self, instance: &'a str, id: &str) -> Option<&'a InventoryEntry> {
        self.for_instance(instance)
            .find(|e| e.id.as_deref() == Some(id))
    }

    /// (credential id, ZITADEL token id) of every passkey recorded for `instance` whose token
    /// id is known and which this app has not removed: what tells a credential on a key from an
    /// orphan on the security key.
    pub fn credential_map(&self, instance: &str) -> Vec<(Vec<u8>, String)> {
        Self::pairs(self.for_instance(instance))
    }

    /// (credential id, ZITADEL token id) of the passkeys this app removed from `instance`:
    /// credentials of them left on a key are orphans for certain.
    pub fn removed_credentials(&self, instance: &str) -> Vec<(Vec<u8>, String)> {
        Self::pairs(
            self.all_for_instance(instance)
                .filter(|e| e.removed_at.is_some()),
        )
    }

    fn pairs<'a>(entries: impl Iterator<Item = &'a InventoryEntry>) -> Vec<(Vec<u8>, String)> {
        entries
            .filter_map(|e| {
                let id = e.id.clone()?;
                let credential = crate::b64::decode_lenient(&e.credential_id).ok()?;
                Some((credential, id))
            })
            .collect()
    }

    /// Adds `entry` (replacing one with the same instance and credential id) and saves.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn record(&mut self, entry: InventoryEntry) -> Result<()> {
        let instance = normalise(&entry.instance);
        self.entries.retain(|e| {
            !(normalise(&e.instance) == instance && e.credential_id == entry.credential_id)
        });
        self.entries.push(entry);
        self.save()
    }

    /// Marks the passkey with token id `id` on `instance` as removed from ZITADEL (call it once
    /// ZITADEL confirmed the removal); saves when something changed. Returns whether it was
    /// known (and not marked already). At most [`MAX_REMOVED_PER_INSTANCE`] removed entries are
    /// kept per instance, the oldest removals dropped first.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn mark_removed(&mut self, instance: &str, id: &str) -> Result<bool> {
        let instance = normalise(instance);
        let same = |e: &InventoryEntry| normalise(&e.instance) == instance;
        let Some(entry) = self
            .entries
            .iter_mut()
            .find(|e| same(e) && e.id.as_deref() == Some(id) && e.removed_at.is_none())
        else {
            return Ok(false);
        };
        entry.removed_at = Some(now_rfc3339());
        let when = |t: &str| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map_or(i128::MIN, time::OffsetDateTime::unix_timestamp_nanos)
        };
        let mut removed: Vec<(i128, String)> = self
            .entries
            .iter()
            .filter(|e| same(e))
            .filter_map(|e| Some((when(e.removed_at.as_deref()?), e.credential_id.clone())))
            .collect();
        if removed.len() > MAX_REMOVED_PER_INSTANCE {
            removed.sort();
            let drop: Vec<String> = removed[..removed.len() - MAX_REMOVED_PER_INSTANCE]
                .iter()
                .map(|(_, c)| c.clone())
                .collect();
            self.entries.retain(|e| {
                !(same(e) && e.removed_at.is_some() && drop.contains(&e.credential_id))
            });
        }
        self.save()?;
        Ok(true)
    }

    /// Writes the file atomically (0600).
    ///
    /// # Errors
    /// When the file cannot be written, or the inventory has no file.
    pub fn save(&self) -> Result<()> {
        if self.path.as_os_str().is_empty() {
            return Err(Error::Config(
                "the passkey inventory has no file; set PASSKEYS_STATE_DIR".into(),
            ));
        }
        let body = serde_json::to_vec_pretty(&FileFormat {
            version: VERSION,
            passkeys: self.entries.clone(),
        })
        .map_err(|e| Error::Config(format!("cannot encode the passkey inventory: {e}")))?;
        crate::files::write_private_file(&self.path, &body).map_err(|e| Error::file(&self.path, e))
    }

    /// Pairs each of ZITADEL's passkeys with what this app knows about it.
    pub fn annotate<'a>(&'a self, instance: &'a str, list: &'a [Passkey]) -> Vec<KnownPasskey<'a>> {
        list.iter()
            .map(|p| KnownPasskey {
                passkey: p,
                entry: self.find(instance, &p.id),
            })
            .collect()
    }
}

fn corrupt_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".corrupt");
    PathBuf::from(name)
}

/// Instances compare without a trailing slash.
fn normalise(instance: &str) -> &str {
    instance.trim_end_matches('/')
}

/// A passkey from ZITADEL's list, with the inventory entry when this app enrolled it.
#[derive(Debug, Clone, Copy)]
pub struct KnownPasskey<'a> {
    /// ZITADEL's view.
    pub passkey: &'a Passkey,
    /// This app's record; `None`: enrolled elsewhere (another device, the browser, an older
    /// version of this app).
    pub entry: Option<&'a InventoryEntry>,
}
