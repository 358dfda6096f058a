//! Issue 8: the self-test (a local check of an assertion from the new credential) and the
//! local inventory, with the software authenticator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use async_trait::async_trait;
use passkeys_core::authenticator::{
    Authenticator, AuthenticatorError, AuthenticatorInfo, AuthenticatorKind, GetAssertionRequest,
    GetAssertionResponse, MakeCredentialRequest, MakeCredentialResponse, SoftAuthenticator,
};
use passkeys_core::inventory::{Inventory, InventoryEntry};
use passkeys_core::selftest::{self, SelfTestError, SelfTestTarget};
use passkeys_core::webauthn::{self, UserVerification};

const RP: &str = "auth.example.com";
const ORIGIN: &str = "https://auth.example.com";

fn request(user: &str) -> MakeCredentialRequest {
    MakeCredentialRequest {
        client_data_hash: webauthn::sha256(user.as_bytes()),
        rp_id: RP.into(),
        rp_name: "ZITADEL".into(),
        user_id: user.as_bytes().to_vec(),
        user_name: user.into(),
        user_display_name: user.into(),
        algorithms: vec![-7],
        exclude_credentials: Vec::new(),
        user_verification: UserVerification::Required,
        resident_key: false,
        timeout: Duration::from_secs(30),
    }
}

/// A credential on `auth`: (id, COSE public key).
async fn enroll(auth: &mut dyn Authenticator, user: &str) -> (Vec<u8>, Vec<u8>) {
    let reply = auth.make_credential(&request(user)).await.unwrap();
    let parsed = webauthn::parse_attestation_object(&reply.attestation_object).unwrap();
    assert_eq!(parsed.alg, Some(-7));
    (parsed.credential_id, parsed.public_key)
}

fn target<'a>(id: &'a [u8], key: &'a [u8]) -> SelfTestTarget<'a> {
    SelfTestTarget {
        rp_id: RP,
        origin: ORIGIN,
        credential_id: id,
        public_key: key,
        user_verification: UserVerification::Required,
    }
}

#[test]
fn the_public_key_is_the_cose_key_from_auth_data() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut soft = SoftAuthenticator::ephemeral().unwrap();
    let (_, key) = rt.block_on(enroll(&mut soft, "alice"));
    let v: ciborium::Value = ciborium::de::from_reader(key.as_slice()).unwrap();
    let map = v.as_map().unwrap();
    // kty EC2, alg ES256, crv P-256, 32-byte x and y.
    let get = |k: i64| {
        map.iter()
            .find(|(l, _)| l.as_integer() == Some(k.into()))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get(1).as_integer(), Some(2.into()));
    assert_eq!(get(3).as_integer(), Some((-7).into()));
    assert_eq!(get(-2).as_bytes().unwrap().len(), 32);
}

#[tokio::test]
async fn self_test_passes_with_the_soft_authenticator() {
    let mut soft = SoftAuthenticator::ephemeral().unwrap();
    let (id, key) = enroll(&mut soft, "alice").await;
    let report = selftest::self_test(&mut soft, &target(&id, &key))
        .await
        .unwrap();
    assert!(report.passed);
    assert!(report.user_verified);
    assert_eq!(report.algorithm, -7);
}

#[tokio::test]
async fn self_test_fails_for_another_credentials_public_key() {
    let mut soft = SoftAuthenticator::ephemeral().unwrap();
    let (id, _) = enroll(&mut soft, "alice").await;
    let (_, other_key) = enroll(&mut soft, "bob").await;
    let err = selftest::self_test(&mut soft, &target(&id, &other_key))
        .await
        .unwrap_err();
    assert!(matches!(err, SelfTestError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("registered"), "{err}");
    assert_eq!(err.code(), "self_test_invalid");
}

#[tokio::test]
async fn self_test_fails_when_the_authenticator_does_not_hold_the_credential() {
    let mut soft = SoftAuthenticator::ephemeral().unwrap();
    let mut other = SoftAuthenticator::ephemeral().unwrap();
    let (id, key) = enroll(&mut soft, "alice").await;
    let err = selftest::self_test(&mut other, &target(&id, &key))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SelfTestError::Authenticator(AuthenticatorError::NotFound(_))
        ),
        "{err:?}"
    );
    assert!(!err.advice().is_empty());
}

/// Answers getAssertion with one signature bit flipped (firmware gone wrong).
struct BadSignature(SoftAuthenticator);

#[async_trait]
impl Authenticator for BadSignature {
    fn info(&self) -> AuthenticatorInfo {
        self.0.info()
    }
    async fn make_credential(
        &mut self,
        request: &MakeCredentialRequest,
    ) -> Result<MakeCredentialResponse, AuthenticatorError> {
        self.0.make_credential(request).await
    }
    async fn get_assertion(
        &mut self,
        request: &GetAssertionRequest,
    ) -> Result<GetAssertionResponse, AuthenticatorError> {
        let mut r = self.0.get_assertion(request).await?;
        let last = r.signature.len() - 1;
        r.signature[last] ^= 0x01;
        Ok(r)
    }
}

#[tokio::test]
async fn self_test_fails_on_a_bad_signature() {
    let mut auth = BadSignature(SoftAuthenticator::ephemeral().unwrap());
    let (id, key) = enroll(&mut auth, "alice").await;
    let err = selftest::self_test(&mut auth, &target(&id, &key))
        .await
        .unwrap_err();
    assert!(matches!(err, SelfTestError::Invalid(_)), "{err:?}");
}

/// The trait's default: authenticators that cannot sign in say so.
struct NoAssertions;

#[async_trait]
impl Authenticator for NoAssertions {
    fn info(&self) -> AuthenticatorInfo {
        AuthenticatorInfo {
            kind: AuthenticatorKind::Platform,
            model: "x".into(),
            aaguid: None,
            hardware: true,
            notice: None,
        }
    }
    async fn make_credential(
        &mut self,
        _: &MakeCredentialRequest,
    ) -> Result<MakeCredentialResponse, AuthenticatorError> {
        Err(AuthenticatorError::Cancelled)
    }
}

#[tokio::test]
async fn the_default_get_assertion_is_not_supported() {
    let err = selftest::self_test(&mut NoAssertions, &target(b"id", b"key"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        SelfTestError::Authenticator(AuthenticatorError::NotSupported(_))
    ));
}

#[tokio::test]
async fn the_silent_probe_tells_which_soft_authenticator_holds_a_passkey() {
    let mut a = SoftAuthenticator::ephemeral().unwrap();
    let mut b = SoftAuthenticator::ephemeral().unwrap();
    let (id, key) = enroll(&mut a, "alice").await;
    let mut entry = entry("1", &id);
    entry.public_key = Some(passkeys_core::b64::url_nopad(&key));
    entry.user_verification = Some(UserVerification::Required);
    assert!(selftest::holds(&mut a, &entry).await.unwrap());
    assert!(!selftest::holds(&mut b, &entry).await.unwrap());
    // And the on-demand test from the inventory entry.
    assert!(selftest::test_entry(&mut a, &entry).await.unwrap().passed);
    assert!(selftest::test_entry(&mut b, &entry).await.is_err());
}

fn entry(id: &str, credential_id: &[u8]) -> InventoryEntry {
    InventoryEntry::new(
        Some(id.into()),
        format!("Key {id}"),
        passkeys_core::b64::url_nopad(credential_id),
        "41414755-4944-3031-3233-343536373839".into(),
        "Virtual key".into(),
        AuthenticatorKind::Usb,
        "https://auth.example.com/".into(),
        RP.into(),
    )
}

#[test]
fn inventory_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/inventory.json");
    let mut inv = Inventory::load(&path);
    assert!(inv.entries().is_empty());
    let mut e = entry("1", b"cred-1");
    e.transports = vec!["usb".into(), "nfc".into()];
    e.discoverable = true;
    inv.record(e.clone()).unwrap();
    inv.record(entry("2", b"cred-2")).unwrap();
    // The same credential again replaces its entry.
    inv.record(e.clone()).unwrap();

    let again = Inventory::load(&path);
    assert_eq!(again.entries().len(), 2);
    let found = again.find("https://auth.example.com", "1").unwrap();
    assert_eq!(found, &e);
    assert_eq!(found.transport_label(), "USB/NFC");
    assert!(again.find("https://other.example.com", "1").is_none());
    // What `passkeys key credentials orphans` gets: (credential id, token id) per instance.
    assert_eq!(
        again.credential_map("https://auth.example.com/"),
        vec![
            (b"cred-2".to_vec(), "2".to_string()),
            (b"cred-1".to_vec(), "1".to_string())
        ]
    );
    assert!(again.credential_map("https://other.example.com").is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // No secrets: only public fields.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"credentialId\""));
    assert!(!text.to_lowercase().contains("token\""));

    // Removed from ZITADEL: kept, marked, out of the lists, and its credential told apart.
    let mut inv = again;
    assert!(inv.mark_removed("https://auth.example.com/", "1").unwrap());
    assert!(!inv.mark_removed("https://auth.example.com/", "1").unwrap());
    let reread = Inventory::load(&path);
    assert_eq!(reread.entries().len(), 2);
    assert!(reread.find("https://auth.example.com", "1").is_none());
    assert_eq!(reread.credential_map("https://auth.example.com").len(), 1);
    assert_eq!(
        reread.removed_credentials("https://auth.example.com"),
        vec![(b"cred-1".to_vec(), "1".to_string())]
    );
}

#[test]
fn removed_passkeys_are_remembered_up_to_a_limit_per_instance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.json");
    let mut inv = Inventory::load(&path);
    let n = passkeys_core::inventory::MAX_REMOVED_PER_INSTANCE + 3;
    for i in 0..n {
        inv.record(entry(&i.to_string(), format!("c{i}").as_bytes()))
            .unwrap();
    }
    for i in 0..n {
        assert!(inv
            .mark_removed("https://auth.example.com", &i.to_string())
            .unwrap());
    }
    let removed = Inventory::load(&path).removed_credentials("https://auth.example.com");
    assert_eq!(
        removed.len(),
        passkeys_core::inventory::MAX_REMOVED_PER_INSTANCE
    );
    // The oldest removals went first.
    assert!(!removed.iter().any(|(_, t)| t == "0" || t == "2"));
    assert!(removed.iter().any(|(_, t)| *t == (n - 1).to_string()));
}

#[test]
fn a_corrupt_inventory_starts_empty_and_is_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.json");
    std::fs::write(&path, b"{ not json").unwrap();
    let mut inv = Inventory::load(&path);
    assert!(inv.entries().is_empty());
    let corrupt = dir.path().join("inventory.json.corrupt");
    assert_eq!(std::fs::read(&corrupt).unwrap(), b"{ not json");
    // Recording works again and replaces the corrupt file.
    inv.record(entry("1", b"c")).unwrap();
    assert_eq!(Inventory::load(&path).entries().len(), 1);
    // An unknown version is not read either (and not overwritten silently).
    std::fs::write(&path, br#"{"version":99,"passkeys":[]}"#).unwrap();
    assert!(Inventory::load(&path).entries().is_empty());
    // A directory where the file should be: still no error.
    let dir_path = dir.path().join("adir");
    std::fs::create_dir(&dir_path).unwrap();
    assert!(Inventory::load(&dir_path).entries().is_empty());
}
