//! The command layer through Tauri's mock runtime: command names, argument shapes (camelCase
//! from JS), result shapes and error JSON with stable codes. Headless: no display needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use passkey_enroll::{AppState, StartOptions};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::{InvokeRequest, WebviewWindow};

struct App {
    _app: tauri::App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
}

fn app(options: StartOptions) -> App {
    let app = passkey_enroll::builder(mock_builder(), AppState::new(options).unwrap())
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    App { _app: app, webview }
}

impl App {
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        tauri::test::get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.into(),
            },
        )
        .map(|body| body.deserialize::<Value>().unwrap())
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args) {
            Ok(v) => panic!("{cmd} should have failed, got {v}"),
            Err(e) => e,
        }
    }
}

fn no_files() -> StartOptions {
    StartOptions {
        profiles_path: None,
        token_store: passkeys_core::tokens::TokenStoreKind::Memory,
        demo_fault: None,
        demo_without_v1: false,
    }
}

/// A channel argument as the JS side sends it.
const CHANNEL: &str = "__CHANNEL__:7";

#[test]
fn app_info_reports_the_version() {
    let app = app(no_files());
    let info = app.ok("app_info", json!({}));
    assert_eq!(info["version"], passkeys_core::version());
    assert_eq!(info["canSaveInstances"], false);
    // The About line: where the running program is.
    let exe = std::env::current_exe().unwrap();
    assert_eq!(info["installedAt"], exe.display().to_string());
    // Device access problems: a list, each with its kind and a message for people.
    let problems = app.ok("device_access", json!({}));
    for p in problems.as_array().unwrap() {
        assert!(p["kind"].is_string() && p["message"].is_string(), "{p}");
    }
    // No subscriber is installed in tests: the diagnostics log is empty.
    assert_eq!(app.ok("diagnostics", json!({})), json!([]));
}

#[test]
fn unknown_commands_and_missing_arguments_are_errors() {
    let app = app(no_files());
    assert!(app.call("no_such_command", json!({})).is_err());
    // `clientId` is required (camelCase, as Tauri maps `client_id`).
    let err = app.err(
        "add_profile",
        json!({"issuer": "https://a.example", "client_id": "x"}),
    );
    assert!(err.as_str().unwrap().contains("clientId"), "{err}");
}

#[test]
fn errors_carry_a_stable_code_and_a_message() {
    let app = app(no_files());
    let err = app.err("me", json!({}));
    assert_eq!(err["code"], "no_instance");
    assert!(err["message"].as_str().unwrap().contains("demo"));
    assert_eq!(
        err.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["code", "message"]
    );

    // Nothing to save instances in.
    let err = app.err(
        "add_profile",
        json!({"issuer": "https://a.example", "clientId": "c"}),
    );
    assert_eq!(err["code"], "no_config_dir");
    assert!(!app.ok("cancel", json!({})).as_bool().unwrap());
}

#[test]
fn instances_are_checked_before_they_are_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.json");
    let app = app(StartOptions {
        profiles_path: Some(path.clone()),
        ..no_files()
    });
    assert_eq!(
        app.ok("list_profiles", json!({})),
        json!({"profiles": [], "lastUsed": null})
    );
    let err = app.err(
        "add_profile",
        json!({"issuer": "http://auth.example.com", "clientId": "c"}),
    );
    assert_eq!(err["code"], "insecure_url");
    let err = app.err(
        "add_profile",
        json!({"issuer": "https://a.example", "clientId": " "}),
    );
    assert_eq!(err["code"], "missing_client_id");
    // Nothing listens on port 9 of loopback: discovery fails, nothing is saved.
    let err = app.err(
        "add_profile",
        json!({"issuer": "http://127.0.0.1:9", "clientId": "c"}),
    );
    assert_eq!(err["code"], "discovery_failed");
    assert!(!path.exists());

    // A real (sandbox) issuer is saved and becomes the active instance, not signed in.
    let sandbox = tauri::async_runtime::block_on(passkeys_sandbox::Sandbox::start(
        passkeys_sandbox::SandboxConfig::default(),
    ))
    .unwrap();
    let issuer = sandbox.issuer().as_str().trim_end_matches('/').to_string();
    let info = app.ok(
        "add_profile",
        json!({"issuer": issuer, "clientId": sandbox.client_id()}),
    );
    assert_eq!(info["signedIn"], false);
    assert_eq!(info["profile"]["issuer"], issuer.as_str());
    assert_eq!(info["profile"]["demo"], false);
    let id = info["profile"]["id"].as_str().unwrap().to_string();
    let list = app.ok("list_profiles", json!({}));
    assert_eq!(list["lastUsed"], id.as_str());
    assert_eq!(list["profiles"][0]["clientId"], sandbox.client_id());

    let reopened = app.ok("open_profile", json!({"id": id}));
    assert_eq!(reopened["profile"]["id"], id.as_str());
    let err = app.err("me", json!({}));
    assert_eq!(err["code"], "not_signed_in");
    let err = app.err("open_profile", json!({"id": "nope"}));
    assert_eq!(err["code"], "config_error");

    let left = app.ok("remove_profile", json!({"id": id}));
    assert_eq!(left["profiles"], json!([]));
}

/// The demo on an instance without the Auth API v1 (issue 14): the passkeys go through User
/// service v2 (Connect), the diagnostics say so, and a self-service link is refused with the
/// alternatives.
#[test]
fn demo_without_auth_api_v1_uses_user_service_v2() {
    let app = app(StartOptions {
        demo_without_v1: true,
        ..no_files()
    });
    app.ok("start_demo", json!({}));
    app.ok("sign_in", json!({"onUrl": CHANNEL}));
    let added = app.ok(
        "add_passkey",
        json!({"authenticator": "software", "name": "Laptop", "onEvent": CHANNEL, "onPrompt": CHANNEL}),
    );
    assert_eq!(added["state"], "ready");
    assert_eq!(added["rpId"], "localhost");
    let list = app.ok("list_passkeys", json!({}));
    assert_eq!(list[0]["id"], added["id"]);
    let diagnostics = app.ok("diagnostics", json!({}));
    assert!(
        diagnostics[0]
            .as_str()
            .unwrap()
            .starts_with("Passkey API: User service v2 (Connect)"),
        "{diagnostics}"
    );
    let api = app.ok("passkey_api", json!({}));
    assert_eq!(api["generation"], "v2-connect");
    assert_eq!(api["listsUnfinished"], false);
    let err = app.err("registration_link", json!({}));
    assert_eq!(err["code"], "self_service_links_unavailable");
    assert!(err["message"].as_str().unwrap().contains("administrator"));
    assert_eq!(
        app.ok("remove_passkey", json!({"id": added["id"]})),
        Value::Null
    );
    assert_eq!(app.ok("list_passkeys", json!({})), json!([]));
}

#[test]
fn demo_enrollment_through_the_commands() {
    let app = app(no_files());
    let info = app.ok("start_demo", json!({}));
    assert_eq!(info["profile"]["demo"], true);
    assert_eq!(info["signedIn"], false);
    assert_eq!(app.err("list_passkeys", json!({}))["code"], "not_signed_in");

    assert_eq!(app.ok("sign_in", json!({"onUrl": CHANNEL})), Value::Null);
    let me = app.ok("me", json!({}));
    assert_eq!(me["loginName"].as_str().map(|s| s.is_empty()), Some(false));
    assert!(me["displayName"].is_string());
    assert_eq!(app.ok("list_passkeys", json!({})), json!([]));

    let choices = app.ok("authenticators", json!({}));
    assert_eq!(choices[0]["id"], "platform");
    assert_eq!(choices[0]["info"]["kind"], "platform");
    assert!(choices[0]["info"]["notice"]
        .as_str()
        .unwrap()
        .contains("opens a registration link in your browser"));
    assert_eq!(choices[1]["id"], "software");
    assert_eq!(choices[1]["info"]["kind"], "software");
    assert_eq!(choices[1]["info"]["hardware"], false);
    let suggested = app.ok("suggest_name", json!({"authenticator": "software"}));
    assert!(suggested
        .as_str()
        .unwrap()
        .starts_with("Software authenticator "));
    let err = app.err("suggest_name", json!({"authenticator": "usb"}));
    assert_eq!(err["code"], "unknown_authenticator");
    assert!(app
        .ok("suggest_name", json!({"authenticator": "platform"}))
        .as_str()
        .unwrap()
        .starts_with("This computer or phone "));

    let first = app.ok(
        "add_passkey",
        json!({"authenticator": "software", "name": "Laptop", "onEvent": CHANNEL, "onPrompt": CHANNEL}),
    );
    assert_eq!(first["name"], "Laptop");
    assert_eq!(first["state"], "ready");
    assert_eq!(first["authenticator"]["kind"], "software");
    // No name: the default name.
    let second = app.ok(
        "add_passkey",
        json!({"authenticator": "software", "name": null, "onEvent": CHANNEL, "onPrompt": CHANNEL}),
    );
    assert!(second["name"]
        .as_str()
        .unwrap()
        .starts_with("Software authenticator "));
    let err = app.err(
        "add_passkey",
        json!({"authenticator": "software", "name": "x".repeat(300), "onEvent": CHANNEL, "onPrompt": CHANNEL}),
    );
    assert_eq!(err["code"], "invalid_name");

    let list = app.ok("list_passkeys", json!({}));
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["state"], "AUTH_FACTOR_STATE_READY");

    let link = app.ok("registration_link", json!({}));
    assert!(link["link"]
        .as_str()
        .unwrap()
        .starts_with("http://localhost:"));
    assert!(link["qrSvg"].as_str().unwrap().starts_with("<svg "));

    let id = first["id"].as_str().unwrap();
    assert_eq!(app.ok("remove_passkey", json!({"id": id})), Value::Null);
    let err = app.err("remove_passkey", json!({"id": id}));
    assert_eq!(err["code"], "not_found");
    assert_eq!(
        app.ok("list_passkeys", json!({})).as_array().unwrap().len(),
        1
    );

    let report = app.ok("sign_out", json!({}));
    assert_eq!(report["was_signed_in"], true);
    // The demo's scripted browser has no ZITADEL session to end.
    assert_eq!(report["browser"], "skipped");
    assert_eq!(app.err("me", json!({}))["code"], "not_signed_in");

    // "Sign in as someone else" (prompt=select_account) and the second-factor retry
    // (prompt=login) reach the sandbox through the same command.
    for prompt in ["select_account", "login"] {
        assert_eq!(
            app.ok("sign_in", json!({"onUrl": CHANNEL, "prompt": prompt})),
            Value::Null
        );
        app.ok("me", json!({}));
        app.ok("sign_out", json!({}));
    }
    let err = app.err("sign_in", json!({"onUrl": CHANNEL, "prompt": "consent"}));
    assert!(err.to_string().contains("prompt"), "{err}");
}

/// ZITADEL answers API calls that carry a webview `Origin` (tauri://localhost) with 403
/// `AUTH-DZG21` (fidelity E3, I10): every call to the instance is made from Rust. The CSP keeps
/// it so: the webview may talk to the IPC bridge only.
#[test]
fn the_webview_cannot_call_the_instance_directly() {
    let conf: Value =
        serde_json::from_str(include_str!("../tauri.conf.json")).expect("tauri.conf.json");
    let csp = conf["app"]["security"]["csp"].as_str().unwrap();
    let connect = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("connect-src"))
        .expect("a connect-src directive");
    for source in connect.split_whitespace().skip(1) {
        assert!(
            matches!(source, "ipc:" | "http://ipc.localhost" | "'self'"),
            "the webview may connect to {source}"
        );
    }
}

#[test]
fn a_rejected_registration_reports_not_registered_with_its_cause() {
    let app = app(StartOptions {
        demo_fault: Some(passkeys_sandbox::Fault::VerifyRejected),
        ..no_files()
    });
    app.ok("start_demo", json!({}));
    app.ok("sign_in", json!({"onUrl": CHANNEL}));
    let err = app.err(
        "add_passkey",
        json!({"authenticator": "software", "name": "Rejected", "onEvent": CHANNEL, "onPrompt": CHANNEL}),
    );
    assert_eq!(err["code"], "not_registered");
    assert_eq!(err["causeCode"], "credential_rejected");
    assert!(err["credentialId"].as_str().is_some_and(|c| !c.is_empty()));
    // The fault fires once: the next attempt works.
    let ok = app.ok(
        "add_passkey",
        json!({"authenticator": "software", "name": "Second try", "onEvent": CHANNEL, "onPrompt": CHANNEL}),
    );
    assert_eq!(ok["state"], "ready");
}

/// Security keys without hardware: none attached on the test machine, so the key choices end in
/// `authenticator_not_found`; a PIN answer with nothing pending is refused with its own code.
#[test]
fn security_key_commands_without_a_key() {
    if !app(no_files())
        .ok("list_keys", json!({}))
        .as_array()
        .unwrap()
        .is_empty()
    {
        eprintln!("skipped: a security key is attached");
        return;
    }
    let app = app(no_files());
    // Listing keys needs no instance.
    assert_eq!(app.ok("list_keys", json!({})), json!([]));
    let err = app.err("answer_pin", json!({"pin": "123456"}));
    assert_eq!(err["code"], "no_pin_request");
    assert!(err["message"].as_str().unwrap().contains("no PIN"));
    assert_eq!(
        app.err("answer_pin", json!({"pin": null}))["code"],
        "no_pin_request"
    );
    // `pin` may be absent (null), but not of another type.
    assert!(app.call("answer_pin", json!({"pin": 1234})).is_err());

    app.ok("start_demo", json!({}));
    app.ok("sign_in", json!({"onUrl": CHANNEL}));
    for id in ["key", "key:0", "key:3"] {
        let err = app.err("suggest_name", json!({"authenticator": id}));
        assert_eq!(err["code"], "authenticator_not_found", "{id}: {err}");
        let err = app.err(
            "add_passkey",
            json!({"authenticator": id, "name": "Key", "onEvent": CHANNEL, "onPrompt": CHANNEL}),
        );
        assert_eq!(err["code"], "authenticator_not_found", "{id}: {err}");
        // What to do: insert a key, or what stops this user from using the attached one.
        let hint = passkeys_ctap::discovery::no_key_hint();
        assert!(err["message"].as_str().unwrap().contains(&hint), "{err}");
    }
    // `onPrompt` is required (camelCase).
    let err = app.err(
        "add_passkey",
        json!({"authenticator": "key", "name": "Key", "onEvent": CHANNEL}),
    );
    assert!(err.as_str().unwrap().contains("onPrompt"), "{err}");
    let err = app.err(
        "add_passkey",
        json!({"authenticator": "key:x", "name": "Key", "onEvent": CHANNEL, "onPrompt": CHANNEL}),
    );
    assert_eq!(err["code"], "unknown_authenticator");
    // Nothing is left running: a cancel finds nothing.
    assert!(!app.ok("cancel", json!({})).as_bool().unwrap());
}

/// The platform path in demo mode: a simulated phone registers through the link while the app
/// polls the list; the link (with its QR code) goes to `onLink` first.
#[test]
fn platform_enrollment_through_the_link_in_demo_mode() {
    let app = app(no_files());
    assert_eq!(
        app.err("add_passkey_via_link", json!({"onLink": CHANNEL}))["code"],
        "no_instance"
    );
    app.ok("start_demo", json!({}));
    app.ok("sign_in", json!({"onUrl": CHANNEL}));
    let passkey = app.ok("add_passkey_via_link", json!({"onLink": CHANNEL}));
    assert_eq!(passkey["name"], "Phone (demo)");
    assert_eq!(passkey["state"], "AUTH_FACTOR_STATE_READY");
    assert_eq!(
        app.ok("list_passkeys", json!({})).as_array().unwrap().len(),
        1
    );
}

/// PIN errors carry the attempts left; the blocked states have their own codes.
#[test]
fn pin_errors_serialize_with_attempts_left() {
    use passkeys_core::authenticator::AuthenticatorError;
    let json =
        |e: AuthenticatorError| serde_json::to_value(passkey_enroll::IpcError::from(e)).unwrap();
    let wrong = json(AuthenticatorError::PinInvalid {
        attempts_left: Some(5),
    });
    assert_eq!(wrong["code"], "pin_invalid");
    assert_eq!(wrong["attemptsLeft"], 5);
    let blocked = json(AuthenticatorError::PinAuthBlocked);
    assert_eq!(blocked["code"], "pin_auth_blocked");
    assert!(blocked.get("attemptsLeft").is_none());
    assert_eq!(json(AuthenticatorError::PinBlocked)["code"], "pin_blocked");
    assert_eq!(
        json(AuthenticatorError::CredentialExcluded)["code"],
        "credential_excluded"
    );
    assert_eq!(
        json(AuthenticatorError::KeyStoreFull)["code"],
        "key_store_full"
    );
}

/// Know your passkeys in demo mode: the model beside each passkey the demo enrolled, "enrolled
/// elsewhere" for the one the simulated phone added, "Which key is this?" and "Test this
/// passkey" against the demo's software authenticators, and the errors for the rest.
#[test]
fn know_your_passkeys_in_demo_mode() {
    let app = app(no_files());
    for (cmd, args) in [
        ("list_known_passkeys", json!({})),
        ("which_passkey", json!({"id": "1"})),
        ("test_passkey", json!({"id": "1", "onPrompt": CHANNEL})),
    ] {
        assert_eq!(app.err(cmd, args)["code"], "no_instance", "{cmd}");
    }
    app.ok("start_demo", json!({}));
    assert_eq!(
        app.err("list_known_passkeys", json!({}))["code"],
        "not_signed_in"
    );
    app.ok("sign_in", json!({"onUrl": CHANNEL}));
    assert_eq!(app.ok("list_known_passkeys", json!({})), json!([]));

    let laptop = app.ok(
        "add_passkey",
        json!({"authenticator": "software", "name": "Laptop", "onEvent": CHANNEL, "onPrompt": CHANNEL}),
    );
    let backup = app.ok(
        "add_passkey",
        json!({"authenticator": "software", "name": "Backup", "onEvent": CHANNEL, "onPrompt": CHANNEL}),
    );
    let phone = app.ok("add_passkey_via_link", json!({"onLink": CHANNEL}));
    let list = app.ok("list_known_passkeys", json!({}));
    let row = |id: &Value| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == *id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not listed in {list}"))
    };
    let known = row(&laptop["id"]);
    assert_eq!(known["name"], "Laptop");
    assert_eq!(known["state"], "AUTH_FACTOR_STATE_READY");
    assert_eq!(known["known"], true);
    assert_eq!(known["kind"], "software");
    assert_eq!(known["transport"], "software");
    assert_eq!(known["model"], laptop["authenticator"]["model"]);
    assert_eq!(known["canCheck"], true);
    let elsewhere = row(&phone["id"]);
    assert_eq!(elsewhere["known"], false);
    assert_eq!(elsewhere["canCheck"], false);
    assert!(elsewhere.get("model").is_none(), "{elsewhere}");

    // Each passkey is found on its own software authenticator and works.
    for p in [&laptop, &backup] {
        let found = app.ok("which_passkey", json!({"id": p["id"]}));
        assert_eq!(found["id"], p["id"]);
        assert_eq!(found["kind"], "software");
        assert_eq!(found["winked"], false);
        assert!(found.get("key").is_none());
        let outcome = app.ok("test_passkey", json!({"id": p["id"], "onPrompt": CHANNEL}));
        assert_eq!(outcome["passed"], true, "{outcome}");
        assert!(outcome["signCount"].is_u64());
        assert!(outcome["algorithm"].is_i64());
    }

    // Not in the inventory: the phone's passkey, an unknown id.
    for id in [phone["id"].clone(), json!("404")] {
        let err = app.err("which_passkey", json!({"id": id}));
        assert_eq!(err["code"], "not_in_inventory", "{err}");
        let err = app.err("test_passkey", json!({"id": id, "onPrompt": CHANNEL}));
        assert_eq!(err["code"], "not_in_inventory", "{err}");
    }
    // `onPrompt` is required (camelCase).
    let err = app.err("test_passkey", json!({"id": laptop["id"]}));
    assert!(err.as_str().unwrap().contains("onPrompt"), "{err}");
    assert!(!app.ok("cancel", json!({})).as_bool().unwrap());

    // Removing a passkey forgets it in the inventory too, as `passkeys remove` does (issue 13:
    // before, the app left the entry behind, so the key's credential later read as an orphan).
    assert_eq!(
        app.ok("remove_passkey", json!({"id": backup["id"]})),
        Value::Null
    );
    let err = app.err("which_passkey", json!({"id": backup["id"]}));
    assert_eq!(err["code"], "not_in_inventory", "{err}");
    let found = app.ok("which_passkey", json!({"id": laptop["id"]}));
    assert_eq!(found["kind"], "software");

    // A new demo starts with nothing known.
    app.ok("start_demo", json!({}));
    app.ok("sign_in", json!({"onUrl": CHANNEL}));
    assert_eq!(app.ok("list_known_passkeys", json!({})), json!([]));
    let err = app.err("which_passkey", json!({"id": laptop["id"]}));
    assert_eq!(err["code"], "not_in_inventory");
}

/// The Security keys page without hardware: every key command ends in `authenticator_not_found`
/// (with the device access hint), signed in or not; argument-only rules (the RESET word, ids, key ids)
/// are refused first, without touching a key; channels are required arguments (camelCase).
#[test]
fn security_keys_page_without_a_key() {
    let app = app(no_files());
    if !app
        .ok("list_keys", json!({}))
        .as_array()
        .unwrap()
        .is_empty()
    {
        eprintln!("skipped: a security key is attached");
        return;
    }
    let commands = |key: &str| {
        [
            ("key_info", json!({"key": key})),
            ("key_wink", json!({"key": key})),
            ("key_set_pin", json!({"key": key, "onPrompt": CHANNEL})),
            ("key_change_pin", json!({"key": key, "onPrompt": CHANNEL})),
            ("key_credentials", json!({"key": key, "onPrompt": CHANNEL})),
            (
                "key_delete_credential",
                json!({"key": key, "id": "AQID", "onPrompt": CHANNEL}),
            ),
            ("key_fingerprints", json!({"key": key, "onPrompt": CHANNEL})),
            (
                "key_enroll_fingerprint",
                json!({"key": key, "name": "Left thumb", "onPrompt": CHANNEL, "onSample": CHANNEL}),
            ),
            (
                "key_rename_fingerprint",
                json!({"key": key, "id": "AQID", "name": "Right", "onPrompt": CHANNEL}),
            ),
            (
                "key_remove_fingerprint",
                json!({"key": key, "id": "AQID", "onPrompt": CHANNEL}),
            ),
            (
                "key_reset",
                json!({"key": key, "confirm": "RESET", "onPrompt": CHANNEL, "onStep": CHANNEL}),
            ),
        ]
    };
    // No instance is needed to manage a key.
    for key in ["key", "key:0", "key:3"] {
        for (cmd, args) in commands(key) {
            let err = app.err(cmd, args);
            assert_eq!(err["code"], "authenticator_not_found", "{cmd} {key}: {err}");
            let hint = passkeys_ctap::discovery::no_key_hint();
            assert!(err["message"].as_str().unwrap().contains(&hint), "{err}");
        }
    }
    // The fingerprint name is optional.
    let err = app.err(
        "key_enroll_fingerprint",
        json!({"key": "key", "onPrompt": CHANNEL, "onSample": CHANNEL}),
    );
    assert_eq!(err["code"], "authenticator_not_found");

    // Refused before any key is touched (else they would say authenticator_not_found).
    for word in ["reset", "RESET ", "", "DELETE"] {
        let err = app.err(
            "key_reset",
            json!({"key": "key", "confirm": word, "onPrompt": CHANNEL, "onStep": CHANNEL}),
        );
        assert_eq!(err["code"], "not_confirmed", "{word:?}: {err}");
        assert!(err["message"].as_str().unwrap().contains("RESET"), "{err}");
    }
    for (cmd, args) in [
        (
            "key_delete_credential",
            json!({"key": "key", "id": "not an id!", "onPrompt": CHANNEL}),
        ),
        (
            "key_remove_fingerprint",
            json!({"key": "key", "id": "", "onPrompt": CHANNEL}),
        ),
        (
            "key_rename_fingerprint",
            json!({"key": "key", "id": "%%", "name": "x", "onPrompt": CHANNEL}),
        ),
    ] {
        assert_eq!(app.err(cmd, args)["code"], "invalid_id", "{cmd}");
    }
    for key in ["usb:0", "key:x", "software", ""] {
        let err = app.err("key_info", json!({"key": key}));
        assert_eq!(err["code"], "unknown_authenticator", "{key:?}: {err}");
    }
    // Orphans are an account's: not signed in, nothing is deleted (and no key is touched).
    let err = app.err(
        "key_delete_orphans",
        json!({"key": "key", "ids": ["AQID"], "onPrompt": CHANNEL}),
    );
    assert_eq!(err["code"], "not_signed_in", "{err}");

    // Argument shapes: the confirmation word and the channels are required (camelCase).
    let missing = |cmd: &str, args: Value, name: &str| {
        let err = app.err(cmd, args);
        assert!(err.as_str().unwrap().contains(name), "{cmd}: {err}");
    };
    missing(
        "key_reset",
        json!({"key": "key", "onPrompt": CHANNEL, "onStep": CHANNEL}),
        "confirm",
    );
    missing(
        "key_reset",
        json!({"key": "key", "confirm": "RESET", "onPrompt": CHANNEL}),
        "onStep",
    );
    missing("key_credentials", json!({"key": "key"}), "onPrompt");
    missing(
        "key_enroll_fingerprint",
        json!({"key": "key", "onPrompt": CHANNEL}),
        "onSample",
    );
    missing("key_info", json!({}), "key");
    missing(
        "key_delete_orphans",
        json!({"key": "key", "onPrompt": CHANNEL}),
        "ids",
    );

    // Signed in (demo): the account is read, then the key is looked for.
    app.ok("start_demo", json!({}));
    app.ok("sign_in", json!({"onUrl": CHANNEL}));
    for (cmd, args) in [
        (
            "key_credentials",
            json!({"key": "key", "onPrompt": CHANNEL}),
        ),
        (
            "key_delete_orphans",
            json!({"key": "key:0", "ids": [], "onPrompt": CHANNEL}),
        ),
    ] {
        assert_eq!(
            app.err(cmd, args)["code"],
            "authenticator_not_found",
            "{cmd}"
        );
    }
    // Nothing is left running: a cancel finds nothing.
    assert!(!app.ok("cancel", json!({})).as_bool().unwrap());
}
