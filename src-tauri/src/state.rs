//! What the app keeps between commands: the active instance, its session and the environment it
//! runs in (real, or the demo with its sandbox), and the one long operation (sign-in or
//! enrollment) that Cancel can stop.

use passkeys_core::ErrorCode;
use std::path::PathBuf;
use std::sync::Arc;

use passkeys_core::oidc::Oidc;
use passkeys_core::session::Session;
use passkeys_core::tokens::{TokenStore, TokenStoreKind};
use passkeys_core::zitadel::ZitadelClient;
use passkeys_ctap::CancellationToken;
use passkeys_sandbox::{Fault, Sandbox};
use passkeys_service::Environment;
use serde::Serialize;

use crate::ipc_error::IpcError;

/// Start-up options, from the environment and the command line.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Where saved instances are kept (`None`: nowhere; nothing is saved).
    pub profiles_path: Option<PathBuf>,
    /// Where tokens of real instances go (demo mode always keeps them in memory).
    pub token_store: TokenStoreKind,
    /// TEST ONLY: a fault the demo sandbox injects once (`--demo-fault=verify-rejected`), so
    /// the end-to-end test can drive a failure path through the UI. Ignored outside demo mode.
    pub demo_fault: Option<Fault>,
    /// TEST ONLY: the demo sandbox serves no Auth API v1 passkey endpoints
    /// (`--demo-without-v1`; a future ZITADEL, issue 14), so the app uses User service v2.
    pub demo_without_v1: bool,
}

impl StartOptions {
    /// Reads `PASSKEYS_PROFILES` / the default profile path, `PASSKEYS_TOKEN_STORE` or the
    /// config file's `token_store`, and the arguments (`--demo-fault=NAME`, test only).
    ///
    /// # Errors
    /// A message for an unknown argument or fault name.
    pub fn from_env_and_args(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let token_store = match std::env::var("PASSKEYS_TOKEN_STORE") {
            Ok(s) if !s.is_empty() => s.parse()?,
            _ => passkeys_core::config::load_config_file()
                .map_err(|e| e.to_string())?
                .token_store
                .unwrap_or_default(),
        };
        let mut demo_fault = None;
        let mut demo_without_v1 = false;
        for arg in args {
            if arg == "--demo-without-v1" {
                demo_without_v1 = true;
                continue;
            }
            match arg.strip_prefix("--demo-fault=") {
                Some(name) => demo_fault = Some(parse_fault(name)?),
                None => return Err(format!("unknown argument {arg:?}")),
            }
        }
        Ok(Self {
            profiles_path: passkeys_core::profiles::default_path(),
            token_store,
            demo_fault,
            demo_without_v1,
        })
    }
}

fn parse_fault(name: &str) -> Result<Fault, String> {
    match name {
        "verify-rejected" => Ok(Fault::VerifyRejected),
        "server-error" => Ok(Fault::ServerError),
        _ => Err(format!(
            "unknown --demo-fault {name:?}: use verify-rejected or server-error"
        )),
    }
}

/// The instance the app works with, as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ActiveProfile {
    /// Saved profile id (`demo` in demo mode).
    pub id: String,
    /// Issuer URL.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// True in demo mode (the built-in sandbox and software authenticators).
    pub demo: bool,
}

pub(crate) struct Active {
    pub profile: ActiveProfile,
    pub oidc: Oidc,
    pub store: Arc<dyn TokenStore>,
    pub session: Option<Arc<Session>>,
    /// Keeps a sandbox issuer running while its instance is active (dropping it stops it).
    pub _sandbox: Option<Sandbox>,
    /// Where the instance's operations run: browsers, link opener, inventory, authenticators.
    pub env: Arc<Environment>,
    /// The passkey API settings of the instance (the saved profile's `api` and `rpId`).
    pub api: passkeys_core::passkey_api::ApiSettings,
}

/// The app's state, managed by Tauri.
pub struct AppState {
    pub(crate) options: StartOptions,
    pub(crate) http: reqwest::Client,
    pub(crate) active: tokio::sync::Mutex<Option<Active>>,
    running: std::sync::Mutex<Option<Running>>,
    /// What security keys ask of the person, over the window's channel.
    pub(crate) prompt: Arc<crate::prompt::AppPrompt>,
    /// Recent log lines for the Diagnostics view (empty unless [`crate::run`] installed it).
    pub log: crate::diagnostics::LogBuffer,
    /// The Security keys page's pinUvAuthToken (one PIN per visit; see `keys_page`).
    pub(crate) key_tokens: Arc<passkeys_ctap::session::TokenCache>,
}

impl AppState {
    /// Creates the state.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(options: StartOptions) -> Result<Self, passkeys_core::Error> {
        Ok(Self {
            options,
            http: passkeys_core::zitadel::http_client()?,
            active: tokio::sync::Mutex::new(None),
            running: std::sync::Mutex::new(None),
            prompt: Default::default(),
            log: Default::default(),
            key_tokens: Default::default(),
        })
    }

    pub(crate) fn profiles_path(&self) -> Result<PathBuf, IpcError> {
        self.options.profiles_path.clone().ok_or_else(|| {
            IpcError::app(
                ErrorCode::NoConfigDir,
                "there is no configuration directory to save instances in; set PASSKEYS_PROFILES",
            )
        })
    }

    /// The API client of the signed-in session and the instance's environment.
    pub(crate) async fn api(&self) -> Result<(ZitadelClient, Arc<Environment>), IpcError> {
        let active = self.active.lock().await;
        let active = active.as_ref().ok_or_else(no_instance)?;
        let session = active
            .session
            .as_ref()
            .ok_or(passkeys_core::Error::NotSignedIn)?;
        let api = active
            .env
            .remembering(session.zitadel(self.http.clone()))
            .with_api(active.api.clone())?;
        Ok((api, active.env.clone()))
    }

    /// Runs `fut` as the one cancellable operation: [`AppState::cancel`] stops it, and the
    /// caller gets `cancelled`. A second operation while one runs gets `busy`.
    pub(crate) async fn cancellable<T: Send + 'static>(
        &self,
        fut: impl std::future::Future<Output = Result<T, IpcError>> + Send + 'static,
    ) -> Result<T, IpcError> {
        self.cancellable_with(None, fut).await
    }

    /// As [`AppState::cancellable`]; with `on_device`, Cancel fires that token instead of
    /// aborting, so the key engine cancels on the device (CTAPHID_CANCEL) and returns
    /// `cancelled` itself. A pending PIN request is answered with "no PIN" either way.
    pub(crate) async fn cancellable_with<T: Send + 'static>(
        &self,
        on_device: Option<CancellationToken>,
        fut: impl std::future::Future<Output = Result<T, IpcError>> + Send + 'static,
    ) -> Result<T, IpcError> {
        let task = {
            let mut running = self.running.lock().map_err(|_| poisoned())?;
            if running.as_ref().is_some_and(|r| !r.task.is_finished()) {
                return Err(IpcError::app(
                    ErrorCode::Busy,
                    "another operation is still running; wait for it or cancel it",
                ));
            }
            let task = tokio::spawn(fut);
            *running = Some(Running {
                task: task.abort_handle(),
                on_device,
            });
            task
        };
        let result = task.await;
        if let Ok(mut running) = self.running.lock() {
            *running = None;
        }
        match result {
            Ok(r) => r,
            Err(e) if e.is_cancelled() => Err(passkeys_core::Error::Cancelled.into()),
            Err(e) => Err(IpcError::app(
                ErrorCode::Internal,
                format!("the operation failed: {e}"),
            )),
        }
    }

    /// Stops the running operation, if any. Returns whether there was one.
    pub(crate) fn cancel(&self) -> bool {
        self.prompt.cancel_pending();
        match self.running.lock() {
            Ok(mut running) => match running.as_ref() {
                Some(r) if !r.task.is_finished() => {
                    match &r.on_device {
                        // The operation ends itself (and clears `running`) once the key
                        // has been told.
                        Some(token) => token.cancel(),
                        None => {
                            r.task.abort();
                            *running = None;
                        }
                    }
                    true
                }
                _ => false,
            },
            Err(_) => false,
        }
    }
}

struct Running {
    task: tokio::task::AbortHandle,
    on_device: Option<CancellationToken>,
}

pub(crate) fn no_instance() -> IpcError {
    IpcError::app(
        ErrorCode::NoInstance,
        "no instance is selected; choose one or start the demo",
    )
}

fn poisoned() -> IpcError {
    IpcError::app(
        ErrorCode::Internal,
        "the app's state is unusable; restart the app",
    )
}
