//! The core's messages and advice are worded for both shells: they say what happened and what
//! to do in neutral words, and name no CLI command or flag. The CLI adds its own instruction
//! per error code (`crates/passkeys-cli/src/output.rs` `cli_advice`); the app words errors
//! through `ui/strings.js`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::path::Path;

fn visit(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            visit(&path, found);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for cli in [
                "`passkeys ",
                "--token-store",
                "passkeys test ID",
                "credentials delete",
            ] {
                if line.contains(cli) {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
}

#[test]
fn core_text_names_no_cli_command() {
    let mut found = Vec::new();
    visit(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(
        found.is_empty(),
        "CLI instructions in passkeys-core (move them to the CLI's cli_advice):\n{}",
        found.join("\n")
    );
}

#[test]
fn sign_in_errors_say_what_to_do_without_the_cli() {
    use passkeys_core::Error;
    assert_eq!(
        Error::NotSignedIn.to_string(),
        "you are not signed in: sign in first"
    );
    assert!(Error::SessionExpired.to_string().ends_with("sign in again"));
}
