//! Know your passkeys (issue 8) with the real binary against the sandbox and software
//! authenticators: the self-test after `add`, the model in `list` from the local inventory
//! (and passkeys enrolled elsewhere marked), `which`, `test`, `remove`, and an inventory that
//! is corrupt or missing never blocking anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Env;
use passkeys_core::inventory::Inventory;

fn inventory(env: &Env) -> Inventory {
    Inventory::load(&env.state_dir().join("inventory.json"))
}

#[tokio::test(flavor = "multi_thread")]
async fn self_test_inventory_list_which_test_remove() {
    let env = Env::new().await;
    env.login().await;
    let key1 = env.key("one.cbor");
    let key2 = env.key("two.cbor");
    let key3 = env.key("three.cbor");

    // add: the self-test runs by default and is reported.
    let r = env
        .run(&["add", "--authenticator", &key1, "--name", "One"])
        .await
        .ok();
    assert!(r.stdout.contains("Self-test passed"), "{}", r.stdout);
    assert!(
        r.stderr.contains("Checking the new passkey"),
        "{}",
        r.stderr
    );
    let added = env
        .run(&["--json", "add", "--authenticator", &key2, "--name", "Two"])
        .await
        .ok()
        .json();
    assert_eq!(added["selfTest"]["passed"], true);
    assert_eq!(added["selfTest"]["userVerified"], true);
    assert_eq!(added["selfTest"]["algorithm"], -7);
    let two = added["id"].as_str().unwrap().to_string();
    // --no-self-test skips it.
    let three = env
        .run(&[
            "--json",
            "add",
            "--authenticator",
            &key3,
            "--name",
            "Three",
            "--no-self-test",
        ])
        .await
        .ok()
        .json();
    assert!(three["selfTest"].is_null());
    let three = three["id"].as_str().unwrap().to_string();

    // The inventory knows all three, with no secrets.
    let inv = inventory(&env);
    assert_eq!(inv.entries().len(), 3);
    let one = inv
        .entries()
        .iter()
        .find(|e| e.name == "One")
        .unwrap()
        .clone();
    let one_id = one.id.clone().unwrap();
    assert_eq!(one.model, "Software authenticator");
    assert_eq!(one.instance, env.issuer());
    assert_eq!(common::mode(inv.path()), 0o600);

    // "Three" becomes a passkey this computer has no record of (as if enrolled elsewhere).
    let path = env.state_dir().join("inventory.json");
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    file["passkeys"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["id"] != three.as_str());
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    drop(inv);

    let list = env.run(&["list"]).await.ok();
    assert!(list.stdout.contains("AUTHENTICATOR"), "{}", list.stdout);
    assert!(
        list.stdout.contains("Software authenticator"),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout.contains("enrolled elsewhere"),
        "{}",
        list.stdout
    );
    let rows = env.run(&["--json", "list"]).await.ok().json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        // The existing keys are still there.
        assert!(row["id"].is_string() && row["name"].is_string() && row["state"] == "ready");
        let known = row["id"] != three.as_str();
        assert_eq!(row["known"], known, "{row}");
        if known {
            assert_eq!(row["model"], "Software authenticator");
            assert!(row["credentialId"].is_string() && row["createdAt"].is_string());
        } else {
            assert!(row.get("model").is_none());
        }
    }

    // which: the soft file that holds it; not the other one.
    let r = env
        .run(&["which", &one_id, "--authenticator", &key1])
        .await
        .ok();
    assert!(r.stdout.contains("one.cbor"), "{}", r.stdout);
    let r = env
        .run(&["--json", "which", &one_id, "--authenticator", &key2])
        .await
        .failed();
    assert_eq!(
        r.json()["error"]["code"],
        "authenticator_not_found",
        "{}",
        r.stdout
    );
    // A passkey from elsewhere, and a software passkey without its file, are explained.
    let r = env.run(&["--json", "which", &three]).await.failed();
    assert_eq!(r.json()["error"]["code"], "not_in_inventory");
    let r = env.run(&["--json", "which", &one_id]).await.failed();
    assert_eq!(r.json()["error"]["code"], "config_error");
    assert!(r.stderr.contains("soft:PATH"), "{}", r.stderr);

    // test: signs in once with it and checks the signature here.
    let r = env
        .run(&["test", &two, "--authenticator", &key2])
        .await
        .ok();
    assert!(r.stdout.contains("works"), "{}", r.stdout);
    let r = env
        .run(&["--json", "test", &two, "--authenticator", &key2])
        .await
        .ok()
        .json();
    assert_eq!(r["selfTest"]["passed"], true);
    let r = env
        .run(&["--json", "test", &two, "--authenticator", &key1])
        .await
        .failed();
    assert_eq!(r.json()["error"]["code"], "self_test_authenticator");
    assert!(r.stderr.contains("registered"), "{}", r.stderr);

    // remove updates the inventory: the passkey is marked removed (its credential left on a
    // key is an orphan), no longer listed.
    env.run(&["remove", &one_id]).await.ok();
    assert!(inventory(&env).find(&env.issuer(), &one_id).is_none());
    assert_eq!(inventory(&env).entries().len(), 2);
    assert_eq!(
        inventory(&env)
            .entries()
            .iter()
            .filter(|e| e.removed_at.is_some())
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_inventory_blocks_nothing() {
    let env = Env::new().await;
    env.login().await;
    let path = env.state_dir().join("inventory.json");
    std::fs::create_dir_all(env.state_dir()).unwrap();
    std::fs::write(&path, b"\x00 not json").unwrap();
    let r = env
        .run(&["add", "--authenticator", &env.key("k.cbor"), "--name", "K"])
        .await
        .ok();
    assert!(r.stdout.contains("Self-test passed"), "{}", r.stdout);
    assert!(r.stderr.contains("not usable"), "{}", r.stderr);
    // The damaged file is kept aside, and the new passkey is recorded.
    assert_eq!(
        std::fs::read(env.state_dir().join("inventory.json.corrupt")).unwrap(),
        b"\x00 not json"
    );
    assert_eq!(inventory(&env).entries().len(), 1);
    let list = env.run(&["list"]).await.ok();
    assert!(
        list.stdout.contains("Software authenticator"),
        "{}",
        list.stdout
    );

    // A missing inventory: every passkey is from elsewhere, nothing fails.
    std::fs::remove_file(&path).unwrap();
    let list = env.run(&["list"]).await.ok();
    assert!(
        list.stdout.contains("enrolled elsewhere"),
        "{}",
        list.stdout
    );
}

/// A security-key passkey whose key is not attached (CI has none): `which` and `test` say
/// which key to attach, without asking for anything.
#[tokio::test(flavor = "multi_thread")]
async fn which_and_test_without_the_key_attached() {
    use passkeys_core::authenticator::AuthenticatorKind;
    use passkeys_core::inventory::InventoryEntry;
    let env = Env::new().await;
    let mut inv = inventory(&env);
    let mut entry = InventoryEntry::new(
        Some("218663000000000042".into()),
        "Blue key".into(),
        "AAECAwQFBgcICQoLDA0ODw".into(),
        "cb69481e-8ff7-4039-93ec-0a2729a154a8".into(),
        "YubiKey 5 NFC".into(),
        AuthenticatorKind::Usb,
        env.issuer(),
        "localhost".into(),
    );
    entry.transports = vec!["usb".into()];
    inv.record(entry).unwrap();
    for cmd in ["which", "test"] {
        let r = env
            .run(&["--json", cmd, "218663000000000042"])
            .await
            .failed();
        assert_eq!(
            r.json()["error"]["code"],
            "authenticator_not_found",
            "{cmd}: {}",
            r.stdout
        );
    }
}
