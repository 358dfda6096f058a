//! The service against the sandbox in the demo environment: enroll on the environment's software
//! authenticators, locate and test the passkeys, and remove one (ZITADEL and the inventory
//! together, the one removal both shells call).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use passkeys_core::config::parse_issuer;
use passkeys_core::oidc::{Oidc, SignInOptions};
use passkeys_core::prompt::NoPrompt;
use passkeys_core::session::Session;
use passkeys_core::tokens::MemoryStore;
use passkeys_core::zitadel::{http_client, ZitadelClient};
use passkeys_core::Error;
use passkeys_ctap::{CancellationToken, Discoverable};
use passkeys_sandbox::{Sandbox, SandboxConfig};
use passkeys_service::environment::{Opening, Unreachable};
use passkeys_service::locate::{self, Holder, LocateError};
use passkeys_service::passkeys::{instance_of, remove};
use passkeys_service::{AuthenticatorChoice, Environment};

async fn signed_in(sandbox: &Sandbox, env: &Environment) -> ZitadelClient {
    let issuer = parse_issuer(sandbox.issuer().as_str()).unwrap();
    let http = http_client().unwrap();
    let oidc = Oidc::discover(&issuer, sandbox.client_id(), http.clone())
        .await
        .unwrap();
    let (session, _) = Session::login(
        oidc,
        Arc::new(MemoryStore::default()),
        env.sign_in_browser.as_ref(),
        &SignInOptions::new(Duration::from_secs(30)),
        &|_| {},
    )
    .await
    .unwrap();
    session.zitadel(http)
}

async fn enroll(env: &Environment, api: &ZitadelClient, name: &str) -> String {
    let mut device = env
        .authenticators
        .open(
            &AuthenticatorChoice::Software,
            Opening {
                prompt: Arc::new(NoPrompt),
                cancel: CancellationToken::new(),
                on_several: &|| {},
                discoverable: Discoverable::Auto,
            },
        )
        .await
        .unwrap();
    let enrolled = passkeys_core::enroll::add_passkey_with(
        api,
        device.as_mut(),
        Some(name),
        &|_: &_| {},
        &env.enroll_options(),
    )
    .await
    .unwrap();
    env.authenticators.keep(device).await;
    enrolled.passkey.id.unwrap()
}

#[tokio::test]
async fn demo_environment_enrolls_locates_tests_and_removes() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let env = Environment::demo().unwrap();
    let api = signed_in(&sandbox, &env).await;
    let instance = instance_of(&api);
    let offered: Vec<String> = env
        .authenticators
        .offered()
        .unwrap()
        .iter()
        .map(|o| o.choice.to_string())
        .collect();
    assert_eq!(offered, ["platform", "software"]);

    let laptop = enroll(&env, &api, "Laptop").await;
    let backup = enroll(&env, &api, "Backup").await;
    let source = env.authenticators.as_ref();
    for id in [&laptop, &backup] {
        let entry = locate::entry(&env.inventory.open(), &instance, id).unwrap();
        let holder = locate::which(
            source,
            &entry,
            &AuthenticatorChoice::AUTO,
            Arc::new(NoPrompt),
            CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(holder, Holder::Software { path: None });
        // The self-test passes (the inner result is Ok).
        locate::test(
            source,
            &entry,
            &AuthenticatorChoice::AUTO,
            Arc::new(NoPrompt),
            CancellationToken::new(),
            &|_| {},
        )
        .await
        .unwrap()
        .unwrap();
    }

    // The demo reaches only its software authenticators.
    let mut entry = locate::entry(&env.inventory.open(), &instance, &laptop).unwrap();
    entry.kind = passkeys_core::authenticator::AuthenticatorKind::Usb;
    let e = locate::check_reachable(source, &entry, &AuthenticatorChoice::AUTO).unwrap_err();
    assert!(matches!(
        e,
        LocateError::Unreachable {
            why: Unreachable::SecurityKey,
            ..
        }
    ));

    // Removal: gone at ZITADEL and in the inventory; the other one stays in both.
    remove(&api, &mut env.inventory.open(), &backup)
        .await
        .unwrap();
    assert!(api
        .list_passkeys()
        .await
        .unwrap()
        .iter()
        .all(|p| p.id != backup));
    assert!(matches!(
        locate::entry(&env.inventory.open(), &instance, &backup),
        Err(Error::NotInInventory { .. })
    ));
    assert!(locate::entry(&env.inventory.open(), &instance, &laptop).is_ok());
    // A failed removal forgets nothing.
    assert!(remove(&api, &mut env.inventory.open(), "404")
        .await
        .is_err());
    assert!(locate::entry(&env.inventory.open(), &instance, &laptop).is_ok());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_real_environment_refuses_what_it_cannot_reach() {
    let env = Environment::real(Duration::from_secs(1));
    let source = env.authenticators.as_ref();
    use passkeys_core::authenticator::AuthenticatorKind::{Nfc, Platform, Software, Usb};
    let auto = AuthenticatorChoice::AUTO;
    assert!(source.reach(&auto, Usb).is_ok());
    assert!(source.reach(&auto, Nfc).is_ok());
    assert_eq!(source.reach(&auto, Software), Err(Unreachable::Software));
    assert_eq!(source.reach(&auto, Platform), Err(Unreachable::Platform));
    let soft: AuthenticatorChoice = "soft:/nonexistent".parse().unwrap();
    assert!(source.reach(&soft, Software).is_ok());
    assert_eq!(
        source.reach(&AuthenticatorChoice::Platform, Usb),
        Err(Unreachable::Platform)
    );
    let offered: Vec<String> = source
        .offered()
        .unwrap()
        .iter()
        .map(|o| o.choice.to_string())
        .collect();
    assert_eq!(offered, ["platform"]);
    // `software` is the demo's; a soft file must exist to be asked.
    assert!(source
        .describe(&AuthenticatorChoice::Software)
        .await
        .is_err());
    assert!(source
        .candidates(&soft, Arc::new(NoPrompt), CancellationToken::new())
        .await
        .is_err());
}

/// User service v2 specifics through the self-service port (issue 14), over REST and Connect:
/// the options arrive as a JSON object (rpId = the `domain` sent, the issuer host), the
/// pending registration is not listed (READY only), the `passkeyId` from RegisterPasskey is the
/// id of the registered passkey, and a missing passkey is `not_found` as on v1.
#[tokio::test]
async fn self_service_on_user_service_v2() {
    use passkeys_core::passkey_api::{ApiChoice, ApiGeneration, ApiSettings};
    for (profile, generation) in [
        ("api-v2-rest-only", ApiGeneration::V2Rest),
        ("api-v2-connect-only", ApiGeneration::V2Connect),
    ] {
        let sandbox = Sandbox::start(SandboxConfig::profile(profile).unwrap())
            .await
            .unwrap();
        let env = Environment::demo().unwrap();
        let api = signed_in(&sandbox, &env)
            .await
            .with_api(ApiSettings {
                choice: ApiChoice::V2,
                rp_id: None,
            })
            .unwrap();
        assert_eq!(api.api_generation().await.unwrap(), generation, "{profile}");
        assert!(!generation.lists_unfinished());

        let options = api.add_passkey().await.unwrap();
        assert_eq!(options.rp_id, "localhost", "{profile}");
        let pending = api
            .pending_passkey_id()
            .expect("RegisterPasskey gave an id");
        let user = passkeys_sandbox::DEMO_USER_ID;
        assert_eq!(
            sandbox.inspect().passkey_rp_id(user, &pending).as_deref(),
            Some("localhost"),
            "{profile}: the domain sent"
        );
        assert_eq!(sandbox.inspect().passkeys().len(), 1, "{profile}: pending");
        assert!(api.list_passkeys().await.unwrap().is_empty(), "{profile}");

        let id = enroll(&env, &api, "Laptop").await;
        let listed = api.list_passkeys().await.unwrap();
        assert_eq!(listed.len(), 1, "{profile}");
        assert_eq!(listed[0].id, id, "{profile}");
        assert_eq!(listed[0].name, "Laptop", "{profile}");
        assert_eq!(
            Some(id.clone()),
            api.pending_passkey_id(),
            "{profile}: the registered passkey has the id RegisterPasskey gave"
        );

        let e = api.remove_passkey("404404404").await.unwrap_err();
        assert_eq!(e.code(), "not_found", "{profile}: {e}");
        remove(&api, &mut env.inventory.open(), &id).await.unwrap();
        assert!(api.list_passkeys().await.unwrap().is_empty(), "{profile}");

        // A login domain the instance may not claim is refused before any call.
        let e = signed_in(&sandbox, &env)
            .await
            .with_api(ApiSettings {
                choice: ApiChoice::V2,
                rp_id: Some("example.com".into()),
            })
            .unwrap_err();
        assert_eq!(e.code(), "rp_id_refused");
        sandbox.shutdown().await;
    }
}

/// A person who types `pin` whenever asked (set or enter), counting the touch prompts.
#[derive(Default)]
struct Person {
    pin: &'static str,
    asked: std::sync::Mutex<Vec<passkeys_core::prompt::PinRequest>>,
    touches: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl passkeys_core::prompt::Prompt for Person {
    async fn request_pin(
        &self,
        request: &passkeys_core::prompt::PinRequest,
    ) -> Option<passkeys_core::Secret> {
        self.asked.lock().unwrap().push(request.clone());
        Some(passkeys_core::Secret::new(self.pin))
    }
    fn touch(&self) {
        self.touches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The demo's practice key: described by name, a PIN set first, touched by the person (the
/// key waits until `touch()`), the passkey found on it again through `practice`; a real
/// environment refuses it.
#[tokio::test]
async fn demo_practice_key_enrolls_with_a_pin_set_first_and_is_found_again() {
    use passkeys_ctap::practice::Touch;
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let env = Environment::demo().unwrap();
    let api = signed_in(&sandbox, &env).await;
    let practice = env.authenticators.practice().expect("the demo has one");
    practice.set_touch(Touch::Person);
    let info = env
        .authenticators
        .describe(&AuthenticatorChoice::Practice)
        .await
        .unwrap();
    assert_eq!(info.model, passkeys_ctap::aaguid::PRACTICE_NAME);
    assert!(info.notice.unwrap().contains("simulated"));

    let person = Arc::new(Person {
        pin: "246810",
        ..Person::default()
    });
    let toucher = practice.touch_when_waiting(|| {});
    let mut device = env
        .authenticators
        .open(
            &AuthenticatorChoice::Practice,
            Opening {
                prompt: person.clone(),
                cancel: CancellationToken::new(),
                on_several: &|| {},
                discoverable: Discoverable::Always,
            },
        )
        .await
        .unwrap();
    let enrolled = passkeys_core::enroll::add_passkey_with(
        &api,
        device.as_mut(),
        Some("Practice"),
        &|_: &_| {},
        &env.enroll_options(),
    )
    .await
    .unwrap();
    drop(device);
    let asked = person.asked.lock().unwrap().clone();
    assert!(
        matches!(
            asked.first(),
            Some(passkeys_core::prompt::PinRequest::SetNew { .. })
        ),
        "{asked:?}"
    );
    assert!(person.touches.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert!(practice.status().plugged);

    let instance = instance_of(&api);
    let entry = locate::entry(
        &env.inventory.open(),
        &instance,
        enrolled.passkey.id.as_deref().unwrap(),
    )
    .unwrap();
    assert_eq!(
        entry.kind,
        passkeys_core::authenticator::AuthenticatorKind::Usb
    );
    let holder = locate::which(
        env.authenticators.as_ref(),
        &entry,
        &AuthenticatorChoice::Practice,
        person.clone(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(
        matches!(&holder, Holder::SecurityKey { key, .. } if key.model == passkeys_ctap::aaguid::PRACTICE_NAME),
        "{holder:?}"
    );
    toucher.abort();

    // Pulled out: "insert it again"; a real environment does not have it at all.
    practice.unplug();
    let e = env
        .authenticators
        .describe(&AuthenticatorChoice::Practice)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("insert it again"), "{e}");
    let real = Environment::real(Duration::from_secs(1));
    let e = real
        .authenticators
        .describe(&AuthenticatorChoice::Practice)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("only in the demo"), "{e}");
}

/// Reset of the practice key: the ceremony waits for it to be pulled out and inserted again
/// (here at the "re-insert" step, as the app's buttons do), then erases it within the power-up
/// window; a PIN it had is gone.
#[tokio::test]
async fn practice_key_reset_waits_for_the_reinsert() {
    use passkeys_service::key_ops::{self, ResetStep};
    let key = passkeys_ctap::practice::PracticeKey::new();
    let prompt: Arc<dyn passkeys_core::prompt::Prompt> = Arc::new(NoPrompt);
    let mut device =
        passkeys_service::choose::open_practice(&key, prompt.clone(), &CancellationToken::new())
            .await
            .unwrap();
    device
        .set_pin(&passkeys_core::Secret::new("246810"))
        .await
        .unwrap();
    let plan = key_ops::prepare_reset(device).await.unwrap();
    let steps = std::sync::Mutex::new(Vec::new());
    let on_step = |step: ResetStep| {
        if matches!(step, ResetStep::Reinsert { .. }) {
            key.replug();
        }
        steps.lock().unwrap().push(step);
    };
    plan.run(prompt.clone(), CancellationToken::new(), &on_step)
        .await
        .unwrap();
    let steps = steps.into_inner().unwrap();
    assert!(matches!(steps[0], ResetStep::Reinsert { .. }), "{steps:?}");
    assert!(matches!(steps[1], ResetStep::Touch { .. }), "{steps:?}");
    let device = passkeys_service::choose::open_practice(&key, prompt, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(device.info().client_pin(), Some(false), "the PIN is gone");
}

/// Fidelity G7: on an instance without the Auth API v1 (`GET /auth/v1/users/me` answers the
/// unknown-route 404), the signed-in user comes from User service v2 GetUserByID, on the
/// transport detected; with v2 forced, from GetUserByID on the first call.
#[tokio::test(flavor = "multi_thread")]
async fn whoami_without_the_auth_api_v1() {
    use passkeys_core::passkey_api::{ApiChoice, ApiGeneration, ApiSettings};
    let sandbox = Sandbox::start(SandboxConfig::profile("api-future-no-v1").unwrap())
        .await
        .unwrap();
    let env = Environment::demo().unwrap();
    let api = signed_in(&sandbox, &env).await;
    let me = api.get_my_user().await.unwrap();
    assert_eq!(me.id, passkeys_sandbox::DEMO_USER_ID);
    assert_eq!(me.login_name, "demo@sandbox.localhost");
    assert_eq!(me.display_name, "Demo User");
    assert_eq!(
        api.api_status().map(|s| s.generation),
        Some(ApiGeneration::V2Connect),
        "GetMyUser not served: the generation was detected"
    );

    let rest_only = Sandbox::start(SandboxConfig {
        auth_v1_users_me: false,
        ..SandboxConfig::profile("api-v2-rest-only").unwrap()
    })
    .await
    .unwrap();
    let api = signed_in(&rest_only, &env)
        .await
        .with_api(ApiSettings {
            choice: ApiChoice::V2,
            rp_id: None,
        })
        .unwrap();
    assert_eq!(api.get_my_user().await.unwrap(), me);
    assert_eq!(api.api_generation().await.unwrap(), ApiGeneration::V2Rest);
}
