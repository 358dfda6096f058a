//! Enrollment through a registration link, for authenticators this app cannot drive itself:
//! the platform authenticator on macOS (needs Associated Domains for the ZITADEL domain, which
//! a third-party app does not have) and Linux (none exists), and phones.
//!
//! The link (AddMyPasswordlessLink) opens in the system browser, which talks to the platform
//! authenticator or shows a QR code for a phone (hybrid); meanwhile the passkey list is polled
//! until a new passkey is READY.

use std::time::Duration;

use crate::authenticator::AuthenticatorError;
use crate::browser::Browser;
use crate::error::{Error, Result};
use crate::zitadel::{AuthFactorState, Passkey, RegistrationLink, ZitadelClient};

/// One sentence for the UI about why this path exists.
pub const PLATFORM_EXPLANATION: &str = "This app cannot create a passkey in your computer's own keychain or on your phone for the ZITADEL site, so it opens a registration link in your browser, which can, and waits until the new passkey is ready.";

/// Creates a registration link, opens it with `browser`, and polls the list every `poll` until
/// a passkey that was not there before is READY, or until `timeout` (at most the link's
/// lifetime). `on_link` sees the link first (to print it or show a QR code).
///
/// # Errors
/// API errors; [`Error::UntrustedLink`] when the server's link is not on the instance's site
/// (then nothing is shown or opened); [`AuthenticatorError::Timeout`] when nothing arrived in
/// time.
pub async fn enroll_via_link(
    api: &ZitadelClient,
    browser: &dyn Browser,
    poll: Duration,
    timeout: Duration,
    on_link: &(dyn Fn(&RegistrationLink) + Send + Sync),
) -> Result<Passkey> {
    let before = api.list_passkeys().await?;
    let mut link = api.add_passkey_link().await?;
    // `add_passkey_link` checked it already; checked again here because this is where it goes
    // to a browser (issue 12, item 1): only the re-serialised https (or loopback http) URL on
    // the instance's site is shown or opened.
    link.link = crate::links::check_server_link(&link.link, api.base())?.to_string();
    on_link(&link);
    let timeout = link
        .expires_in_secs
        .map(|s| timeout.min(Duration::from_secs(s)))
        .unwrap_or(timeout);
    if let Err(e) = browser.open(&link.link).await {
        tracing::warn!("the browser did not open ({e}); the link was shown instead");
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(Error::Authenticator(AuthenticatorError::Timeout));
        }
        tokio::time::sleep(poll.min(deadline - now)).await;
        let after = match api.list_passkeys().await {
            Ok(list) => list,
            Err(e @ Error::Network { .. }) => {
                tracing::debug!("polling the passkey list failed ({e}); trying again");
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(new) = after
            .into_iter()
            .find(|p| p.state == AuthFactorState::Ready && !before.iter().any(|b| b.id == p.id))
        {
            return Ok(new);
        }
    }
}
