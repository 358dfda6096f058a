//! Token storage.
//!
//! - [`KeyringStore`]: the OS keychain (macOS Keychain, Windows Credential Manager, Secret
//!   Service on Linux), the default.
//! - [`FileStore`]: one 0600 JSON file per (issuer, client id) under the user's state directory,
//!   written atomically (temp file + rename), for machines without a keychain and for tests.
//! - [`MemoryStore`]: nothing persisted, for one-shot runs.
//!
//! Stores never log token values; [`TokenSet`]'s `Debug` is redacted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Tokens from the token endpoint (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// Access token.
    pub access_token: Secret,
    /// Refresh token (rotated on every refresh by ZITADEL).
    pub refresh_token: Option<Secret>,
    /// ID token (kept as `id_token_hint` for logout).
    pub id_token: Option<Secret>,
    /// When the access token expires, in seconds since the Unix epoch.
    pub expires_at: Option<i64>,
    /// Granted scopes.
    pub scope: Option<String>,
}

impl TokenSet {
    /// True when the access token has expired or will within `skew_secs`.
    pub fn is_expired(&self, now: i64, skew_secs: i64) -> bool {
        self.expires_at.is_some_and(|t| now + skew_secs >= t)
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    access_token: String,
    refresh_token: Option<String>,
    id_token: Option<String>,
    expires_at: Option<i64>,
    scope: Option<String>,
}

impl Drop for Stored {
    fn drop(&mut self) {
        self.access_token.zeroize();
        self.refresh_token.zeroize();
        self.id_token.zeroize();
    }
}

impl Stored {
    fn from_set(t: &TokenSet) -> Self {
        Stored {
            version: 1,
            access_token: t.access_token.expose().to_string(),
            refresh_token: t.refresh_token.as_ref().map(|s| s.expose().to_string()),
            id_token: t.id_token.as_ref().map(|s| s.expose().to_string()),
            expires_at: t.expires_at,
            scope: t.scope.clone(),
        }
    }

    fn to_set(&self) -> TokenSet {
        TokenSet {
            access_token: Secret::new(self.access_token.clone()),
            refresh_token: self.refresh_token.clone().map(Secret::new),
            id_token: self.id_token.clone().map(Secret::new),
            expires_at: self.expires_at,
            scope: self.scope.clone(),
        }
    }
}

fn encode(t: &TokenSet) -> Result<Secret> {
    serde_json::to_string(&Stored::from_set(t))
        .map(Secret::new)
        .map_err(|e| Error::Config(format!("cannot encode tokens: {e}")))
}

fn decode(bytes: &[u8], path: &Path) -> Result<TokenSet> {
    let stored: Stored = serde_json::from_slice(bytes).map_err(|e| Error::CorruptFile {
        path: path.to_path_buf(),
        reason: format!("not a token file: {}", e.classify_name()),
    })?;
    Ok(stored.to_set())
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}
impl ClassifyName for serde_json::Error {
    // Never echo the JSON error text: it can quote part of a token.
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected content",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// Where tokens are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TokenStoreKind {
    /// The OS keychain.
    #[default]
    Keyring,
    /// A 0600 file under the state directory.
    File,
    /// Memory only.
    Memory,
}

impl std::str::FromStr for TokenStoreKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "keyring" => Ok(TokenStoreKind::Keyring),
            "file" => Ok(TokenStoreKind::File),
            "memory" => Ok(TokenStoreKind::Memory),
            _ => Err(format!(
                "unknown token store {s:?}: use keyring, file or memory"
            )),
        }
    }
}

/// A place to keep tokens, keyed by [`store_key`].
pub trait TokenStore: Send + Sync {
    /// Loads the tokens, if any.
    fn load(&self, key: &str) -> Result<Option<TokenSet>>;
    /// Saves the tokens, replacing what was there, atomically.
    fn save(&self, key: &str, tokens: &TokenSet) -> Result<()>;
    /// Forgets the tokens.
    fn delete(&self, key: &str) -> Result<()>;
    /// Where the tokens are, for people.
    fn describe(&self) -> String;
}

/// The store key for an issuer and client id.
pub fn store_key(issuer: &str, client_id: &str) -> String {
    format!("{issuer}|{client_id}")
}

fn key_file_name(key: &str) -> String {
    let hash = crate::webauthn::sha256(key.as_bytes());
    hex::encode(&hash[..12])
}

/// The user's state directory for this app: `$PASSKEYS_STATE_DIR`, else the platform's
/// state (Linux) or local data directory.
pub fn state_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PASSKEYS_STATE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let dirs =
        directories::ProjectDirs::from("dev", "passkey-enroll", "passkeys").ok_or_else(|| {
            Error::Config("cannot find your home directory; set PASSKEYS_STATE_DIR".into())
        })?;
    Ok(dirs
        .state_dir()
        .unwrap_or_else(|| dirs.data_local_dir())
        .to_path_buf())
}

/// Creates `dir` (and parents) readable by the owner only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `bytes` to `path` atomically (temp file in the same directory, then rename), with
/// mode 0600 on Unix.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Holds an exclusive advisory lock on a per-session lock file while alive, so only one
/// process at a time refreshes (the old refresh token dies at each refresh).
#[derive(Debug)]
pub struct SessionLock {
    _file: std::fs::File,
}

impl SessionLock {
    /// Blocks until the lock for `key` is held. Use from a blocking thread.
    pub fn acquire(key: &str) -> Result<Self> {
        let dir = state_dir()?.join("locks");
        create_private_dir(&dir).map_err(|e| Error::file(&dir, e))?;
        let path = dir.join(format!("{}.lock", key_file_name(key)));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::file(&path, e))?;
        file.lock().map_err(|e| Error::file(&path, e))?;
        Ok(Self { _file: file })
    }
}

/// Tokens in a 0600 file per session under `<state>/tokens/`.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{}.json", key_file_name(key)))
    }
}

impl TokenStore for FileStore {
    fn load(&self, key: &str) -> Result<Option<TokenSet>> {
        let path = self.path(key);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let mut bytes = zeroize::Zeroizing::new(bytes);
                decode(&bytes, &path).map(Some).inspect(|_| bytes.zeroize())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::file(path, e)),
        }
    }

    fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
        let path = self.path(key);
        let data = encode(tokens)?;
        write_private_file(&path, data.expose().as_bytes()).map_err(|e| Error::file(path, e))
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::file(path, e)),
        }
    }

    fn describe(&self) -> String {
        format!("file store in {}", self.dir.display())
    }
}

/// Tokens in the OS keychain (service `passkey-enroll`, account = issuer|client id).
#[derive(Debug, Clone, Default)]
pub struct KeyringStore;

const KEYRING_SERVICE: &str = "passkey-enroll";

fn keyring_err(e: keyring::Error) -> Error {
    Error::Keychain(e.to_string())
}

impl TokenStore for KeyringStore {
    fn load(&self, key: &str) -> Result<Option<TokenSet>> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, key).map_err(keyring_err)?;
        match entry.get_password() {
            Ok(data) => {
                let data = Secret::new(data);
                decode(data.expose().as_bytes(), Path::new("OS keychain entry")).map(Some)
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_err(e)),
        }
    }

    fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, key).map_err(keyring_err)?;
        entry
            .set_password(encode(tokens)?.expose())
            .map_err(keyring_err)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, key).map_err(keyring_err)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_err(e)),
        }
    }

    fn describe(&self) -> String {
        "OS keychain".into()
    }
}

/// Tokens in memory only.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    map: Arc<Mutex<HashMap<String, TokenSet>>>,
}

impl TokenStore for MemoryStore {
    fn load(&self, key: &str) -> Result<Option<TokenSet>> {
        Ok(self
            .map
            .lock()
            .map_err(|_| Error::Cancelled)?
            .get(key)
            .cloned())
    }

    fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
        self.map
            .lock()
            .map_err(|_| Error::Cancelled)?
            .insert(key.to_string(), tokens.clone());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.map.lock().map_err(|_| Error::Cancelled)?.remove(key);
        Ok(())
    }

    fn describe(&self) -> String {
        "memory (not saved)".into()
    }
}

/// Opens the store of the given kind.
pub fn open_store(kind: TokenStoreKind) -> Result<Arc<dyn TokenStore>> {
    Ok(match kind {
        TokenStoreKind::Keyring => Arc::new(KeyringStore),
        TokenStoreKind::File => Arc::new(FileStore::new(state_dir()?.join("tokens"))),
        TokenStoreKind::Memory => Arc::new(MemoryStore::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TokenSet {
        TokenSet {
            access_token: Secret::new("at-SECRET-1"),
            refresh_token: Some(Secret::new("rt-SECRET-2")),
            id_token: Some(Secret::new("idt-SECRET-3")),
            expires_at: Some(1_900_000_000),
            scope: Some("openid".into()),
        }
    }

    #[test]
    fn file_store_round_trip_is_private_and_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("tokens"));
        assert_eq!(store.load("k").unwrap(), None);
        store.save("k", &sample()).unwrap();
        assert_eq!(store.load("k").unwrap(), Some(sample()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path("k"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let dmode = std::fs::metadata(dir.path().join("tokens"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dmode & 0o777, 0o700);
        }
        // No temp files left behind.
        assert_eq!(
            std::fs::read_dir(dir.path().join("tokens"))
                .unwrap()
                .count(),
            1
        );
        store.delete("k").unwrap();
        store.delete("k").unwrap();
        assert_eq!(store.load("k").unwrap(), None);
    }

    #[test]
    fn corrupt_token_file_is_reported_without_echoing_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        std::fs::write(store.path("k"), "{\"access_token\": \"at-SECRET-LEAK\"").unwrap();
        let err = store.load("k").unwrap_err();
        assert_eq!(err.code(), "corrupt_file");
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }

    #[test]
    fn debug_output_never_shows_tokens() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("SECRET"), "{text}");
    }

    #[test]
    fn expiry_with_skew() {
        let t = sample();
        assert!(!t.is_expired(1_899_999_000, 30));
        assert!(t.is_expired(1_899_999_980, 30));
    }
}
