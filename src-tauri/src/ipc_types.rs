//! The IPC contract as TypeScript, for the type check of `ui/` (scripts/test.d/15-ui-types.sh).
//!
//! `ui/types/ipc.d.ts` is generated from the Rust types that cross the IPC boundary (command
//! results, channel messages, [`IpcError`](crate::ipc_error::IpcError) and the union of its
//! codes) with ts-rs: `#[cfg_attr(test, derive(ts_rs::TS))]` here, `#[cfg_attr(feature = "ts",
//! derive(ts_rs::TS))]` in passkeys-core and passkeys-ctap (their `ts` feature is enabled by
//! this package's dev-dependencies only). `ui/types/commands.d.ts` is written by hand over it:
//! each command's arguments and result.
//!
//! The tests below fail when either file is out of date. After changing a DTO, rewrite
//! ipc.d.ts with
//!
//! ```sh
//! UPDATE_IPC_TYPES=1 cargo test -p passkey-enroll --lib ipc_types
//! ```
//!
//! then run the type check (`bash scripts/test.d/15-ui-types.sh`) and fix ui/ where it breaks.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use ts_rs::{Config, TS};

    fn ui_types() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/types")
    }

    /// One declaration per type, in a stable order: the error shape first, then by command.
    fn generate() -> String {
        // serde_json writes u64/i64 as JSON numbers, which JavaScript reads as `number`.
        let cfg = Config::new().with_large_int("number");
        let mut out = String::from(
            "// GENERATED from the Rust types by src-tauri/src/ipc_types.rs (ts-rs): do not edit.\n\
             // Rewrite with `UPDATE_IPC_TYPES=1 cargo test -p passkey-enroll --lib ipc_types`.\n\n",
        );
        out.push_str(
            "/** Every `code` an IpcError can carry (passkeys_core::ErrorCode::ALL). */\n",
        );
        out.push_str("export type ErrorCode =\n");
        for code in passkeys_core::ErrorCode::ALL {
            out.push_str(&format!("  | {:?}\n", code.as_str()));
        }
        out.push_str(";\n\n");

        macro_rules! declare {
            ($($ty:ty),* $(,)?) => {$(
                if let Some(docs) = <$ty as TS>::docs() {
                    out.push_str(&docs);
                    if !docs.ends_with('\n') {
                        out.push('\n');
                    }
                }
                out.push_str("export ");
                out.push_str(&<$ty as TS>::decl(&cfg));
                out.push_str("\n\n");
            )*};
        }
        use passkeys_core::{
            authenticator, enroll, oidc, profiles, prompt, selftest, session, zitadel,
        };
        use passkeys_ctap::{bio, credmgmt, discovery, manage, CredentialSlots};
        declare!(
            crate::ipc_error::IpcError,
            // Start, instances, sign-in
            crate::commands::AppInfo,
            profiles::Profiles,
            profiles::SavedProfile,
            passkeys_core::passkey_api::ApiChoice,
            crate::commands::SessionInfo,
            crate::state::ActiveProfile,
            oidc::SignInPrompt,
            session::LogoutReport,
            oidc::BrowserLogout,
            zitadel::Me,
            // Passkeys
            zitadel::Passkey,
            zitadel::AuthFactorState,
            crate::know::KnownPasskeyView,
            crate::know::WhichView,
            selftest::SelfTestOutcome,
            selftest::SelfTestReport,
            // The wizard
            crate::commands::AuthenticatorChoice,
            authenticator::AuthenticatorInfo,
            authenticator::AuthenticatorKind,
            discovery::KeySummary,
            enroll::EnrollEvent,
            enroll::Enrollment,
            enroll::EnrolledPasskey,
            crate::prompt::PromptEvent,
            prompt::PinRequest,
            prompt::PromptNotice,
            crate::commands::LinkView,
            crate::commands::PasskeyApiView,
            passkeys_core::passkey_api::ApiGeneration,
            // The Security keys page
            crate::commands::DeviceAccess,
            discovery::AccessProblem,
            manage::KeyReport,
            manage::PinState,
            manage::BuiltInUv,
            manage::Supports,
            manage::ExtraInfo,
            CredentialSlots,
            crate::keys_page::KeyCredentials,
            crate::keys_page::SiteView,
            crate::keys_page::CredentialView,
            credmgmt::StoredCredential,
            passkeys_service::key_ops::Standing,
            bio::Fingerprint,
            bio::Sample,
            crate::keys_page::ResetStep,
            passkeys_ctap::practice::PracticeStatus,
        );
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }

    #[test]
    fn ipc_d_ts_is_current() {
        let path = ui_types().join("ipc.d.ts");
        let fresh = generate();
        if std::env::var("UPDATE_IPC_TYPES").as_deref() == Ok("1") {
            std::fs::write(&path, &fresh).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "{} is out of date with the Rust types: run `UPDATE_IPC_TYPES=1 cargo test -p \
             passkey-enroll --lib ipc_types`, then the UI type check \
             (scripts/test.d/15-ui-types.sh)",
            path.display()
        );
    }

    /// The command names in a list like `const COMMANDS: &[&str] = &["a", "b"];`.
    fn build_rs_commands() -> Vec<String> {
        let build = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri/build.rs"),
        )
        .unwrap();
        let start = build.find("const COMMANDS").unwrap();
        let end = start + build[start..].find("];").unwrap();
        build[start..end]
            .lines()
            .map(|l| l.split("//").next().unwrap_or_default().trim())
            .filter_map(|l| l.strip_prefix('"'))
            .filter_map(|l| l.split('"').next())
            .map(str::to_string)
            .collect()
    }

    /// The keys of `interface Commands` in commands.d.ts (`  name: {` at two spaces).
    fn commands_d_ts_commands() -> Vec<String> {
        let text = std::fs::read_to_string(ui_types().join("commands.d.ts")).unwrap();
        let start = text.find("export interface Commands {").unwrap();
        text[start..]
            .lines()
            .skip(1)
            .take_while(|l| *l != "}")
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .filter_map(|l| l.trim().split_once(':').map(|(name, _)| name.to_string()))
            .collect()
    }

    #[test]
    fn commands_d_ts_has_every_command() {
        let mut in_build = build_rs_commands();
        let mut typed = commands_d_ts_commands();
        assert!(in_build.len() > 30, "{in_build:?}");
        in_build.sort();
        typed.sort();
        assert_eq!(
            typed, in_build,
            "ui/types/commands.d.ts must type exactly the commands of src-tauri/build.rs COMMANDS"
        );
    }
}
