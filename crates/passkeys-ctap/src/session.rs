//! One PIN per visit: a pinUvAuthToken kept in memory while a person works with one key, so
//! listing, deleting and configuring in a row asks for the PIN once.
//!
//! A [`TokenCache`] holds at most one token: the CTAP 2.1 pinUvAuthToken (§6.5.5.7) with every
//! permission the key's management needs that the key offers (`cm` for credential management,
//! `acfg` for authenticatorConfig, `be` for bioEnrollment), obtained the first time one of them
//! is needed. The PIN itself is never kept: only the token, which the key invalidates on its own
//! when it is powered off (unplugged, off the NFC reader) or its PIN changes.
//!
//! The token is zeroized (it is a [`Zeroizing`] buffer) when [`TokenCache::clear`] is called
//! (the shell calls it when the key is removed, the app is locked or the person leaves the
//! page), after [`IDLE_TIMEOUT`] without use ([`TokenCache::expire_if_idle`], also checked on
//! every use), after a PIN change or reset, and when the key refuses it. A refused token
//! (PIN_AUTH_INVALID, PIN_TOKEN_EXPIRED, UNAUTHORIZED_PERMISSION) is dropped, the PIN asked for
//! once more and the command retried once.
//!
//! Attach a cache to each [`crate::Device`] opened for the visit with
//! [`crate::Device::use_token_cache`]; without one, every operation asks for the PIN itself
//! (the CLI: one process, one operation).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::device::AuthToken;

/// How long an unused token is kept: 5 minutes, like a screen lock's short delay. After that
/// the next operation asks for the PIN again.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

struct Held {
    /// The key's AAGUID: a token is never offered to another model.
    aaguid: [u8; 16],
    /// The permissions the key granted.
    permissions: u8,
    token: AuthToken,
    last_used: Instant,
}

/// At most one pinUvAuthToken, for the key a person is working with. Share it with `Arc`.
/// `Debug` never shows the token.
#[derive(Default)]
pub struct TokenCache {
    slot: Mutex<Option<Held>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (held, permissions) = self
            .slot
            .lock()
            .map(|s| (s.is_some(), s.as_ref().map(|h| h.permissions)))
            .unwrap_or((false, None));
        f.debug_struct("TokenCache")
            .field("held", &held)
            .field("permissions", &permissions)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the token (zeroized). Returns whether one was held.
    pub fn clear(&self) -> bool {
        match self.slot.lock() {
            Ok(mut s) => s.take().is_some(),
            Err(_) => false,
        }
    }

    /// Whether a token is held.
    pub fn is_held(&self) -> bool {
        self.slot.lock().map(|s| s.is_some()).unwrap_or(false)
    }

    /// Forgets the token when it was not used for [`IDLE_TIMEOUT`]. Returns whether it did.
    pub fn expire_if_idle(&self) -> bool {
        self.expire_idle_after(IDLE_TIMEOUT)
    }

    fn expire_idle_after(&self, idle: Duration) -> bool {
        match self.slot.lock() {
            Ok(mut s) => {
                if s.as_ref().is_some_and(|h| h.last_used.elapsed() >= idle) {
                    *s = None;
                    true
                } else {
                    false
                }
            }
            Err(_) => false,
        }
    }

    /// A copy of the token for `aaguid` when it carries `permissions` (and was used recently).
    pub(crate) fn get(&self, aaguid: &[u8; 16], permissions: u8) -> Option<AuthToken> {
        self.expire_if_idle();
        let mut s = self.slot.lock().ok()?;
        let held = s.as_mut()?;
        if held.aaguid != *aaguid || held.permissions & permissions != permissions {
            return None;
        }
        held.last_used = Instant::now();
        let mut token = held.token.clone();
        token.cached = true;
        Some(token)
    }

    pub(crate) fn store(&self, aaguid: [u8; 16], permissions: u8, token: &AuthToken) {
        if let Ok(mut s) = self.slot.lock() {
            *s = Some(Held {
                aaguid,
                permissions,
                token: token.clone(),
                last_used: Instant::now(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pin::Protocol;
    use zeroize::Zeroizing;

    fn token() -> AuthToken {
        AuthToken {
            protocol: Protocol::Two,
            token: Zeroizing::new(vec![0x5A; 32]),
            cached: false,
        }
    }

    #[test]
    fn a_token_serves_its_key_and_permissions_only_and_never_shows() {
        let cache = TokenCache::new();
        assert!(cache.get(&[1; 16], 0x04).is_none());
        cache.store([1; 16], 0x04 | 0x20, &token());
        assert!(cache.is_held());
        let t = cache.get(&[1; 16], 0x04).unwrap();
        assert!(t.cached);
        assert_eq!(t.token.as_slice(), &[0x5A; 32]);
        assert!(cache.get(&[1; 16], 0x20).is_some());
        assert!(cache.get(&[1; 16], 0x08).is_none(), "be was not granted");
        assert!(cache.get(&[2; 16], 0x04).is_none(), "another model");
        let shown = format!("{cache:?}");
        assert!(
            shown.contains("held: true") && !shown.contains("90"),
            "{shown}"
        );
        assert!(cache.clear());
        assert!(!cache.is_held() && !cache.clear());
    }

    #[test]
    fn an_idle_token_is_forgotten() {
        let cache = TokenCache::new();
        cache.store([1; 16], 0x04, &token());
        assert!(!cache.expire_if_idle());
        assert!(cache.expire_idle_after(Duration::ZERO));
        assert!(!cache.is_held());
    }
}
