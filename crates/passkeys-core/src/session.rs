//! A signed-in session: tokens from the store, refreshed when they expire or after a 401.
//!
//! ZITADEL rotates refresh tokens: after a refresh the old refresh token (and the old access
//! token) are dead. So a refresh is done under an exclusive file lock shared by every process
//! of this user ([`SessionLock`]), re-reading the store first (another process may have
//! refreshed already), and the new tokens are saved before they are used.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::browser::Browser;
use crate::error::{Error, Result};
use crate::oidc::{BrowserLogout, Oidc, SignInOptions, SignedIn};
use crate::secret::Secret;
use crate::tokens::{store_key, SessionLock, TokenSet, TokenStore};
use crate::zitadel::{AccessTokenSource, ZitadelClient};

/// Seconds before expiry at which an access token is treated as expired.
pub const EXPIRY_SKEW_SECS: i64 = 30;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A signed-in session for one issuer and client id.
pub struct Session {
    oidc: Oidc,
    store: Arc<dyn TokenStore>,
    key: String,
    current: tokio::sync::Mutex<TokenSet>,
    /// The access token this process received from a refresh, with when: its lifetime is known,
    /// so it is not refreshed again just because that lifetime is shorter than the skew.
    refreshed: std::sync::Mutex<Option<(Secret, i64)>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("oidc", &self.oidc)
            .field("store", &self.store.describe())
            .finish_non_exhaustive()
    }
}

/// What logout did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LogoutReport {
    /// True when there was a stored session.
    pub was_signed_in: bool,
    /// True when the server confirmed the revocation.
    pub revoked: bool,
    /// Why revocation failed, if it did (the local tokens are forgotten anyway).
    pub revoke_error: Option<String>,
    /// What happened to the sign-in session in the browser. ZITADEL keeps it after a
    /// revocation, so without RP-initiated logout the next sign-in returns the same person.
    pub browser: BrowserLogout,
}

impl LogoutReport {
    /// A sentence for people about the browser session, when there is something to say.
    pub fn browser_note(&self) -> Option<&'static str> {
        match self.browser {
            BrowserLogout::Confirmed | BrowserLogout::Skipped => None,
            BrowserLogout::Unconfirmed => Some(
                "The browser did not come back from ZITADEL's logout page. If you want to sign in as someone else, finish signing out there, or ask your ZITADEL administrator to add http://127.0.0.1/callback as a Post Logout URI on the app.",
            ),
            BrowserLogout::NotSupported => Some(
                "Your browser may still be signed in to ZITADEL (the instance offers no logout endpoint, or no ID token was kept). To sign in as someone else, use the account choice when signing in.",
            ),
        }
    }
}

impl Session {
    /// Signs in through the browser and stores the tokens.
    pub async fn login(
        oidc: Oidc,
        store: Arc<dyn TokenStore>,
        browser: &dyn Browser,
        options: &SignInOptions,
        show_url: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<(Arc<Session>, SignedIn)> {
        let (tokens, who) = oidc.sign_in(browser, options, show_url).await?;
        let key = store_key(&oidc.issuer().as_str, oidc.client_id());
        store.save(&key, &tokens)?;
        Ok((
            Arc::new(Session {
                oidc,
                store,
                key,
                current: tokio::sync::Mutex::new(tokens),
                refreshed: std::sync::Mutex::new(None),
            }),
            who,
        ))
    }

    /// Resumes the stored session.
    ///
    /// # Errors
    /// [`Error::NotSignedIn`] when nothing is stored.
    pub fn resume(oidc: Oidc, store: Arc<dyn TokenStore>) -> Result<Arc<Session>> {
        let key = store_key(&oidc.issuer().as_str, oidc.client_id());
        let tokens = store.load(&key)?.ok_or(Error::NotSignedIn)?;
        Ok(Arc::new(Session {
            oidc,
            store,
            key,
            current: tokio::sync::Mutex::new(tokens),
            refreshed: std::sync::Mutex::new(None),
        }))
    }

    /// Signs out: revokes the stored tokens (RFC 7009), forgets them, and with a `browser`
    /// also ends the sign-in session in the browser (RP-initiated logout, waiting at most
    /// `browser_timeout` for the browser to come back), so the next sign-in may be someone else.
    pub async fn logout(
        oidc: &Oidc,
        store: &dyn TokenStore,
        browser: Option<&dyn Browser>,
        browser_timeout: Duration,
    ) -> Result<LogoutReport> {
        let key = store_key(&oidc.issuer().as_str, oidc.client_id());
        let Some(tokens) = store.load(&key)? else {
            return Ok(LogoutReport {
                was_signed_in: false,
                revoked: false,
                revoke_error: None,
                browser: BrowserLogout::Skipped,
            });
        };
        let revoke = oidc.revoke(&tokens).await;
        store.delete(&key)?;
        let browser = match browser {
            Some(b) => oidc
                .end_browser_session(tokens.id_token.as_ref(), b, browser_timeout)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!("browser logout failed: {e}");
                    BrowserLogout::Unconfirmed
                }),
            None => BrowserLogout::Skipped,
        };
        Ok(LogoutReport {
            was_signed_in: true,
            revoked: revoke.is_ok(),
            revoke_error: revoke.err().map(|e| e.to_string()),
            browser,
        })
    }

    /// A ZITADEL API client using this session.
    /// It remembers the passkey API generation it detects only while it (and its clones)
    /// live; [`ZitadelClient::with_memory`] keeps it in a file (the CLI and the app on a real
    /// instance: [`crate::passkey_api::default_memory_path`]; the demo: its temporary folder),
    /// so tests and the demo never write into the person's state directory.
    pub fn zitadel(self: &Arc<Self>, http: reqwest::Client) -> ZitadelClient {
        ZitadelClient::new(self.oidc.issuer().url.clone(), http, self.clone())
    }

    /// The token store.
    pub fn store(&self) -> Arc<dyn TokenStore> {
        self.store.clone()
    }

    /// The provider.
    pub fn oidc(&self) -> &Oidc {
        &self.oidc
    }

    async fn refresh_from(&self, stale: &Secret) -> Result<Secret> {
        let mut current = self.current.lock().await;
        if current.access_token != *stale && !current.is_expired(now(), self.skew_for(&current)) {
            return Ok(current.access_token.clone());
        }
        let key = self.key.clone();
        let _lock = tokio::task::spawn_blocking(move || SessionLock::acquire(&key))
            .await
            .map_err(|_| Error::Cancelled)??;
        // Another process may have refreshed while we waited for the lock.
        let stored = self.store.load(&self.key)?.ok_or(Error::SessionExpired)?;
        if stored.access_token != *stale && !stored.is_expired(now(), EXPIRY_SKEW_SECS) {
            tracing::debug!("using tokens refreshed by another process");
            *current = stored;
            return Ok(current.access_token.clone());
        }
        let Some(refresh_token) = stored.refresh_token.clone() else {
            // No refresh token (the app lacks the Refresh Token grant, fidelity T10): the
            // expired tokens are of no further use.
            self.store.delete(&self.key)?;
            return Err(Error::SessionExpired);
        };
        tracing::debug!("refreshing the access token");
        match self.oidc.refresh(&refresh_token).await {
            Ok(fresh) => {
                self.store.save(&self.key, &fresh).map_err(|e| {
                    tracing::error!("the refreshed tokens could not be saved: {e}");
                    e
                })?;
                if let Ok(mut r) = self.refreshed.lock() {
                    *r = Some((fresh.access_token.clone(), now()));
                }
                *current = fresh;
                Ok(current.access_token.clone())
            }
            Err(Error::SessionExpired) => {
                // The refresh token is dead (revoked, expired or reused): forget it cleanly.
                self.store.delete(&self.key)?;
                Err(Error::SessionExpired)
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl AccessTokenSource for Session {
    async fn access_token(&self) -> Result<Secret> {
        let current = self.current.lock().await.clone();
        if current.is_expired(now(), self.skew_for(&current)) {
            return self.refresh_from(&current.access_token).await;
        }
        Ok(current.access_token)
    }

    async fn refresh_after_unauthorized(&self, rejected: &Secret) -> Result<Secret> {
        self.refresh_from(rejected).await
    }

    /// The `sub` of the stored ID token (checked when it was received; ZITADEL keeps `sub`
    /// on refreshed ID tokens), else of the userinfo endpoint.
    async fn user_id(&self) -> Result<String> {
        let (id_token, access) = {
            let current = self.current.lock().await;
            (current.id_token.clone(), current.access_token.clone())
        };
        if let Some(sub) = id_token.as_ref().and_then(crate::oidc::id_token_subject) {
            return Ok(sub);
        }
        let access = if self.is_expired_now().await {
            self.refresh_from(&access).await?
        } else {
            access
        };
        self.oidc.userinfo_subject(&access).await
    }
}

impl Session {
    async fn is_expired_now(&self) -> bool {
        let current = self.current.lock().await;
        current.is_expired(now(), self.skew_for(&current))
    }

    /// How early `tokens` count as expired: [`EXPIRY_SKEW_SECS`], but at most half the lifetime
    /// of an access token this process received from a refresh. An instance that issues tokens
    /// living less than the skew (ZITADEL lets an administrator set any lifetime) would
    /// otherwise make every call refresh again.
    fn skew_for(&self, tokens: &TokenSet) -> i64 {
        let refreshed = self.refreshed.lock().ok().and_then(|r| r.clone());
        expiry_skew(refreshed.as_ref().map(|(t, at)| (t, *at)), tokens)
    }
}

/// [`Session::skew_for`]: `refreshed` is the access token this process last received from a
/// refresh and when (seconds since the Unix epoch).
fn expiry_skew(refreshed: Option<(&Secret, i64)>, tokens: &TokenSet) -> i64 {
    match (refreshed, tokens.expires_at) {
        (Some((token, at)), Some(expires)) if *token == tokens.access_token => {
            EXPIRY_SKEW_SECS.min(((expires - at) / 2).max(0))
        }
        _ => EXPIRY_SKEW_SECS,
    }
}

#[cfg(test)]
mod skew_tests {
    use super::*;

    fn tokens(access: &str, expires_at: Option<i64>) -> TokenSet {
        TokenSet {
            access_token: Secret::new(access),
            refresh_token: None,
            id_token: None,
            expires_at,
            scope: None,
        }
    }

    #[test]
    fn tokens_refreshed_here_count_as_expiring_at_most_half_their_lifetime_early() {
        let at = 1_000;
        let short = tokens("a1", Some(at + 20));
        let a1 = Secret::new("a1");
        // Not refreshed in this process (signed in, or stored by another process): 30 s.
        assert_eq!(expiry_skew(None, &short), EXPIRY_SKEW_SECS);
        // A 20 s token refreshed here: 10 s early, so it is used for 10 s, not refreshed again
        // at once (with 30 s it would count as expired on arrival).
        assert_eq!(expiry_skew(Some((&a1, at)), &short), 10);
        assert!(!short.is_expired(at + 9, expiry_skew(Some((&a1, at)), &short)));
        assert!(short.is_expired(at + 10, expiry_skew(Some((&a1, at)), &short)));
        assert!(short.is_expired(at, EXPIRY_SKEW_SECS));
        // A long-lived token: the usual 30 s.
        let long = tokens("a1", Some(at + 3_600));
        assert_eq!(expiry_skew(Some((&a1, at)), &long), EXPIRY_SKEW_SECS);
        // Another token than the one refreshed here, no expiry, a token already dead: no surprise.
        assert_eq!(
            expiry_skew(Some((&a1, at)), &tokens("a2", Some(at + 20))),
            EXPIRY_SKEW_SECS
        );
        assert_eq!(
            expiry_skew(Some((&a1, at)), &tokens("a1", None)),
            EXPIRY_SKEW_SECS
        );
        assert_eq!(expiry_skew(Some((&a1, at)), &tokens("a1", Some(at - 5))), 0);
    }
}
