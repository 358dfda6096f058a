/// The app's commands. Listing them here makes Tauri generate `allow-<command>` permissions and
/// check every call against src-tauri/capabilities/ (an unlisted command is refused), so the
/// main window gets exactly these and nothing else. Keep in sync with `generate_handler!` in
/// src-tauri/src/lib.rs.
const COMMANDS: &[&str] = &[
    "app_info",
    "list_profiles",
    "add_profile",
    "open_profile",
    "remove_profile",
    "start_demo",
    "close_instance",
    "sign_in",
    "cancel",
    "sign_out",
    "me",
    "list_passkeys",
    "remove_passkey",
    "authenticators",
    "suggest_name",
    "add_passkey",
    "list_keys",
    "answer_pin",
    "add_passkey_via_link",
    "registration_link",
    "diagnostics",
    "passkey_api",
    "device_access",
    // The Security keys page (src-tauri/src/keys_page.rs).
    "key_info",
    "key_set_pin",
    "key_change_pin",
    "key_credentials",
    "key_delete_credential",
    "key_delete_orphans",
    "key_fingerprints",
    "key_enroll_fingerprint",
    "key_rename_fingerprint",
    "key_remove_fingerprint",
    "key_reset",
    "key_wink",
    "key_forget",
    "key_set_always_uv",
    "key_set_min_pin_length",
    "list_known_passkeys",
    "which_passkey",
    "test_passkey",
    // The demo's practice security key (src-tauri/src/practice.rs).
    "practice_watch",
    "practice_touch",
    "practice_plug",
];

fn main() {
    // With a custom pattern tauri-build does not watch the folder itself.
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    if let Err(e) = tauri_build::try_build(
        tauri_build::Attributes::new()
            // `dir/**` alone matches directories only (glob crate): the files need `/*`.
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    ) {
        eprintln!("tauri-build failed: {e:#}. Check tauri.conf.json and src-tauri/capabilities.");
        std::process::exit(1);
    }
}
