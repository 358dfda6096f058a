//! End to end: the enrollment flow (`enroll::add_passkey`, the same call the CLI and the app
//! make) registers a passkey made by the virtual security key through this crate's engine with
//! the sandbox, which verifies the registration with webauthn-rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
// Issue 7/8: the virtual key's registration is also judged by the second WebAuthn verifiers
// (scripts/test.d/30-interop.sh sets PASSKEYS_INTEROP_DUMP).
#[path = "../../passkeys-cli/tests/interop_support/mod.rs"]
mod interop_support;

use common::prompt::Script;
use common::virt::VirtKey;
use passkeys_core::authenticator::{Authenticator, AuthenticatorError, AuthenticatorKind};
use passkeys_core::enroll::{self, EnrollEvent};
use passkeys_core::Error;
use passkeys_ctap::{CancellationToken, Device, Discoverable, SecurityKey};
use passkeys_sandbox::PasskeyState;
use passkeys_testkit::SignedIn;

#[tokio::test]
async fn enrolls_a_passkey_from_the_virtual_key_verified_by_the_sandbox() {
    let SignedIn { sandbox, api } = SignedIn::demo().await;
    let key = VirtKey::new();
    // A key without a PIN: ZITADEL requires UV, so the person is asked to choose one.
    let script = Script::new(&["314159", "314159"]);
    let device = Device::open(key.token(), script.arc(), CancellationToken::new())
        .await
        .unwrap();
    // The firmware picks EdDSA whenever it is offered, and the sandbox verifies with
    // webauthn-rs 0.6, which cannot verify EdDSA (ZITADEL's go-webauthn can): keep ES256.
    let mut auth = SecurityKey::new(device, Discoverable::Auto).only_algorithms(vec![-7]);
    let info = auth.info();
    assert_eq!(info.kind, AuthenticatorKind::Usb);
    assert!(info.hardware);

    let events = std::sync::Mutex::new(Vec::new());
    let observer = |e: &EnrollEvent| events.lock().unwrap().push(e.clone());
    let added = enroll::add_passkey(&api, &mut auth, Some("Virtual key"), &observer)
        .await
        .unwrap();
    interop_support::dump_last_registration(&sandbox, Some("ctap-virtual-key"));
    assert_eq!(added.name, "Virtual key");
    assert_eq!(added.state, "ready");
    assert_eq!(added.aaguid, "41414755-4944-3031-3233-343536373839");
    assert!(added.discoverable);
    let stored = sandbox.inspect().passkeys();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].state, PasskeyState::Ready);
    assert_eq!(
        stored[0].credential_id.as_deref(),
        Some(added.credential_id.as_str())
    );
    // The same key again: ZITADEL lists the existing passkey in excludeCredentials, and the
    // key says it already holds it. Nothing is registered, nothing pending is verified.
    let err = enroll::add_passkey(&api, &mut auth, Some("Again"), &observer)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Authenticator(AuthenticatorError::CredentialExcluded)
        ),
        "{err:?}"
    );
    assert_eq!(
        sandbox
            .inspect()
            .passkeys()
            .iter()
            .filter(|p| p.state == PasskeyState::Ready)
            .count(),
        1
    );
    sandbox.shutdown().await;
}
