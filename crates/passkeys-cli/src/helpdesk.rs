//! `passkeys helpdesk ...`: enroll passkeys for other users (User service v2, on behalf), a
//! registration code for a user, and batch mode. The core and the service do the work
//! (`passkeys_core::helpdesk`, the ceremony in `passkeys_service::helpdesk`); this file parses,
//! prompts and prints the handover summary.
//!
//! A random PIN (`--set-random-pin`) is set on a security key that has none, through the
//! normal enrollment flow: when the key asks for a first PIN, this prompt answers with a random
//! one instead of asking the operator. It is never logged; it is printed once (`--show-pin`)
//! or appended to a 0600 file (`--pin-file`). Once the passkey is registered, the key is made to
//! ask the user for a new PIN at first use (forcePINChange, CTAP 2.1 authenticatorConfig) when it
//! can; the key asks for its PIN for that, which this prompt answers with the one it just set.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use passkeys_core::helpdesk::{ForcePinChange, HelpdeskClient, HelpdeskEnrollment, TargetUser};
use passkeys_core::zitadel::ZitadelClient;
use passkeys_core::{Error, Result};
use passkeys_service::helpdesk::{attachment_for, RandomPinPrompt};
use passkeys_service::{AuthenticatorChoice, Environment};
use serde::Serialize;

use crate::keys::{self, TerminalPrompt};
use crate::output::{self, Out};

/// `passkeys helpdesk` subcommands.
#[derive(Debug, Subcommand)]
pub enum HelpdeskCommand {
    /// Enroll an authenticator for a user (needs user.credential.write; user.read to look the
    /// user up by login name).
    Enroll {
        /// The user: login name (alice@example.com), user name, or user id (id:NNN for the id
        /// only; a number that is both someone's id and someone else's user name is refused).
        #[arg(long, value_name = "LOGIN_OR_ID")]
        user: String,
        /// Name for the passkey. Default: the authenticator model and date.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// A one-time registration code and link for a user to add a passkey on their own device
    /// (CreatePasskeyRegistrationLink with returnCode; needs user.passkey.write).
    Link {
        /// The user: login name, user name, or user id.
        #[arg(long, value_name = "LOGIN_OR_ID")]
        user: String,
        /// Do not draw the QR code.
        #[arg(long)]
        no_qr: bool,
    },
    /// Enroll one key per user for the users in FILE (one per line: `user` or `user,name`;
    /// blank lines and lines starting with # are skipped), one key after another.
    Batch {
        /// The file with the users.
        file: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
    },
}

/// Authenticator and PIN options shared by `enroll` and `batch`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The authenticator: auto (default), usb, usb:N, nfc, nfc:N, or soft:PATH (tests/demos).
    #[arg(long, value_name = "KIND[:ARG]", value_parser = crate::keys::check_choice)]
    authenticator: Option<String>,
    /// Read the key's existing PIN from this environment variable (tried once).
    #[arg(long, value_name = "VAR")]
    pin_env: Option<String>,
    /// On a key without a PIN, set a random 6-digit PIN (needs --show-pin or --pin-file).
    #[arg(long)]
    set_random_pin: bool,
    /// Print the random PIN once on the terminal (stderr), for the handover.
    #[arg(long, requires = "set_random_pin")]
    show_pin: bool,
    /// Append `user<TAB>PIN` lines to this file (created with mode 0600).
    #[arg(long, value_name = "PATH", requires = "set_random_pin")]
    pin_file: Option<PathBuf>,
    /// Store the passkey on the key (discoverable): auto, yes or no.
    #[arg(long, value_name = "auto|yes|no")]
    discoverable: Option<String>,
    /// Do not ask for confirmation after showing who the passkey is for (for scripts).
    #[arg(long)]
    yes: bool,
    /// Let soft:PATH (a file, not hardware) enroll with an issuer that is not on this machine.
    /// Without it, the software authenticator works only with a loopback issuer (the sandbox).
    #[arg(long)]
    dangerously_allow_soft_authenticator: bool,
}

/// One row of the handover summary. Never holds the PIN.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Handover {
    #[serde(flatten)]
    enrollment: HelpdeskEnrollment,
    /// "set" (random PIN set now), "existing" (the key had one), "none" (not a security key).
    pin: &'static str,
    /// Whether the key must make the user change the PIN at first use.
    force_pin_change: bool,
    /// Why forcePINChange was not set on a key that got a random PIN.
    #[serde(skip_serializing_if = "Option::is_none")]
    force_pin_change_note: Option<String>,
}

/// Opens the PIN file for appending, creating it with mode 0600 (never widening an existing
/// one): never through a symbolic link, only a regular file of this user, not readable by
/// others, and not in a directory where others could swap it (issue 12 item 7).
fn open_pin_file(path: &Path) -> Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    passkeys_core::tokens::nofollow(&mut opts);
    let file_err = |e: std::io::Error| {
        Error::Config(format!("cannot write the PIN file {}: {e}", path.display()))
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mode = std::fs::metadata(dir)
            .map_err(file_err)?
            .permissions()
            .mode();
        // Group- or world-writable without the sticky bit: others could replace the file.
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Err(Error::Config(format!(
                "the PIN file's directory {} can be written by other users, who could replace the file; choose a directory of your own",
                dir.display()
            )));
        }
    }
    let f = opts
        .open(path)
        .map_err(|e| file_err(passkeys_core::tokens::explain_symlink(e, path)))?;
    passkeys_core::tokens::check_own_regular_file(&f, path).map_err(file_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = f.metadata().map_err(file_err)?.permissions().mode() & 0o077;
        if mode != 0 {
            return Err(Error::Config(format!(
                "the PIN file {} is readable by others; use a new file or chmod 600 it",
                path.display()
            )));
        }
    }
    Ok(f)
}

/// Appends `line` to the PIN file ([`open_pin_file`]'s checks).
fn append_pin_file(path: &Path, line: &str) -> Result<()> {
    let mut f = open_pin_file(path)?;
    writeln!(f, "{line}")
        .map_err(|e| Error::Config(format!("cannot write the PIN file {}: {e}", path.display())))
}

/// Enrolls one key for `user`. The PIN, if one was set, is shown or saved before returning.
async fn enroll_one(
    env: &Environment,
    client: &HelpdeskClient,
    user: &TargetUser,
    name: Option<&str>,
    key: &KeyArgs,
    out: &Out,
) -> Result<Handover> {
    let choice = keys::parse_choice(key.authenticator.as_deref())?;
    if choice == AuthenticatorChoice::Platform {
        return Err(Error::Config(
            "helpdesk enrollment needs a security key (or soft:PATH); for the user's own device use `passkeys helpdesk link`".into(),
        ));
    }
    if let AuthenticatorChoice::Soft(_) = &choice {
        passkeys_core::authenticator::check_soft_allowed(
            client.api().base(),
            key.dangerously_allow_soft_authenticator,
        )?;
    }
    let discoverable = keys::parse_discoverable(key.discoverable.as_deref())?;
    let prompt = Arc::new(RandomPinPrompt::new(
        Arc::new(TerminalPrompt::new(keys::pin_from_env(
            key.pin_env.as_deref(),
        )?)),
        key.set_random_pin,
        Arc::new(|| eprintln!("Setting a random PIN on the security key.")),
    ));
    let mut auth = keys::open(
        env.authenticators.as_ref(),
        &choice,
        prompt.clone(),
        discoverable,
        out,
    )
    .await?;
    let progress = |e: &passkeys_core::enroll::EnrollEvent| {
        if let Some(text) = crate::describe_event(e) {
            out.note(&text)
        }
    };
    let outcome = passkeys_service::helpdesk::enroll(
        client,
        user,
        auth.as_mut(),
        &prompt,
        attachment_for(&choice),
        name,
        &progress,
    )
    .await;
    let (result, forced) = (outcome.enrollment, outcome.force_pin_change);
    // A PIN set on the key stays set even if registration failed: hand it over regardless.
    let pin = outcome.random_pin;
    if let Some(pin) = &pin {
        // Shown first: should writing the file fail, the PIN is not lost.
        if key.show_pin {
            eprintln!(
                "PIN for {} (shown once; hand it over with the key): {}",
                output::p(&user.login_name),
                pin.expose()
            );
        }
        if let Some(path) = &key.pin_file {
            // One line per user: a login name with a tab or line break stays one field.
            append_pin_file(
                path,
                &format!("{}\t{}", output::p(&user.login_name), pin.expose()),
            )?;
            out.note(&format!("The PIN was saved to {}.", path.display()));
        }
    }
    let enrollment = result?;
    let hardware = enrollment.passkey.authenticator.hardware;
    let pin_state = match (&pin, hardware) {
        (Some(_), _) => "set",
        (None, true) => "existing",
        (None, false) => "none",
    };
    if key.set_random_pin && pin.is_none() && hardware {
        out.note("The key already had a PIN, so no random PIN was set (reset the key first to give it a new one).");
    }
    let force_pin_change_note = match &forced {
        Some(ForcePinChange::Set) => {
            out.note(&format!(
                "The key will ask {} to choose a new PIN at first use (forcePINChange set).",
                output::p(&enrollment.user.login_name)
            ));
            None
        }
        Some(ForcePinChange::Unsupported { reason } | ForcePinChange::Failed { reason }) => {
            out.note(&format!(
                "forcePINChange was not set ({}): ask {} to change the PIN at first use (`passkeys key pin change`).",
                output::p(reason),
                output::p(&enrollment.user.login_name)
            ));
            Some(reason.clone())
        }
        None => None,
    };
    Ok(Handover {
        enrollment,
        pin: pin_state,
        force_pin_change: forced.as_ref().is_some_and(ForcePinChange::is_set),
        force_pin_change_note,
    })
}

fn print_handover(out: &Out, rows: &[Handover]) {
    out.line("");
    out.line("Handover summary");
    let header = ["user", "passkey", "id", "key", "PIN"];
    let table: Vec<[String; 5]> = rows
        .iter()
        .map(|h| {
            let p = &h.enrollment.passkey;
            [
                format!(
                    "{} ({})",
                    output::p(&h.enrollment.user.display_name),
                    output::p(&h.enrollment.user.login_name)
                ),
                output::p(&p.name).into_owned(),
                output::p(p.id.as_deref().unwrap_or("?")).into_owned(),
                output::p(&p.authenticator.model).into_owned(),
                match h.pin {
                    "set" if h.force_pin_change => {
                        "random PIN set, must be changed at first use".to_string()
                    }
                    "set" => "random PIN set, change not forced".to_string(),
                    "existing" => "key's own PIN".to_string(),
                    _ => "-".to_string(),
                },
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let fmt = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    out.line(&fmt(&header.map(String::from)));
    for r in &table {
        out.line(&fmt(r));
    }
    let not_forced: Vec<String> = rows
        .iter()
        .filter(|h| h.pin == "set" && !h.force_pin_change)
        .map(|h| {
            format!(
                "{}: {}",
                output::p(&h.enrollment.user.login_name),
                output::p(h.force_pin_change_note.as_deref().unwrap_or("not set"))
            )
        })
        .collect();
    if !not_forced.is_empty() {
        out.line(&format!(
            "forcePINChange could not be set on every key ({}): ask those users to change the PIN at first use (`passkeys key pin change`).",
            not_forced.join("; ")
        ));
    }
}

/// What can be refused before signing in: the software authenticator with a remote issuer
/// (issue 12 item 12) and the key options.
pub fn check_before_sign_in(command: &HelpdeskCommand, issuer: &url::Url) -> Result<()> {
    let key = match command {
        HelpdeskCommand::Enroll { key, .. } | HelpdeskCommand::Batch { key, .. } => key,
        HelpdeskCommand::Link { .. } => return Ok(()),
    };
    if let AuthenticatorChoice::Soft(_) = keys::parse_choice(key.authenticator.as_deref())? {
        passkeys_core::authenticator::check_soft_allowed(
            issuer,
            key.dangerously_allow_soft_authenticator,
        )?;
    }
    check_key_args(key)
}

/// `passkeys helpdesk ...`.
pub async fn run(
    command: HelpdeskCommand,
    env: &Environment,
    api: ZitadelClient,
    out: &Out,
) -> Result<()> {
    let client = HelpdeskClient::new(api);
    match command {
        HelpdeskCommand::Enroll { user, name, key } => {
            check_key_args(&key)?;
            if let Some(n) = &name {
                passkeys_core::webauthn::validate_token_name(n).map_err(Error::InvalidName)?;
            }
            let target = client.find_user(&user).await?;
            out.note(&format!(
                "Enrolling a passkey for {} ({}, id {}).",
                output::p(&target.display_name),
                output::p(&target.login_name),
                output::p(&target.id)
            ));
            confirm_targets(&key, std::slice::from_ref(&target)).await?;
            let row = enroll_one(env, &client, &target, name.as_deref(), &key, out).await?;
            out.line(&format!(
                "Added passkey \"{}\" (id {}) for {}.",
                output::p(&row.enrollment.passkey.name),
                output::p(row.enrollment.passkey.id.as_deref().unwrap_or("?")),
                output::p(&target.login_name)
            ));
            print_handover(out, std::slice::from_ref(&row));
            out.json(&row);
        }
        HelpdeskCommand::Link { user, no_qr } => {
            let target = client.find_user(&user).await?;
            let code = client.create_registration_code(&target).await?;
            out.line(&format!(
                "Registration link for {} ({}, id {}); give it only to them. It works once:",
                output::p(&target.display_name),
                output::p(&target.login_name),
                output::p(&target.id)
            ));
            out.line(&format!("  {}", code.link.expose()));
            out.line(&format!(
                "Code id {}, code {}",
                output::p(&code.code_id),
                output::p(code.code.expose())
            ));
            if !no_qr {
                crate::output::print_qr(out, code.link.expose());
            }
            out.json(&serde_json::json!({
                "user": target,
                "codeId": code.code_id,
                "code": code.code.expose(),
                "link": code.link.expose(),
            }));
        }
        HelpdeskCommand::Batch { file, key } => {
            check_key_args(&key)?;
            return batch(env, &client, &file, &key, out).await;
        }
    }
    Ok(())
}

fn check_key_args(key: &KeyArgs) -> Result<()> {
    if key.set_random_pin && !key.show_pin && key.pin_file.is_none() {
        return Err(Error::Config(
            "--set-random-pin needs --show-pin or --pin-file PATH, or the PIN would be lost".into(),
        ));
    }
    // The PIN file is checked before any key is touched: a refusal after a PIN was set on a
    // key would lose that PIN.
    if let Some(path) = &key.pin_file {
        open_pin_file(path)?;
    }
    Ok(())
}

/// Parses the batch file: `user` or `user,name` per line.
fn parse_batch(text: &str) -> Result<Vec<(String, Option<String>)>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (user, name) = match line.split_once([',', '\t']) {
            Some((u, n)) => (u.trim(), Some(n.trim()).filter(|n| !n.is_empty())),
            None => (line, None),
        };
        if user.is_empty() {
            return Err(Error::Config(format!("line {}: no user", i + 1)));
        }
        if let Some(n) = name {
            passkeys_core::webauthn::validate_token_name(n)
                .map_err(|e| Error::Config(format!("line {}: {e}", i + 1)))?;
        }
        rows.push((user.to_string(), name.map(str::to_string)));
    }
    if rows.is_empty() {
        return Err(Error::Config("the batch file lists no users".into()));
    }
    Ok(rows)
}

/// Shows who the passkeys are for and asks once before any key is touched (issue 12 item 9):
/// a mistyped or ambiguous user would otherwise get a passkey meant for someone else. `--yes`
/// skips the question (scripts); without a terminal and without `--yes`, nothing is done.
async fn confirm_targets(key: &KeyArgs, targets: &[TargetUser]) -> Result<()> {
    if key.yes {
        return Ok(());
    }
    let question = if targets.len() == 1 {
        format!(
            "Enroll a passkey for {} ({})? Type yes to continue: ",
            output::p(&targets[0].display_name),
            output::p(&targets[0].login_name)
        )
    } else {
        format!(
            "Enroll a passkey for each of these {} users? Type yes to continue: ",
            targets.len()
        )
    };
    let answer = tokio::task::spawn_blocking(move || {
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut s = String::new();
        match std::io::stdin().read_line(&mut s) {
            Ok(n) if n > 0 => Some(s.trim().to_ascii_lowercase()),
            _ => None,
        }
    })
    .await
    .ok()
    .flatten();
    match answer.as_deref() {
        Some("yes" | "y") => Ok(()),
        Some(_) => Err(Error::Config(
            "not confirmed; no key was touched".into(),
        )),
        None => Err(Error::Config(
            "not confirmed (no answer on standard input); no key was touched. Check the user shown above and pass --yes to confirm in scripts".into(),
        )),
    }
}

async fn wait_for_enter(message: &str) -> bool {
    let message = message.to_string();
    tokio::task::spawn_blocking(move || {
        eprint!("{message}");
        let _ = std::io::stderr().flush();
        let mut s = String::new();
        std::io::stdin()
            .read_line(&mut s)
            .map(|n| n > 0)
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

async fn batch(
    env: &Environment,
    client: &HelpdeskClient,
    file: &Path,
    key: &KeyArgs,
    out: &Out,
) -> Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", file.display())))?;
    let rows = parse_batch(&text)?;
    // Look every user up first, so a typo stops the batch before any key is touched.
    let mut targets = Vec::with_capacity(rows.len());
    for (user, name) in &rows {
        let t = client
            .find_user(user)
            .await
            .map_err(|e| Error::Config(format!("user {user:?}: {e}; nothing was enrolled")))?;
        targets.push((t, name.clone()));
    }
    // The whole list first, with the names ZITADEL resolved, then one confirmation.
    out.note(&format!("{} users, in this order:", targets.len()));
    for (i, (t, name)) in targets.iter().enumerate() {
        out.note(&format!(
            "  {}. {} ({}, id {}){}",
            i + 1,
            output::p(&t.display_name),
            output::p(&t.login_name),
            output::p(&t.id),
            name.as_deref()
                .map(|n| format!(", passkey \"{}\"", output::p(n)))
                .unwrap_or_default()
        ));
    }
    let users: Vec<TargetUser> = targets.iter().map(|(t, _)| t.clone()).collect();
    confirm_targets(key, &users).await?;
    let interactive = std::io::stdin().is_terminal()
        && matches!(
            keys::parse_choice(key.authenticator.as_deref())?,
            AuthenticatorChoice::Key(_)
        );
    let mut done: Vec<Handover> = Vec::new();
    let mut failure: Option<(String, Error)> = None;
    for (i, (target, name)) in targets.iter().enumerate() {
        out.note(&format!(
            "[{}/{}] {} ({})",
            i + 1,
            targets.len(),
            output::p(&target.display_name),
            output::p(&target.login_name)
        ));
        if interactive
            && !wait_for_enter(&format!(
                "Insert the key for {} and press Enter (Ctrl-D stops): ",
                output::p(&target.login_name)
            ))
            .await
        {
            failure = Some((target.login_name.clone(), Error::Cancelled));
            break;
        }
        match enroll_one(env, client, target, name.as_deref(), key, out).await {
            Ok(row) => {
                out.note(&format!(
                    "Done: \"{}\" for {}. Remove the key.",
                    output::p(&row.enrollment.passkey.name),
                    output::p(&target.login_name)
                ));
                done.push(row);
            }
            Err(e) => {
                failure = Some((target.login_name.clone(), e));
                break;
            }
        }
    }
    if !done.is_empty() {
        print_handover(out, &done);
    }
    let not_started: Vec<String> = targets
        .iter()
        .skip(done.len() + usize::from(failure.is_some()))
        .map(|(t, _)| t.login_name.clone())
        .collect();
    out.json(&serde_json::json!({
        "done": done,
        "failed": failure.as_ref().map(|(u, e)| serde_json::json!({"user": u, "code": e.code(), "message": e.to_string()})),
        "notStarted": not_started,
    }));
    match failure {
        None => {
            out.line(&format!("All {} users are enrolled.", done.len()));
            Ok(())
        }
        Some((user, e)) => {
            let done_users: Vec<&str> = done
                .iter()
                .map(|h| h.enrollment.user.login_name.as_str())
                .collect();
            Err(Error::Config(format!(
                "batch stopped at {user}: {e}. Done: {}. Not started: {}",
                if done_users.is_empty() {
                    "none".to_string()
                } else {
                    done_users.join(", ")
                },
                if not_started.is_empty() {
                    "none".to_string()
                } else {
                    not_started.join(", ")
                }
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_files() {
        let rows =
            parse_batch("# users\nalice\n\n bob@x , Bob's key\n218662596918640898\t\n").unwrap();
        assert_eq!(
            rows,
            vec![
                ("alice".to_string(), None),
                ("bob@x".to_string(), Some("Bob's key".to_string())),
                ("218662596918640898".to_string(), None),
            ]
        );
        assert!(parse_batch("# nothing\n").is_err());
        assert!(parse_batch(",name\n").is_err());
    }

    #[test]
    fn the_pin_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pins.tsv");
        append_pin_file(&path, "a\t123987").unwrap();
        append_pin_file(&path, "b\t555123").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    /// Issue 12 item 7: a PIN file that is a symbolic link (planted so the PIN lands where
    /// someone else can read it) is refused, as is one of another user or in a directory others
    /// can write to.
    #[test]
    fn symlinked_pin_file_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.txt");
        std::fs::write(&target, "").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("pins.tsv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = append_pin_file(&link, "a\t123987").unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "");

        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = append_pin_file(&open.join("pins.tsv"), "a\t123987")
            .unwrap_err()
            .to_string();
        assert!(e.contains("other users"), "{e}");
        assert!(!open.join("pins.tsv").exists());
    }
}
