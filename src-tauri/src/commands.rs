//! The IPC commands. Each one takes its arguments, calls one core or service function in the
//! active instance's [`Environment`](passkeys_service::Environment) (the commands do not know
//! which kind of instance it is) and turns the error into an [`IpcError`]. No protocol logic
//! lives here.
//!
//! All are `async`, so network and authenticator work never runs on the main thread.

use passkeys_core::ErrorCode;
use std::sync::Arc;
use std::time::Duration;

use passkeys_core::authenticator::AuthenticatorInfo;
use passkeys_core::enroll::{self, EnrollEvent};
use passkeys_core::link_enroll::enroll_via_link;
use passkeys_core::oidc::{Oidc, SignInOptions, SignInPrompt};
use passkeys_core::profiles::{self, Profiles, SavedProfile};
use passkeys_core::prompt::{NoPrompt, Prompt};
use passkeys_core::session::{LogoutReport, Session};
use passkeys_core::tokens::open_store;
use passkeys_core::zitadel::{Me, Passkey, RegistrationLink};
use passkeys_core::Secret;
use passkeys_ctap::discovery::{self, KeySummary};
use passkeys_ctap::{CancellationToken, Discoverable};
use passkeys_service::environment::Opening;
use passkeys_service::{choose, Environment};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::ipc_error::IpcError;
use crate::prompt::PromptEvent;
use crate::state::{no_instance, Active, ActiveProfile, AppState};

/// How long the sign-in waits for the browser.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);
/// How long sign-out waits for the browser to come back from ZITADEL's logout page.
const SIGN_OUT_BROWSER_WAIT: Duration = Duration::from_secs(30);

/// How often the passkey list is polled while the browser registers a passkey.
const LINK_POLL: Duration = Duration::from_secs(2);
/// How long the registration link flow waits at most (the link's lifetime may be shorter).
const LINK_TIMEOUT: Duration = Duration::from_secs(600);

/// What the UI needs to know at start.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// App (and core) version.
    pub version: &'static str,
    /// Whether instances can be saved.
    pub can_save_instances: bool,
    /// Where this app's program is installed (the About line), e.g. `/usr/bin/passkey-enroll`.
    pub installed_at: String,
}

/// The active instance and whether a session is stored for it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// The instance.
    pub profile: ActiveProfile,
    /// True when tokens for it were found (the person is signed in).
    pub signed_in: bool,
}

/// An authenticator the wizard offers.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorChoice {
    /// What to pass to `add_passkey` and `suggest_name` (`platform`, `key`, `key:N`, and
    /// `software` where the environment offers one): an
    /// [`AuthenticatorChoice`](passkeys_service::AuthenticatorChoice) spelling.
    pub id: String,
    /// Its description.
    pub info: AuthenticatorInfo,
    /// For a security key: what `passkeys authenticators` shows (transport, PIN set, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub key: Option<KeySummary>,
}

/// A registration link for another device, with its QR code. `Debug` hides the one-time code.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    /// The one-time link.
    pub link: String,
    /// Seconds until it expires, when known.
    pub expires_in_secs: Option<u64>,
    /// The link as an SVG QR code.
    pub qr_svg: String,
}

impl std::fmt::Debug for LinkView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkView")
            .field("link", &passkeys_core::zitadel::redact_link(&self.link))
            .field("expires_in_secs", &self.expires_in_secs)
            .finish_non_exhaustive()
    }
}

/// Version and capabilities.
#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> Result<AppInfo, IpcError> {
    Ok(AppInfo {
        version: passkeys_core::version(),
        can_save_instances: state.options.profiles_path.is_some(),
        installed_at: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    })
}

/// Why attached security keys cannot be used (Linux: a key this user may not open, pcscd not
/// running); empty when nothing is wrong. The keys page asks while no key is listed.
#[tauri::command]
pub async fn device_access() -> Result<Vec<DeviceAccess>, IpcError> {
    Ok(discovery::access_problems()
        .into_iter()
        .map(|problem| DeviceAccess {
            message: problem.message(),
            problem,
        })
        .collect())
}

/// One answer of [`device_access`]: the problem (`kind` and its fields) and its message.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DeviceAccess {
    #[serde(flatten)]
    problem: discovery::AccessProblem,
    message: String,
}

/// The saved instances.
#[tauri::command]
pub async fn list_profiles(state: State<'_, AppState>) -> Result<Profiles, IpcError> {
    match &state.options.profiles_path {
        Some(path) => Ok(profiles::load(path)?),
        None => Ok(Profiles::default()),
    }
}

/// Checks an instance through discovery, saves it and makes it the active one. `api`
/// (`auto`, `v1`, `v2`, `v2-rest`, `v2-connect`) and `rpId` are the instance's passkey API
/// settings; omitted, an instance added again keeps its own (a new one gets `auto`).
#[tauri::command]
pub async fn add_profile(
    state: State<'_, AppState>,
    issuer: String,
    client_id: String,
    api: Option<passkeys_core::passkey_api::ApiChoice>,
    rp_id: Option<String>,
) -> Result<SessionInfo, IpcError> {
    let path = state.profiles_path()?;
    let (mut saved, oidc) =
        profiles::add_checked(&path, &issuer, &client_id, state.http.clone()).await?;
    if api.is_some() || rp_id.is_some() {
        let settings = passkeys_core::passkey_api::ApiSettings {
            choice: api.unwrap_or(saved.api),
            rp_id: rp_id
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty()),
        };
        saved = profiles::set_api(&path, &saved.id, &settings)?;
    }
    activate(&state, saved, oidc).await
}

/// Makes a saved instance the active one.
#[tauri::command]
pub async fn open_profile(state: State<'_, AppState>, id: String) -> Result<SessionInfo, IpcError> {
    let path = state.profiles_path()?;
    let (saved, oidc) = profiles::open(&path, &id, state.http.clone()).await?;
    activate(&state, saved, oidc).await
}

/// Forgets a saved instance.
#[tauri::command]
pub async fn remove_profile(state: State<'_, AppState>, id: String) -> Result<Profiles, IpcError> {
    let path = state.profiles_path()?;
    Ok(profiles::remove(&path, &id)?)
}

async fn activate(
    state: &AppState,
    saved: SavedProfile,
    oidc: Oidc,
) -> Result<SessionInfo, IpcError> {
    let store = open_store(state.options.token_store)?;
    let session = match Session::resume(oidc.clone(), store.clone()) {
        Ok(s) => Some(s),
        Err(passkeys_core::Error::NotSignedIn) => None,
        Err(e) => {
            tracing::warn!("the stored session could not be read: {e}");
            None
        }
    };
    let api = saved.api_settings();
    let profile = ActiveProfile {
        id: saved.id,
        issuer: saved.issuer,
        client_id: saved.client_id,
        demo: false,
    };
    let info = SessionInfo {
        profile: profile.clone(),
        signed_in: session.is_some(),
    };
    *state.active.lock().await = Some(Active {
        profile,
        oidc,
        store,
        session,
        _sandbox: None,
        env: Arc::new(Environment::real(SIGN_OUT_BROWSER_WAIT)),
        api,
    });
    Ok(info)
}

/// Demo mode: starts the built-in sandbox and makes it the active instance (tokens in memory).
#[tauri::command]
pub async fn start_demo(state: State<'_, AppState>) -> Result<SessionInfo, IpcError> {
    // Stop a previous demo sandbox first.
    state.active.lock().await.take();
    let active = crate::demo::instance(
        state.options.demo_fault,
        state.options.demo_without_v1,
        state.http.clone(),
    )
    .await?;
    let profile = active.profile.clone();
    *state.active.lock().await = Some(active);
    Ok(SessionInfo {
        profile,
        signed_in: false,
    })
}

/// Leaves the active instance (stops the demo sandbox); nothing is signed out.
#[tauri::command]
pub async fn close_instance(state: State<'_, AppState>) -> Result<(), IpcError> {
    state.key_tokens.clear();
    state.active.lock().await.take();
    Ok(())
}

/// Signs in through the environment's browser (the system browser, or a scripted one). The
/// authorization URL is sent on `on_url` before the browser opens, so the person can open it by
/// hand. `cancel` stops the wait.
#[tauri::command]
pub async fn sign_in(
    state: State<'_, AppState>,
    on_url: Channel<String>,
    prompt: Option<SignInPrompt>,
) -> Result<(), IpcError> {
    let (oidc, store, profile_id, env) = {
        let active = state.active.lock().await;
        let a = active.as_ref().ok_or_else(no_instance)?;
        (
            a.oidc.clone(),
            a.store.clone(),
            a.profile.id.clone(),
            a.env.clone(),
        )
    };
    let session = state
        .cancellable(async move {
            let show = move |url: &str| {
                let _ = on_url.send(url.to_string());
            };
            let options = SignInOptions::new(SIGN_IN_TIMEOUT).with_prompt(prompt);
            let browser = env.sign_in_browser.as_ref();
            Ok(Session::login(oidc, store, browser, &options, &show)
                .await?
                .0)
        })
        .await?;
    let mut active = state.active.lock().await;
    match active.as_mut() {
        Some(a) if a.profile.id == profile_id => {
            tracing::info!("signed in to {}", a.profile.issuer);
            a.session = Some(session);
            Ok(())
        }
        _ => Err(no_instance()),
    }
}

/// Stops the running sign-in or enrollment. Returns whether one was running.
#[tauri::command]
pub async fn cancel(state: State<'_, AppState>) -> Result<bool, IpcError> {
    Ok(state.cancel())
}

/// Signs out: revokes the tokens at the issuer and forgets them.
#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>) -> Result<LogoutReport, IpcError> {
    let (oidc, store, env) = {
        let active = state.active.lock().await;
        let a = active.as_ref().ok_or_else(no_instance)?;
        (a.oidc.clone(), a.store.clone(), a.env.clone())
    };
    // The browser's sign-in session at ZITADEL is ended too (RP-initiated logout), so "sign in"
    // afterwards can be someone else (the environment has no browser session to end when its
    // sign-in is scripted).
    let (browser, wait) = match &env.sign_out_browser {
        Some(b) => (Some(b.browser.as_ref()), b.wait),
        None => (None, Duration::ZERO),
    };
    let report = Session::logout(&oidc, store.as_ref(), browser, wait).await?;
    if let Some(a) = state.active.lock().await.as_mut() {
        a.session = None;
    }
    Ok(report)
}

/// The signed-in person (GetMyUser).
#[tauri::command]
pub async fn me(state: State<'_, AppState>) -> Result<Me, IpcError> {
    let (api, _) = state.api().await?;
    Ok(api.get_my_user().await?)
}

/// The person's passkeys.
#[tauri::command]
pub async fn list_passkeys(state: State<'_, AppState>) -> Result<Vec<Passkey>, IpcError> {
    let (api, _) = state.api().await?;
    Ok(api.list_passkeys().await?)
}

/// Removes a passkey (or cleans up an unfinished registration) and marks it removed in the
/// inventory (a credential of it left on a security key is then an orphan), as `passkeys
/// remove` does.
#[tauri::command]
pub async fn remove_passkey(state: State<'_, AppState>, id: String) -> Result<(), IpcError> {
    let (api, env) = state.api().await?;
    passkeys_service::passkeys::remove(&api, &mut env.inventory.open(), &id).await?;
    Ok(())
}

/// The authenticators the wizard offers besides attached keys (see `list_keys`): the platform
/// authenticator or a phone through a registration link in the browser, and what the
/// environment adds (e.g. a software authenticator; a simulated phone may register through the
/// link).
#[tauri::command]
pub async fn authenticators(
    state: State<'_, AppState>,
) -> Result<Vec<AuthenticatorChoice>, IpcError> {
    let (_, env) = state.api().await?;
    Ok(env
        .authenticators
        .offered()?
        .into_iter()
        .map(|o| AuthenticatorChoice {
            id: o.choice.to_string(),
            info: o.info,
            key: None,
        })
        .collect())
}

/// The security keys attached now (USB and NFC), with model names from their AAGUID. The
/// wizard polls this while its chooser is open, so keys appear and disappear within a second.
/// Each call opens the keys afresh (a key used by a cancelled operation is never reused).
/// In the demo the practice key comes last (`practice`), while it is plugged in.
#[tauri::command]
pub async fn list_keys(state: State<'_, AppState>) -> Result<Vec<AuthenticatorChoice>, IpcError> {
    let devices = choose::attached(None, Arc::new(NoPrompt), CancellationToken::new()).await?;
    let mut keys: Vec<AuthenticatorChoice> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| AuthenticatorChoice {
            id: passkeys_service::AuthenticatorChoice::key(i).to_string(),
            info: passkeys_ctap::key::describe(d),
            key: Some(discovery::summary(d)),
        })
        .collect();
    if let Some(practice) = crate::practice::key(&state).await {
        if let Ok(d) =
            choose::open_practice(&practice, Arc::new(NoPrompt), &CancellationToken::new()).await
        {
            keys.push(AuthenticatorChoice {
                id: crate::practice::ID.into(),
                info: passkeys_ctap::key::describe(&d),
                key: Some(discovery::summary(&d)),
            });
        }
    }
    Ok(keys)
}

fn unknown_authenticator(id: &str) -> IpcError {
    IpcError::app(
        ErrorCode::UnknownAuthenticator,
        format!("the authenticator {id:?} is not available"),
    )
}

/// An authenticator id from the window, exactly as `authenticators` and `list_keys` give them:
/// `key`, `key:N`, `platform`, or what the environment offers (`software`). Never a file
/// (`soft:PATH` is the CLI's) and no other spelling.
fn parse_choice(id: &str) -> Result<passkeys_service::AuthenticatorChoice, IpcError> {
    use passkeys_service::AuthenticatorChoice as Choice;
    match id.parse::<Choice>() {
        Ok(Choice::Soft(_)) | Err(_) => Err(unknown_authenticator(id)),
        Ok(Choice::Key(k)) if k.transport.is_some() => Err(unknown_authenticator(id)),
        Ok(choice) if choice.to_string() != id => Err(unknown_authenticator(id)),
        Ok(choice) => Ok(choice),
    }
}

/// A default passkey name for `authenticator`, unique among the person's passkeys.
#[tauri::command]
pub async fn suggest_name(
    state: State<'_, AppState>,
    authenticator: String,
) -> Result<String, IpcError> {
    let (api, env) = state.api().await?;
    let choice = parse_choice(&authenticator)?;
    let info = match env.authenticators.describe(&choice).await {
        Ok(info) => info,
        Err(passkeys_core::Error::Authenticator(
            passkeys_core::authenticator::AuthenticatorError::NotFound(_),
        )) if choice.as_key().is_none() => return Err(unknown_authenticator(&authenticator)),
        Err(e) => return Err(e.into()),
    };
    let existing = api.list_passkeys().await?;
    Ok(enroll::default_name(&info, &existing))
}

/// Creates a passkey on `authenticator` and registers it under `name` (the default name when
/// absent), sending each step on `on_event`. For a security key (`key`, `key:N`) the key is
/// opened for this operation only, and what it asks (PIN, touch) goes to `on_prompt`; the PIN
/// comes back through `answer_pin`. `cancel` stops it (on the key too).
#[tauri::command]
pub async fn add_passkey(
    state: State<'_, AppState>,
    authenticator: String,
    name: Option<String>,
    on_event: Channel<EnrollEvent>,
    on_prompt: Channel<PromptEvent>,
) -> Result<enroll::Enrollment, IpcError> {
    let (api, env) = state.api().await?;
    // The self-test signs in once with the new passkey; the environment's inventory records it
    // (an environment may keep its own, and its software authenticators, for the session).
    let options = env.enroll_options();
    let choice = parse_choice(&authenticator)?;
    if choice == passkeys_service::AuthenticatorChoice::Platform {
        return Err(unknown_authenticator(&authenticator));
    }
    let prompt = state.prompt.clone();
    // Security keys are cancelled on the device; anything else is aborted.
    let cancel = CancellationToken::new();
    let on_device = choice.as_key().map(|_| cancel.clone());
    state
        .cancellable_with(on_device, async move {
            // Attached only once this is the running operation (a `busy` call changes nothing).
            prompt.attach(on_prompt);
            let result = async {
                let on_several = {
                    let prompt = prompt.clone();
                    move || prompt.send(PromptEvent::TouchToSelect)
                };
                let dyn_prompt: Arc<dyn Prompt> = prompt.clone();
                let opening = Opening {
                    prompt: dyn_prompt,
                    cancel,
                    on_several: &on_several,
                    discoverable: Discoverable::Auto,
                };
                let mut device = env
                    .authenticators
                    .open(&choice, opening)
                    .await
                    .map_err(|e| match e {
                        passkeys_core::Error::Authenticator(
                            passkeys_core::authenticator::AuthenticatorError::NotFound(_),
                        ) if choice.as_key().is_none() => unknown_authenticator(&authenticator),
                        e => e.into(),
                    })?;
                let observer = move |e: &EnrollEvent| {
                    let _ = on_event.send(e.clone());
                };
                let name = name.as_deref().map(str::trim).filter(|n| !n.is_empty());
                let result =
                    enroll::add_passkey_with(&api, device.as_mut(), name, &observer, &options)
                        .await;
                match &result {
                    Ok(e) => tracing::info!(
                        "passkey {:?} added (id {}, rpId {}, self-test passed: {:?})",
                        e.passkey.name,
                        e.passkey.id.as_deref().unwrap_or("?"),
                        e.passkey.rp_id,
                        e.self_test.as_ref().map(|t| t.passed())
                    ),
                    Err(e) => tracing::warn!("adding a passkey failed ({}): {e}", e.code()),
                }
                let enrollment = result?;
                env.authenticators.keep(device).await;
                Ok(enrollment)
            }
            .await;
            prompt.detach();
            result
        })
        .await
}

/// Answers the security key's PIN request: the PIN, or `null` to cancel. The PIN is held as a
/// secret (never logged, zeroized once used).
#[tauri::command]
pub async fn answer_pin(state: State<'_, AppState>, pin: Option<String>) -> Result<(), IpcError> {
    state
        .prompt
        .answer(pin.filter(|p| !p.is_empty()).map(Secret::new))
}

/// The platform authenticator or a phone: opens a registration link in the system browser
/// (sent first on `on_link`, with its QR code, in case no browser opens) and waits until the new
/// passkey is READY. `cancel` stops the wait.
#[tauri::command]
pub async fn add_passkey_via_link(
    state: State<'_, AppState>,
    on_link: Channel<LinkView>,
) -> Result<Passkey, IpcError> {
    let (api, env) = state.api().await?;
    state
        .cancellable(async move {
            let show = move |link: &RegistrationLink| match link_view(link) {
                Ok(view) => {
                    let _ = on_link.send(view);
                }
                Err(e) => tracing::warn!("{e}"),
            };
            let browser = env.link_opener.browser(&api);
            let passkey =
                enroll_via_link(&api, browser.as_ref(), LINK_POLL, LINK_TIMEOUT, &show).await;
            match &passkey {
                Ok(p) => {
                    tracing::info!("passkey {:?} added through the link (id {})", p.name, p.id)
                }
                Err(e) => tracing::warn!(
                    "adding a passkey through the link failed ({}): {e}",
                    e.code()
                ),
            }
            Ok(passkey?)
        })
        .await
}

fn link_view(link: &RegistrationLink) -> Result<LinkView, IpcError> {
    let qr_svg = crate::qr::svg(&link.link)
        .map_err(|e| IpcError::app(ErrorCode::QrFailed, format!("cannot draw the QR code: {e}")))?;
    Ok(LinkView {
        link: link.link.clone(),
        expires_in_secs: link.expires_in_secs,
        qr_svg,
    })
}

/// A one-time link (and QR code) to register a passkey on another device.
#[tauri::command]
pub async fn registration_link(state: State<'_, AppState>) -> Result<LinkView, IpcError> {
    let (api, _) = state.api().await?;
    link_view(&api.add_passkey_link().await?)
}

/// Which ZITADEL API serves the signed-in person's passkeys (issue 14).
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PasskeyApiView {
    /// The generation in use.
    pub generation: passkeys_core::passkey_api::ApiGeneration,
    /// For people, e.g. "User service v2 (Connect)".
    pub label: String,
    /// False on User service v2: its list shows finished passkeys only, so an unfinished
    /// registration cannot be seen or cleaned up there.
    pub lists_unfinished: bool,
}

/// The passkey API in use for the active, signed-in instance (detected on first use).
#[tauri::command]
pub async fn passkey_api(state: State<'_, AppState>) -> Result<PasskeyApiView, IpcError> {
    let (api, _) = state.api().await?;
    let generation = api.api_generation().await?;
    Ok(PasskeyApiView {
        generation,
        label: generation.label().to_string(),
        lists_unfinished: generation.lists_unfinished(),
    })
}

/// The app's recent log lines, secrets redacted, for the Diagnostics view.
#[tauri::command]
pub async fn diagnostics(state: State<'_, AppState>) -> Result<Vec<String>, IpcError> {
    let mut lines = Vec::new();
    // Which API generation serves the passkeys (issue 14), when signed in.
    if let Ok((api, _)) = state.api().await {
        lines.push(match api.api_generation().await {
            Ok(_) => format!(
                "Passkey API: {}",
                api.api_status().map(|s| s.describe()).unwrap_or_default()
            ),
            Err(e) => format!("Passkey API: not known ({e})"),
        });
    }
    lines.extend(state.log.lines());
    Ok(lines)
}
