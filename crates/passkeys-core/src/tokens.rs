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

pub use crate::files::{
    check_own_regular_file, create_private_dir, explain_symlink, nofollow, open_private_file,
    read_private_file, state_dir, write_private_file,
};

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
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        nofollow(&mut options);
        let file = options
            .open(&path)
            .map_err(|e| Error::file(&path, explain_symlink(e, &path)))?;
        check_own_regular_file(&file, &path).map_err(|e| Error::file(&path, e))?;
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
        match read_private_file(&path) {
            Ok(Some(bytes)) => {
                let mut bytes = zeroize::Zeroizing::new(bytes);
                decode(&bytes, &path).map(Some).inspect(|_| bytes.zeroize())
            }
            Ok(None) => Ok(None),
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
///
/// A real ZITADEL token set is 1.3–2.5 k characters (a four-entry `aud`, opaque or JWE tokens;
/// docs/zitadel-fidelity.md T23), more than the Windows Credential Manager holds in one secret
/// (2,560 bytes = 1,280 UTF-16 units; `keyring` refuses larger with `TooLong`). So the encoded
/// set is split into pieces of at most [`KEYCHAIN_PIECE_CHARS`] characters on every platform:
/// the entry `account` holds `passkeys-pieces:v1:N:` and the first piece, the entries
/// `account#2` … `account#N` the rest.
#[derive(Clone)]
pub struct KeyringStore {
    slots: Arc<dyn SecretSlots>,
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringStore").finish_non_exhaustive()
    }
}

impl Default for KeyringStore {
    fn default() -> Self {
        KeyringStore {
            slots: Arc::new(OsKeychain),
        }
    }
}

/// The most characters kept in one keychain secret (ASCII JSON: one UTF-16 unit each), well
/// under the Windows limit of 1,280 UTF-16 units.
pub const KEYCHAIN_PIECE_CHARS: usize = 1000;

/// At most this many pieces (a token set larger than 32 k characters is refused).
const MAX_PIECES: usize = 32;

const PIECES_PREFIX: &str = "passkeys-pieces:v1:";

const KEYRING_SERVICE: &str = "passkey-enroll";

/// Named secret slots: the OS keychain, or a stand-in in tests.
pub trait SecretSlots: Send + Sync {
    /// The secret in `account`, if any.
    fn get(&self, account: &str) -> Result<Option<Secret>>;
    /// Stores `value` in `account`, replacing what was there.
    fn set(&self, account: &str, value: &str) -> Result<()>;
    /// Removes `account` (no error when it does not exist).
    fn delete(&self, account: &str) -> Result<()>;
}

struct OsKeychain;

fn keyring_err(e: keyring::Error) -> Error {
    Error::Keychain(e.to_string())
}

impl SecretSlots for OsKeychain {
    fn get(&self, account: &str) -> Result<Option<Secret>> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, account).map_err(keyring_err)?;
        match entry.get_password() {
            Ok(data) => Ok(Some(Secret::new(data))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_err(e)),
        }
    }

    fn set(&self, account: &str, value: &str) -> Result<()> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, account).map_err(keyring_err)?;
        entry.set_password(value).map_err(keyring_err)
    }

    fn delete(&self, account: &str) -> Result<()> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, account).map_err(keyring_err)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_err(e)),
        }
    }
}

fn piece_account(key: &str, n: usize) -> String {
    format!("{key}#{n}")
}

/// Splits at character boundaries into pieces of at most `max` characters.
fn split_pieces(data: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let end = rest
            .char_indices()
            .nth(max)
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let (head, tail) = rest.split_at(end);
        pieces.push(head);
        rest = tail;
    }
    pieces
}

/// Reads `passkeys-pieces:v1:N:` from the head entry: the number of pieces and the first one.
fn parse_head(head: &str) -> Option<(usize, &str)> {
    let rest = head.strip_prefix(PIECES_PREFIX)?;
    let (n, first) = rest.split_once(':')?;
    let n: usize = n.parse().ok()?;
    (1..=MAX_PIECES).contains(&n).then_some((n, first))
}

impl KeyringStore {
    /// A store over the given slots (tests use a stand-in with the Windows size limit).
    pub fn with_slots(slots: Arc<dyn SecretSlots>) -> Self {
        KeyringStore { slots }
    }

    /// How many entries the tokens stored under `key` use (1 when there is one entry or none).
    fn stored_pieces(&self, key: &str) -> usize {
        self.slots
            .get(key)
            .ok()
            .flatten()
            .and_then(|h| parse_head(h.expose()).map(|(n, _)| n))
            .unwrap_or(1)
    }

    fn corrupt(reason: &str) -> Error {
        Error::CorruptFile {
            path: PathBuf::from("OS keychain entry"),
            reason: reason.to_string(),
        }
    }
}

impl TokenStore for KeyringStore {
    fn load(&self, key: &str) -> Result<Option<TokenSet>> {
        let Some(head) = self.slots.get(key)? else {
            return Ok(None);
        };
        let Some((n, first)) = parse_head(head.expose()) else {
            // A single entry written by earlier versions.
            return decode(head.expose().as_bytes(), Path::new("OS keychain entry")).map(Some);
        };
        let mut data = Secret::new(first.to_string());
        for i in 2..=n {
            let piece = self
                .slots
                .get(&piece_account(key, i))?
                .ok_or_else(|| Self::corrupt("a piece of the stored tokens is missing"))?;
            data = Secret::new(format!("{}{}", data.expose(), piece.expose()));
        }
        decode(data.expose().as_bytes(), Path::new("OS keychain entry")).map(Some)
    }

    fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
        let data = encode(tokens)?;
        let pieces = split_pieces(data.expose(), KEYCHAIN_PIECE_CHARS);
        if pieces.len() > MAX_PIECES {
            return Err(Error::Keychain(format!(
                "the tokens are too large for the keychain ({} characters)",
                data.expose().len()
            )));
        }
        let old = self.stored_pieces(key);
        // Pieces first, the head last: a reader never sees a head whose pieces are missing.
        for (i, piece) in pieces.iter().enumerate().skip(1) {
            self.slots.set(&piece_account(key, i + 1), piece)?;
        }
        let first = pieces.first().copied().unwrap_or("");
        let head = Secret::new(format!("{PIECES_PREFIX}{}:{first}", pieces.len().max(1)));
        self.slots.set(key, head.expose())?;
        for i in pieces.len().max(1) + 1..=old {
            self.slots.delete(&piece_account(key, i))?;
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        let n = self.stored_pieces(key);
        self.slots.delete(key)?;
        for i in 2..=n {
            self.slots.delete(&piece_account(key, i))?;
        }
        Ok(())
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
        TokenStoreKind::Keyring => Arc::new(KeyringStore::default()),
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

    /// Issue 12 item 7: a token file replaced by a symbolic link (to a file another user
    /// controls) is refused with a sentence that says so, never read through the link.
    #[cfg(unix)]
    #[test]
    fn symlinked_token_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("tokens"));
        store.save("k", &sample()).unwrap();
        let planted = dir.path().join("planted.json");
        std::fs::copy(store.path("k"), &planted).unwrap();
        std::fs::remove_file(store.path("k")).unwrap();
        std::os::unix::fs::symlink(&planted, store.path("k")).unwrap();
        let err = store.load("k").unwrap_err();
        assert_eq!(err.code(), "file_error");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        // A link to a directory or a FIFO is not a token file either.
        std::fs::remove_file(store.path("k")).unwrap();
        std::fs::create_dir(store.path("k")).unwrap();
        assert!(store.load("k").is_err());
        // Saving replaces the link itself, never writes through it.
        std::fs::remove_dir(store.path("k")).unwrap();
        std::os::unix::fs::symlink(&planted, store.path("k")).unwrap();
        let before = std::fs::read(&planted).unwrap();
        store.save("k", &sample()).unwrap();
        assert_eq!(std::fs::read(&planted).unwrap(), before);
        assert!(!std::fs::symlink_metadata(store.path("k"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    /// Issue 12 item 7: an existing directory for private files that others may write to is
    /// tightened to 0700 (a directory of another user would be refused).
    #[cfg(unix)]
    #[test]
    fn world_writable_state_dir_is_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("state");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        write_private_file(&open.join("inventory.json"), b"{}").unwrap();
        let mode = std::fs::metadata(&open).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // /  belongs to root: refused, saying why (unless these tests run as root).
        if rustix::process::geteuid().as_raw() != 0 {
            let e = create_private_dir(Path::new("/")).unwrap_err();
            assert!(e.to_string().contains("another user"), "{e}");
        }
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

    /// A stand-in for the Windows Credential Manager: refuses secrets over 1,280 UTF-16 units,
    /// as `keyring` 3.6 does with `TooLong` (CRED_MAX_CREDENTIAL_BLOB_SIZE = 2,560 bytes).
    #[derive(Default)]
    struct WindowsLikeSlots {
        map: Mutex<HashMap<String, String>>,
    }

    impl SecretSlots for WindowsLikeSlots {
        fn get(&self, account: &str) -> Result<Option<Secret>> {
            Ok(self
                .map
                .lock()
                .unwrap()
                .get(account)
                .cloned()
                .map(Secret::new))
        }
        fn set(&self, account: &str, value: &str) -> Result<()> {
            if value.encode_utf16().count() > 1280 {
                return Err(Error::Keychain("TooLong".into()));
            }
            self.map
                .lock()
                .unwrap()
                .insert(account.to_string(), value.to_string());
            Ok(())
        }
        fn delete(&self, account: &str) -> Result<()> {
            self.map.lock().unwrap().remove(account);
            Ok(())
        }
    }

    /// A token set shaped like real ZITADEL's after PR #12017: ≈300-character JWE access and
    /// refresh tokens and an ID token with a four-entry `aud` (docs/zitadel-fidelity.md T23).
    fn realistic(size_hint: usize) -> TokenSet {
        let jwe = |n: usize| {
            format!(
                "eyJhbGciOiJBMjU2R0NNS1ciLCJlbmMiOiJBMjU2R0NNIn0.{}.{}.{}.{}",
                "k".repeat(n / 4),
                "i".repeat(16),
                "c".repeat(n / 2),
                "t".repeat(22)
            )
        };
        TokenSet {
            access_token: Secret::new(jwe(300)),
            refresh_token: Some(Secret::new(jwe(300))),
            id_token: Some(Secret::new(format!(
                "eyJhbGciOiJSUzI1NiIsImtpZCI6IjMxODExNDEzNjQxNDI2MDk4NCIsInR5cCI6IkpXVCJ9.{}.{}",
                "p".repeat(size_hint),
                "s".repeat(342)
            ))),
            expires_at: Some(1_900_000_000),
            scope: None,
        }
    }

    #[test]
    fn keychain_holds_realistic_token_sets_within_the_windows_limit() {
        for size in [700, 1300, 2500, 9000] {
            let slots = Arc::new(WindowsLikeSlots::default());
            let store = KeyringStore::with_slots(slots.clone());
            let tokens = realistic(size);
            assert!(encode(&tokens).unwrap().expose().len() > 1280);
            store.save("k", &tokens).unwrap();
            assert_eq!(store.load("k").unwrap(), Some(tokens.clone()));
            // A smaller set replaces it without leaving stale pieces behind.
            store.save("k", &sample()).unwrap();
            assert_eq!(store.load("k").unwrap(), Some(sample()));
            assert_eq!(slots.map.lock().unwrap().len(), 1, "size {size}");
            store.save("k", &tokens).unwrap();
            store.delete("k").unwrap();
            assert!(slots.map.lock().unwrap().is_empty());
            assert_eq!(store.load("k").unwrap(), None);
        }
    }

    #[test]
    fn keychain_reads_single_entries_of_earlier_versions_and_reports_missing_pieces() {
        let slots = Arc::new(WindowsLikeSlots::default());
        let store = KeyringStore::with_slots(slots.clone());
        slots.set("k", encode(&sample()).unwrap().expose()).unwrap();
        assert_eq!(store.load("k").unwrap(), Some(sample()));
        store.save("k", &realistic(2500)).unwrap();
        slots.delete("k#2").unwrap();
        let err = store.load("k").unwrap_err();
        assert_eq!(err.code(), "corrupt_file");
        assert!(!err.to_string().contains("kkkk"), "{err}");
    }

    #[test]
    fn pieces_split_on_character_boundaries() {
        assert_eq!(split_pieces("abcdé", 2), vec!["ab", "cd", "é"]);
        assert!(split_pieces("", 2).is_empty());
        assert_eq!(parse_head("passkeys-pieces:v1:3:abc"), Some((3, "abc")));
        assert_eq!(parse_head("passkeys-pieces:v1:0:abc"), None);
        assert_eq!(parse_head("passkeys-pieces:v1:99:abc"), None);
        assert_eq!(parse_head("{\"version\":1}"), None);
    }

    #[test]
    fn expiry_with_skew() {
        let t = sample();
        assert!(!t.is_expired(1_899_999_000, 30));
        assert!(t.is_expired(1_899_999_980, 30));
    }
}
