//! The Passkey Enroll desktop app: a thin Tauri shell over `passkeys_core`.

mod commands {
    /// The app and core version.
    #[tauri::command]
    pub fn app_version() -> String {
        passkeys_core::version().to_string()
    }
}

/// Adds the app's commands to a Tauri builder (shared by `run` and the mock-runtime tests).
pub fn builder<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![commands::app_version])
}

/// Runs the desktop app.
pub fn run() {
    if let Err(e) = builder(tauri::Builder::default()).run(tauri::generate_context!()) {
        eprintln!("passkey-enroll: could not start the app: {e}");
        std::process::exit(1);
    }
}
