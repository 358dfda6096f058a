//! The Passkey Enroll desktop app: a thin Tauri shell over `passkeys_core`.
//!
//! - [`commands`]: the IPC commands, one core call each.
//! - [`keys_page`]: the Security keys page's commands (one key operation each).
//! - [`IpcError`]: the serializable error with the core's stable code.
//! - [`AppState`]: the active instance, its session, the demo sandbox, the cancellable operation.

pub mod commands;
mod demo;
pub mod diagnostics;
mod ipc_error;
mod ipc_types;
pub mod keys_page;
mod know;
pub mod practice;
pub mod prompt;
mod qr;
mod state;

pub use ipc_error::IpcError;
pub use state::{ActiveProfile, AppState, StartOptions};

/// Adds the app's state and commands to a Tauri builder (shared by [`run`] and the
/// mock-runtime tests).
pub fn builder<R: tauri::Runtime>(
    builder: tauri::Builder<R>,
    state: AppState,
) -> tauri::Builder<R> {
    builder
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::device_access,
            commands::list_profiles,
            commands::add_profile,
            commands::open_profile,
            commands::remove_profile,
            commands::start_demo,
            commands::close_instance,
            commands::sign_in,
            commands::cancel,
            commands::sign_out,
            commands::me,
            commands::list_passkeys,
            commands::remove_passkey,
            commands::authenticators,
            commands::suggest_name,
            commands::add_passkey,
            commands::list_keys,
            commands::answer_pin,
            commands::add_passkey_via_link,
            commands::registration_link,
            commands::diagnostics,
            commands::passkey_api,
            keys_page::key_info,
            keys_page::key_set_pin,
            keys_page::key_change_pin,
            keys_page::key_credentials,
            keys_page::key_delete_credential,
            keys_page::key_delete_orphans,
            keys_page::key_fingerprints,
            keys_page::key_enroll_fingerprint,
            keys_page::key_rename_fingerprint,
            keys_page::key_remove_fingerprint,
            keys_page::key_reset,
            keys_page::key_wink,
            keys_page::key_forget,
            keys_page::key_set_always_uv,
            keys_page::key_set_min_pin_length,
            know::list_known_passkeys,
            know::which_passkey,
            know::test_passkey,
            practice::practice_watch,
            practice::practice_touch,
            practice::practice_plug,
        ])
}

/// Runs the desktop app.
pub fn run() {
    let fail = |what: &str| -> ! {
        eprintln!("passkey-enroll: {what}");
        std::process::exit(1);
    };
    let options =
        StartOptions::from_env_and_args(std::env::args().skip(1)).unwrap_or_else(|e| fail(&e));
    let log = diagnostics::LogBuffer::default();
    {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        let filter = tracing_subscriber::EnvFilter::try_from_env("PASSKEYS_LOG")
            // The software authenticator's exclude-list probe logs a miss as an error.
            .unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,webauthn_authenticator_rs::softtoken=off")
            });
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .with(log.clone())
            .try_init();
    }
    let mut state = AppState::new(options).unwrap_or_else(|e| fail(&e.to_string()));
    state.log = log;
    let mut app = tauri::Builder::default();
    // Under WebDriver (tauri-driver sets TAURI_WEBVIEW_AUTOMATION) every test session gets a
    // fresh, independent instance with the configured window size.
    if std::env::var_os("TAURI_WEBVIEW_AUTOMATION").is_none() {
        app = app
            .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
                use tauri::Manager as _;
                if let Some(window) = app.get_webview_window("main") {
                    let _ = window.unminimize();
                    let _ = window.set_focus();
                }
            }))
            .plugin(tauri_plugin_window_state::Builder::new().build());
    }
    if let Err(e) = builder(app, state).run(tauri::generate_context!()) {
        fail(&format!("could not start the app: {e}"));
    }
}
