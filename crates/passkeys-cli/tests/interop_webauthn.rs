//! Interop (issue 7): passkeys registered by the real binary (software authenticators) against
//! the sandbox, written to `$PASSKEYS_INTEROP_DUMP` for the second WebAuthn verifiers
//! (py_webauthn and @simplewebauthn/server, see scripts/test.d/30-interop.sh). The CLI tests'
//! harness (tests/common) writes every other registration of the suite there too.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic
mod common;

use common::Env;

#[tokio::test(flavor = "multi_thread")]
async fn registrations_for_the_second_verifiers() {
    if std::env::var_os("PASSKEYS_INTEROP_DUMP").is_none_or(|d| d.is_empty()) {
        eprintln!("note: skipped: set PASSKEYS_INTEROP_DUMP=DIR to write the registrations for the second verifiers (scripts/test.d/30-interop.sh does)");
        return;
    }
    let env = Env::new().await;
    env.login().await;
    for (key, name) in [
        ("first.cbor", "First key"),
        ("second.cbor", "Zweiter Schlüssel ✓"),
        ("third.cbor", "a"),
    ] {
        let added = env
            .run(&[
                "--json",
                "add",
                "--authenticator",
                &env.key(key),
                "--name",
                name,
            ])
            .await
            .ok()
            .json();
        assert_eq!(added["state"], "ready", "{added}");
    }
    assert_eq!(env.ready().len(), 3);
}
