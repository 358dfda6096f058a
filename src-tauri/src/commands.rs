//! The IPC commands. Each one takes its arguments, calls one core function (or the sandbox in
//! demo mode) and turns the core's error into an [`IpcError`]. No protocol logic lives here.
//!
//! All are `async`, so network and authenticator work never runs on the main thread.

use std::sync::Arc;
use std::time::Duration;

use passkeys_core::authenticator::{
    Authenticator, AuthenticatorError, AuthenticatorInfo, AuthenticatorKind, SoftAuthenticator,
};
use passkeys_core::browser::SystemBrowser;
use passkeys_core::config::parse_issuer;
use passkeys_core::enroll::{self, EnrollEvent};
use passkeys_core::link_enroll::{enroll_via_link, PLATFORM_EXPLANATION};
use passkeys_core::oidc::{Oidc, SignInOptions, SignInPrompt};
use passkeys_core::profiles::{self, Profiles, SavedProfile};
use passkeys_core::prompt::{NoPrompt, Prompt};
use passkeys_core::session::{LogoutReport, Session};
use passkeys_core::tokens::{open_store, MemoryStore, TokenStore};
use passkeys_core::zitadel::{Me, Passkey, RegistrationLink};
use passkeys_core::Secret;
use passkeys_ctap::discovery::{self, KeySummary};
use passkeys_ctap::{CancellationToken, Discoverable, SecurityKey};
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

/// The id of the software authenticator choice (demo mode).
const SOFTWARE: &str = "software";
/// The id of the platform choice: a registration link in the system browser.
const PLATFORM: &str = "platform";
/// The id of "the attached security key" (the only one, or the one touched among several);
/// `key:N` is the N-th key as `list_keys` reported it.
const KEY: &str = "key";
/// How long touch-to-select waits when several keys are attached.
const SELECT_TIMEOUT: Duration = Duration::from_secs(60);
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
    /// What to pass to `add_passkey` and `suggest_name` (`software`, `platform`, `key`,
    /// `key:N`).
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

/// Checks an instance through discovery, saves it and makes it the active one.
#[tauri::command]
pub async fn add_profile(
    state: State<'_, AppState>,
    issuer: String,
    client_id: String,
) -> Result<SessionInfo, IpcError> {
    let path = state.profiles_path()?;
    let (saved, oidc) =
        profiles::add_checked(&path, &issuer, &client_id, state.http.clone()).await?;
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
        demo_shelf: None,
    });
    Ok(info)
}

/// Demo mode: starts the built-in sandbox and makes it the active instance (tokens in memory).
#[tauri::command]
pub async fn start_demo(state: State<'_, AppState>) -> Result<SessionInfo, IpcError> {
    // Stop a previous demo sandbox first.
    state.active.lock().await.take();
    let sandbox = crate::demo::start_sandbox(state.options.demo_fault).await?;
    let issuer = parse_issuer(sandbox.issuer().as_str())?;
    let oidc = Oidc::discover(&issuer, sandbox.client_id(), state.http.clone()).await?;
    let profile = ActiveProfile {
        id: "demo".into(),
        issuer: issuer.as_str.clone(),
        client_id: sandbox.client_id().to_string(),
        demo: true,
    };
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    tracing::info!("demo mode: sandbox issuer at {}", issuer.as_str);
    *state.active.lock().await = Some(Active {
        profile: profile.clone(),
        oidc,
        store,
        session: None,
        _sandbox: Some(sandbox),
        demo_shelf: Some(Arc::new(crate::know::DemoShelf::new()?)),
    });
    Ok(SessionInfo {
        profile,
        signed_in: false,
    })
}

/// Leaves the active instance (stops the demo sandbox); nothing is signed out.
#[tauri::command]
pub async fn close_instance(state: State<'_, AppState>) -> Result<(), IpcError> {
    state.active.lock().await.take();
    Ok(())
}

/// Signs in through the system browser (in demo mode: the sandbox's demo user). The
/// authorization URL is sent on `on_url` before the browser opens, so the person can open it by
/// hand. `cancel` stops the wait.
#[tauri::command]
pub async fn sign_in(
    state: State<'_, AppState>,
    on_url: Channel<String>,
    prompt: Option<SignInPrompt>,
) -> Result<(), IpcError> {
    let (oidc, store, profile_id, demo) = {
        let active = state.active.lock().await;
        let a = active.as_ref().ok_or_else(no_instance)?;
        (
            a.oidc.clone(),
            a.store.clone(),
            a.profile.id.clone(),
            a.profile.demo,
        )
    };
    let session = state
        .cancellable(async move {
            let show = move |url: &str| {
                let _ = on_url.send(url.to_string());
            };
            let options = SignInOptions::new(SIGN_IN_TIMEOUT).with_prompt(prompt);
            let signed_in = if demo {
                Session::login(oidc, store, &crate::demo::browser(), &options, &show).await
            } else {
                Session::login(oidc, store, &SystemBrowser, &options, &show).await
            };
            Ok(signed_in?.0)
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
    let (oidc, store, demo) = {
        let active = state.active.lock().await;
        let a = active.as_ref().ok_or_else(no_instance)?;
        (a.oidc.clone(), a.store.clone(), a.profile.demo)
    };
    // The browser's sign-in session at ZITADEL is ended too (RP-initiated logout), so "sign in"
    // afterwards can be someone else. The demo's scripted browser has no session to end.
    let report = if demo {
        Session::logout(&oidc, store.as_ref(), None, Duration::ZERO).await?
    } else {
        Session::logout(
            &oidc,
            store.as_ref(),
            Some(&SystemBrowser),
            SIGN_OUT_BROWSER_WAIT,
        )
        .await?
    };
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

/// Removes a passkey (or cleans up an unfinished registration).
#[tauri::command]
pub async fn remove_passkey(state: State<'_, AppState>, id: String) -> Result<(), IpcError> {
    let (api, _) = state.api().await?;
    api.remove_passkey(&id).await?;
    tracing::info!("passkey {id} removed");
    Ok(())
}

/// The authenticators the wizard offers besides attached keys (see `list_keys`): in demo mode
/// the software authenticator, and the platform authenticator or a phone through a registration
/// link in the browser (in demo mode a simulated phone registers through that link).
#[tauri::command]
pub async fn authenticators(
    state: State<'_, AppState>,
) -> Result<Vec<AuthenticatorChoice>, IpcError> {
    let (_, demo) = state.api().await?;
    let mut choices = vec![AuthenticatorChoice {
        id: PLATFORM.into(),
        info: platform_info(),
        key: None,
    }];
    if demo {
        choices.push(AuthenticatorChoice {
            id: SOFTWARE.into(),
            info: SoftAuthenticator::ephemeral()?.info(),
            key: None,
        });
    }
    Ok(choices)
}

fn platform_info() -> AuthenticatorInfo {
    AuthenticatorInfo {
        kind: AuthenticatorKind::Platform,
        model: "This computer or phone".into(),
        aaguid: None,
        hardware: true,
        notice: Some(PLATFORM_EXPLANATION.into()),
    }
}

/// The security keys attached now (USB and NFC), with model names from their AAGUID. The
/// wizard polls this while its chooser is open, so keys appear and disappear within a second.
/// Each call opens the keys afresh (a key used by a cancelled operation is never reused).
#[tauri::command]
pub async fn list_keys() -> Result<Vec<AuthenticatorChoice>, IpcError> {
    let devices = discovery::open_all(Arc::new(NoPrompt), CancellationToken::new()).await?;
    Ok(devices
        .iter()
        .enumerate()
        .map(|(i, d)| AuthenticatorChoice {
            id: format!("{KEY}:{i}"),
            info: passkeys_ctap::key::describe(d),
            key: Some(discovery::summary(d)),
        })
        .collect())
}

/// `key` or `key:N`: `Some(None)` or `Some(Some(N))`; anything else `None`.
fn key_index(id: &str) -> Option<Option<usize>> {
    if id == KEY {
        return Some(None);
    }
    id.strip_prefix("key:")?.parse().ok().map(Some)
}

fn unknown_authenticator(id: &str) -> IpcError {
    IpcError::app(
        "unknown_authenticator",
        format!("the authenticator {id:?} is not available"),
    )
}

fn no_key() -> IpcError {
    AuthenticatorError::NotFound(discovery::no_key_hint()).into()
}

/// Opens the security key `index` (or the only / touched one) for one operation, with `prompt`.
async fn open_key(
    index: Option<usize>,
    prompt: Arc<crate::prompt::AppPrompt>,
    cancel: CancellationToken,
) -> Result<Box<dyn Authenticator>, IpcError> {
    let dyn_prompt: Arc<dyn Prompt> = prompt.clone();
    let mut devices = discovery::open_all(dyn_prompt, cancel.clone()).await?;
    let device = match index {
        Some(i) if i < devices.len() => devices.swap_remove(i),
        Some(_) => return Err(no_key()),
        None if devices.is_empty() => return Err(no_key()),
        None => {
            if devices.len() > 1 {
                prompt.send(PromptEvent::TouchToSelect);
            }
            discovery::select_by_touch(devices, &cancel, SELECT_TIMEOUT).await?
        }
    };
    Ok(Box::new(SecurityKey::new(device, Discoverable::Auto)))
}

fn authenticator(id: &str, demo: bool) -> Result<Box<dyn Authenticator>, IpcError> {
    match id {
        // A fresh one each time, so a backup passkey lands on a different "device".
        SOFTWARE if demo => Ok(Box::new(SoftAuthenticator::ephemeral()?)),
        _ => Err(unknown_authenticator(id)),
    }
}

/// What a choice is, for its default name (keys are opened without prompting).
async fn describe_choice(id: &str, demo: bool) -> Result<AuthenticatorInfo, IpcError> {
    match (id, key_index(id)) {
        (PLATFORM, _) => Ok(platform_info()),
        (_, Some(index)) => {
            let devices = discovery::open_all(Arc::new(NoPrompt), CancellationToken::new()).await?;
            match (index, devices.len()) {
                (Some(i), n) if i < n => Ok(passkeys_ctap::key::describe(&devices[i])),
                (None, 1) => Ok(passkeys_ctap::key::describe(&devices[0])),
                (None, n) if n > 1 => Ok(AuthenticatorInfo {
                    kind: AuthenticatorKind::Usb,
                    model: "Security key".into(),
                    aaguid: None,
                    hardware: true,
                    notice: None,
                }),
                _ => Err(no_key()),
            }
        }
        _ => Ok(authenticator(id, demo)?.info()),
    }
}

/// A default passkey name for `authenticator`, unique among the person's passkeys.
#[tauri::command]
pub async fn suggest_name(
    state: State<'_, AppState>,
    authenticator: String,
) -> Result<String, IpcError> {
    let (api, demo) = state.api().await?;
    let info = describe_choice(&authenticator, demo).await?;
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
    let (api, demo) = state.api().await?;
    // The self-test signs in once with the new passkey; the inventory records it. Demo mode
    // must not write into the person's own records: it keeps its own inventory and software
    // authenticators for the session (for "Which key is this?" and "Test this passkey").
    let shelf = match state.active.lock().await.as_ref() {
        Some(a) if demo => a.demo_shelf.clone(),
        _ => None,
    };
    let options = if demo {
        enroll::EnrollOptions {
            self_test: true,
            inventory: shelf.as_ref().map(|s| s.inventory_path()),
        }
    } else {
        enroll::EnrollOptions::standard()
    };
    let key = key_index(&authenticator);
    let soft = match key {
        Some(_) => None,
        None => Some(self::authenticator(&authenticator, demo)?),
    };
    let prompt = state.prompt.clone();
    let on_device = key.map(|_| CancellationToken::new());
    let cancel = on_device.clone();
    state
        .cancellable_with(on_device, async move {
            // Attached only once this is the running operation (a `busy` call changes nothing).
            prompt.attach(on_prompt);
            let result = async {
                let mut device = match (soft, key, cancel) {
                    (Some(soft), _, _) => soft,
                    (None, Some(index), Some(cancel)) => {
                        open_key(index, prompt.clone(), cancel).await?
                    }
                    _ => return Err(unknown_authenticator("")),
                };
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
                if let Some(shelf) = shelf.filter(|_| !device.info().hardware) {
                    shelf.keep(device).await;
                }
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
    let (api, demo) = state.api().await?;
    state
        .cancellable(async move {
            let show = move |link: &RegistrationLink| match link_view(link) {
                Ok(view) => {
                    let _ = on_link.send(view);
                }
                Err(e) => tracing::warn!("{e}"),
            };
            let passkey = if demo {
                let phone = crate::demo::phone(api.clone());
                enroll_via_link(&api, &phone, LINK_POLL, LINK_TIMEOUT, &show).await
            } else {
                enroll_via_link(&api, &SystemBrowser, LINK_POLL, LINK_TIMEOUT, &show).await
            };
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
        .map_err(|e| IpcError::app("qr_failed", format!("cannot draw the QR code: {e}")))?;
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

/// The app's recent log lines, secrets redacted, for the Diagnostics view.
#[tauri::command]
pub async fn diagnostics(state: State<'_, AppState>) -> Result<Vec<String>, IpcError> {
    Ok(state.log.lines())
}
