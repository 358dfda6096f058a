//! The `platform` path: a registration link opened in the browser, and the passkey list polled
//! until the new passkey is READY. The "browser" here registers a passkey the way the person's
//! browser would after opening the link.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use passkeys_core::authenticator::{AuthenticatorError, SoftAuthenticator};
use passkeys_core::browser::FnBrowser;
use passkeys_core::link_enroll::enroll_via_link;
use passkeys_core::zitadel::AuthFactorState;
use passkeys_core::{enroll, Error};
use passkeys_testkit::SignedIn;

#[tokio::test]
async fn link_in_the_browser_then_the_new_passkey_is_found_ready() {
    let SignedIn { sandbox, api } = SignedIn::demo().await;
    let remote = api.clone();
    let browser = FnBrowser::new(move |_link: String| {
        let api = remote.clone();
        async move {
            let mut phone = SoftAuthenticator::ephemeral().unwrap();
            enroll::add_passkey(&api, &mut phone, Some("Phone"), &|_: &_| {})
                .await
                .unwrap();
        }
    });
    let shown = std::sync::Mutex::new(None);
    let passkey = enroll_via_link(
        &api,
        &browser,
        Duration::from_millis(50),
        Duration::from_secs(20),
        &|l| *shown.lock().unwrap() = Some(l.link.clone()),
    )
    .await
    .unwrap();
    assert_eq!(passkey.name, "Phone");
    assert_eq!(passkey.state, AuthFactorState::Ready);
    assert!(shown
        .lock()
        .unwrap()
        .as_deref()
        .is_some_and(|l| !l.is_empty()));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn nothing_registered_times_out() {
    let SignedIn { sandbox, api } = SignedIn::demo().await;
    let browser = FnBrowser::new(|_link: String| async {});
    let err = enroll_via_link(
        &api,
        &browser,
        Duration::from_millis(20),
        Duration::from_millis(200),
        &|_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Authenticator(AuthenticatorError::Timeout)),
        "{err:?}"
    );
    sandbox.shutdown().await;
}
