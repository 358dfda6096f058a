fn main() {
    if let Err(e) = tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**"),
    ) {
        eprintln!("tauri-build failed: {e:#}. Check tauri.conf.json and src-tauri/capabilities.");
        std::process::exit(1);
    }
}
