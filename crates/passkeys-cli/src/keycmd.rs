//! `passkeys key …`: security-key management on any CTAP2 key (USB, NFC). Info, PIN, the
//! passkeys stored on the key (with ZITADEL's view: known / orphan), fingerprints, reset,
//! identify, configuration. PINs come from the terminal or once from `--pin-env VAR`, never
//! from an argument.

use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::inventory::Inventory;
use passkeys_core::prompt::{PinRequest, Prompt};
use passkeys_core::zitadel::ZitadelClient;
use passkeys_core::{Error, Result, Secret};
use passkeys_ctap::credmgmt;
use passkeys_ctap::manage;
use passkeys_ctap::CancellationToken;
use passkeys_service::choose::{self, Key};
use passkeys_service::key_ops::{self, InstanceView, KeyOpError, Refusal, ResetStep, Standing};
use passkeys_service::AuthenticatorChoice;

use crate::keys::{self, TerminalPrompt};
use crate::output::{p, Out};

/// `passkeys key`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The key: auto (the only one attached, or the one you touch), usb, usb:N, nfc, nfc:N (N
    /// from `passkeys authenticators`).
    #[arg(long, global = true, value_name = "KIND[:N]")]
    pub authenticator: Option<String>,
    /// Read the key's current PIN from this environment variable (tried once). Without it, the
    /// PIN is asked for on the terminal; it is never a command-line argument.
    #[arg(long, global = true, value_name = "VAR")]
    pub pin_env: Option<String>,
    #[command(subcommand)]
    pub command: KeyCommand,
}

/// What to do with the key.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Model, firmware, CTAP versions, transports, algorithms, options, PIN/UV attempts left,
    /// stored passkeys, PIN rules.
    Info {
        /// Also count the passkeys stored on the key (asks for the PIN).
        #[arg(long)]
        slots: bool,
    },
    /// Set or change the key's PIN.
    #[command(subcommand)]
    Pin(PinCommand),
    /// The passkeys stored on the key (discoverable credentials), by site.
    Credentials {
        #[command(subcommand)]
        command: Option<CredentialsCommand>,
    },
    /// Fingerprints on keys with a reader.
    Fingerprints {
        #[command(subcommand)]
        command: Option<FingerprintsCommand>,
    },
    /// Factory-reset the key: erases EVERY passkey on it and its PIN. Needs re-inserting it.
    Reset {
        /// Confirm without a prompt: must be exactly RESET.
        #[arg(long, value_name = "RESET")]
        confirm_reset: Option<String>,
    },
    /// Make the key blink (USB keys that support it).
    Wink,
    /// CTAP 2.1 settings: alwaysUv, minimum PIN length, forced PIN change.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `passkeys key pin`.
#[derive(Debug, Subcommand)]
pub enum PinCommand {
    /// Set the first PIN (the key has none).
    Set {
        /// Read the new PIN from this environment variable instead of asking twice.
        #[arg(long, value_name = "VAR")]
        new_pin_env: Option<String>,
    },
    /// Change the PIN (asks for the current one, then the new one twice).
    Change {
        /// Read the new PIN from this environment variable instead of asking twice.
        #[arg(long, value_name = "VAR")]
        new_pin_env: Option<String>,
    },
}

/// `passkeys key credentials`.
#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// List them by site; marks which ones your ZITADEL instance still knows (when signed in).
    List,
    /// Delete one by credential id. It stops working everywhere; this cannot be undone.
    Delete {
        /// The credential id from `passkeys key credentials list`.
        id: String,
        /// Do not ask for typed confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Passkeys for your signed-in ZITADEL instance that ZITADEL no longer has.
    Orphans {
        /// Delete them (asks for typed confirmation unless --yes).
        #[arg(long)]
        delete: bool,
        /// With --delete: do not ask.
        #[arg(long, requires = "delete")]
        yes: bool,
    },
}

/// `passkeys key fingerprints`.
#[derive(Debug, Subcommand)]
pub enum FingerprintsCommand {
    /// List enrolled fingerprints.
    List,
    /// Enroll a fingerprint (touch the sensor repeatedly when asked).
    Enroll {
        /// A name for it (many keys take at most 15 characters).
        #[arg(long)]
        name: Option<String>,
    },
    /// Rename a fingerprint.
    Rename {
        /// Its id from `passkeys key fingerprints list`.
        id: String,
        /// The new name.
        name: String,
    },
    /// Remove a fingerprint.
    Remove {
        /// Its id from `passkeys key fingerprints list`.
        id: String,
    },
}

/// on / off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// `passkeys key config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Require user verification (PIN or fingerprint) for every use of the key.
    AlwaysUv {
        /// on or off.
        state: OnOff,
    },
    /// Raise the minimum PIN length (only a reset lowers it again).
    MinPinLength {
        /// The new minimum, in characters.
        length: u64,
        /// Also require a new PIN at the next use.
        #[arg(long)]
        force_change: bool,
    },
    /// Require a new PIN at the next use of the key.
    ForcePinChange,
}

/// What the signed-in session contributes (orphan check).
pub struct Signed {
    /// The ZITADEL client.
    pub api: ZitadelClient,
    /// The instance URL.
    pub instance: url::Url,
    /// This computer's inventory of enrolled passkeys.
    pub inventory: Inventory,
}

fn dev_err(e: AuthenticatorError) -> Error {
    Error::Authenticator(e)
}

/// Words a refused or failed key operation.
fn words(e: KeyOpError) -> Error {
    match e {
        KeyOpError::Refused(Refusal::PinAlreadySet) => dev_err(AuthenticatorError::PinPolicy(
            "this key already has a PIN; use `passkeys key pin change`".into(),
        )),
        KeyOpError::Refused(Refusal::PinNotSet) => dev_err(AuthenticatorError::PinNotSet(
            "this key has no PIN yet".into(),
        )),
        KeyOpError::Refused(Refusal::DifferentKey) => Error::Config(
            "a different key model was inserted; nothing was erased. Insert the key you chose and run the reset again".into(),
        ),
        KeyOpError::Failed(e) => e,
    }
}

async fn read_line(prompt: String) -> Option<String> {
    tokio::task::spawn_blocking(move || {
        eprint!("{prompt}");
        let mut s = String::new();
        std::io::stdin().read_line(&mut s).ok()?;
        Some(s.trim().to_string())
    })
    .await
    .ok()
    .flatten()
}

/// Typed confirmation: the person must type `word`.
async fn confirm(word: &str, warning: &str) -> Result<()> {
    for line in warning.split('\n') {
        eprintln!("{}", p(line));
    }
    match read_line(format!("Type {word} to continue: ")).await {
        Some(s) if s == word => Ok(()),
        _ => Err(Error::Config(format!(
            "not confirmed (type {word} exactly); nothing was changed"
        ))),
    }
}

async fn new_pin(var: Option<&str>) -> Result<Secret> {
    if let Some(pin) = keys::pin_from_env(var)? {
        return Ok(pin);
    }
    for _ in 0..3 {
        let first = rpassword_read("New PIN: ").await;
        let again = rpassword_read("The same PIN again: ").await;
        match (first, again) {
            (Some(a), Some(b)) if a == b => return Ok(a),
            (Some(_), Some(_)) => eprintln!("The two PINs differ; try again."),
            _ => break,
        }
    }
    Err(Error::Config(
        "no new PIN given; nothing was changed".into(),
    ))
}

async fn rpassword_read(prompt: &'static str) -> Option<Secret> {
    tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt).ok())
        .await
        .ok()
        .flatten()
        .filter(|s| !s.is_empty())
        .map(Secret::new)
}

async fn current_pin(prompt_env: Option<Secret>) -> Result<Secret> {
    match prompt_env {
        Some(p) => Ok(p),
        None => rpassword_read("Current PIN of your security key: ")
            .await
            .ok_or_else(|| Error::Config("no PIN given; nothing was changed".into())),
    }
}

/// Opens the key chosen with `--authenticator` (USB/NFC only).
async fn open(
    spec: Option<&str>,
    prompt: Arc<dyn Prompt>,
    cancel: &CancellationToken,
    out: &Out,
) -> Result<Key> {
    let AuthenticatorChoice::Key(choice) = keys::parse_choice(spec)? else {
        return Err(Error::Config(
            "`passkeys key` manages security keys: use auto, usb, usb:N, nfc or nfc:N".into(),
        ));
    };
    let on_several = || out.note("Several security keys are attached: touch the one to manage.");
    Ok(choose::open_key(choice, prompt, cancel, &on_several).await?)
}

/// Runs `passkeys key …`. `signed_in` resumes the ZITADEL session when one is needed.
pub async fn run<F, Fut>(args: &KeyArgs, out: &Out, signed_in: F) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Signed>>,
{
    let env_pin = keys::pin_from_env(args.pin_env.as_deref())?;
    // Validate argument-only rules before touching a key.
    if let KeyCommand::Reset {
        confirm_reset: Some(word),
    } = &args.command
    {
        if word != "RESET" {
            return Err(Error::Config("--confirm-reset takes exactly RESET".into()));
        }
    }
    let cancel = crate::keys::cancel_on_interrupt(None);
    let prompt: Arc<dyn Prompt> = Arc::new(TerminalPrompt::new(env_pin.clone()));
    let mut device = open(args.authenticator.as_deref(), prompt.clone(), &cancel, out).await?;
    match &args.command {
        KeyCommand::Info { slots } => {
            let r = device.report(*slots).await?;
            print_report(out, &r);
            out.json(&r);
        }
        KeyCommand::Pin(PinCommand::Set { new_pin_env }) => {
            let ask = |request: PinRequest| async move {
                if let PinRequest::SetNew { min_length, .. } = request {
                    out.note(&format!(
                        "Choose a PIN of at least {min_length} characters (at most 63 bytes)."
                    ));
                }
                new_pin(new_pin_env.as_deref()).await
            };
            key_ops::set_first_pin(&mut device, ask)
                .await
                .map_err(words)?;
            out.line("The PIN is set.");
            out.json(&serde_json::json!({"pin": "set"}));
        }
        KeyCommand::Pin(PinCommand::Change { new_pin_env }) => {
            let ask = |request: PinRequest| {
                let env_pin = env_pin.clone();
                async move {
                    match request {
                        PinRequest::Enter { attempts_left, .. } => {
                            if let Some(n) = attempts_left {
                                out.note(&format!("{n} PIN attempts left."));
                            }
                            current_pin(env_pin).await
                        }
                        PinRequest::SetNew { min_length, .. } => {
                            out.note(&format!(
                                "Choose a new PIN of at least {min_length} characters (at most 63 bytes)."
                            ));
                            new_pin(new_pin_env.as_deref()).await
                        }
                        _ => Err(Error::Cancelled),
                    }
                }
            };
            key_ops::change_pin(&mut device, ask).await.map_err(words)?;
            out.line("The PIN is changed.");
            out.json(&serde_json::json!({"pin": "changed"}));
        }
        KeyCommand::Credentials { command } => {
            credentials(&mut device, command.as_ref(), out, signed_in).await?
        }
        KeyCommand::Fingerprints { command } => {
            fingerprints(&mut device, command.as_ref(), out).await?
        }
        KeyCommand::Reset { confirm_reset } => {
            reset(device, confirm_reset.is_some(), prompt, cancel, out).await?
        }
        KeyCommand::Wink => {
            manage::wink(&mut device).await?;
            out.line("The key is blinking.");
            out.json(&serde_json::json!({"winked": true}));
        }
        KeyCommand::Config(c) => {
            let outcome = match c {
                ConfigCommand::AlwaysUv { state } => {
                    device.set_always_uv(*state == OnOff::On).await?
                }
                ConfigCommand::MinPinLength {
                    length,
                    force_change,
                } => {
                    device
                        .set_min_pin_length(Some(*length), *force_change)
                        .await?
                }
                ConfigCommand::ForcePinChange => device.set_min_pin_length(None, true).await?,
            };
            out.line(match outcome {
                passkeys_ctap::config::ConfigOutcome::Changed => "Done.",
                passkeys_ctap::config::ConfigOutcome::AlreadySo => "The key was already set so.",
            });
            out.json(&serde_json::json!({"outcome": outcome}));
        }
    }
    Ok(())
}

fn print_report(out: &Out, r: &manage::KeyReport) {
    out.line(&format!(
        "{} over {} (AAGUID {})",
        p(&r.model),
        p(&r.transport.to_uppercase()),
        r.aaguid
    ));
    if let Some(fw) = r.firmware_version {
        out.line(&format!("  firmware:        {fw}"));
    }
    out.line(&format!("  CTAP versions:   {}", p(&r.versions.join(", "))));
    if !r.transports.is_empty() {
        out.line(&format!(
            "  transports:      {}",
            p(&r.transports.join(", "))
        ));
    }
    if let Some(a) = &r.algorithms {
        out.line(&format!("  algorithms:      {}", p(&a.join(", "))));
    }
    out.line(&format!("  PIN:             {}", r.pin_state));
    out.line(&format!(
        "  PIN rules:       at least {} characters{}",
        r.min_pin_length,
        if r.force_pin_change {
            "; a new PIN is required before next use"
        } else {
            ""
        }
    ));
    out.line(&format!(
        "  fingerprint:     {}{}",
        r.built_in_uv,
        r.uv_retries
            .map(|n| format!(", {n} attempts left"))
            .unwrap_or_default()
    ));
    out.line(&format!(
        "  alwaysUv:        {}",
        if r.always_uv { "on" } else { "off" }
    ));
    match (&r.slots, r.remaining_discoverable) {
        (Some(s), _) => out.line(&format!(
            "  stored passkeys: {} (room for {} more)",
            s.used, s.remaining
        )),
        (None, Some(n)) => out.line(&format!("  stored passkeys: room for {n} more")),
        _ => {}
    }
    let opts: Vec<String> = r.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
    out.line(&format!("  options:         {}", p(&opts.join(" "))));
}

async fn view<F, Fut>(signed_in: F) -> Result<InstanceView>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Signed>>,
{
    let s = signed_in().await?;
    InstanceView::load(&s.api, s.instance, &s.inventory).await
}

fn standing_text(s: &Standing) -> String {
    match s {
        Standing::Other => String::new(),
        Standing::Known { token_id } => format!("  [ZITADEL knows it: passkey {}]", p(token_id)),
        Standing::Orphan { reason } => format!("  [ORPHAN: {}]", p(reason)),
        Standing::Unknown { .. } => {
            "  [yours at this instance; cannot tell whether ZITADEL still has it]".into()
        }
    }
}

async fn credentials<F, Fut>(
    device: &mut Key,
    command: Option<&CredentialsCommand>,
    out: &Out,
    signed_in: F,
) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Signed>>,
{
    match command.unwrap_or(&CredentialsCommand::List) {
        CredentialsCommand::Delete { id, yes } => {
            let bytes = credmgmt::parse_credential_id(id).map_err(Error::Config)?;
            let mut cm = device.credential_manager().await?;
            let rps = cm.list().await?;
            let found = rps.iter().find_map(|rp| {
                rp.credentials
                    .iter()
                    .find(|c| c.id_bytes == bytes)
                    .map(|c| (rp.rp_id.clone(), c.user_name.clone()))
            });
            let Some((rp, user)) = found else {
                return Err(dev_err(AuthenticatorError::NotFound(
                    "this key holds no passkey with that id (see `passkeys key credentials list`)"
                        .into(),
                )));
            };
            if !yes {
                confirm("DELETE", &format!(
                    "This deletes the passkey for {}{} from the key. You will no longer be able to sign in with it anywhere, and this cannot be undone.",
                    p(&rp),
                    user.map(|u| format!(" ({})", p(&u))).unwrap_or_default()
                )).await?;
            }
            cm.delete(&bytes).await?;
            out.line(&format!("Deleted the passkey for {} from the key.", p(&rp)));
            out.json(&serde_json::json!({"deleted": id, "rpId": rp}));
        }
        CredentialsCommand::List => {
            let view = match view(signed_in).await {
                Ok(v) => Some(v),
                Err(e) => {
                    out.note(&format!("(Not comparing with ZITADEL: {e})"));
                    None
                }
            };
            let listed = key_ops::credentials(device, view.as_ref())
                .await
                .map_err(words)?;
            let slots = listed.slots;
            let mut json = Vec::new();
            if listed.sites.is_empty() {
                out.line("No passkeys are stored on this key.");
            }
            for rp in &listed.sites {
                out.line(&format!(
                    "{}{}",
                    p(&rp.rp_id),
                    rp.name
                        .as_ref()
                        .map(|n| format!(" ({})", p(n)))
                        .unwrap_or_default()
                ));
                let mut creds = Vec::new();
                for key_ops::CredentialStanding {
                    credential: c,
                    standing,
                } in &rp.credentials
                {
                    out.line(&format!(
                        "  {}  {}{}",
                        c.id,
                        p(c.user_name
                            .as_deref()
                            .or(c.user_display_name.as_deref())
                            .unwrap_or("(no user name)")),
                        standing.as_ref().map(standing_text).unwrap_or_default()
                    ));
                    let mut v = serde_json::to_value(c).unwrap_or_default();
                    if let Some(s) = standing {
                        v["zitadel"] = serde_json::to_value(s).unwrap_or_default();
                    }
                    creds.push(v);
                }
                json.push(
                    serde_json::json!({"rpId": rp.rp_id, "name": rp.name, "credentials": creds}),
                );
            }
            if let Some(s) = slots {
                out.line(&format!("{} stored, room for {} more. Passkeys not stored on the key (non-discoverable) cannot be listed.", s.used, s.remaining));
            }
            out.json(&serde_json::json!({"relyingParties": json, "slots": slots}));
        }
        CredentialsCommand::Orphans { delete, yes } => {
            let view = view(signed_in).await?;
            let mut cm = device.credential_manager().await?;
            let rps = cm.list().await?;
            let (orphans, unknown) = key_ops::orphans(&rps, &view);
            for o in &orphans {
                out.line(&format!(
                    "{}  {}  {}: {}",
                    p(&o.rp_id),
                    o.credential.id,
                    p(o.credential.user_name.as_deref().unwrap_or("")),
                    p(&o.reason)
                ));
            }
            if orphans.is_empty() {
                out.line("No orphaned passkeys for this instance on the key.");
            }
            if unknown > 0 {
                out.note(&format!("{unknown} passkey(s) for this instance cannot be judged (ZITADEL lists no credential ids, and only a list that agrees with this computer's record of enrolled passkeys can prove one gone); they are left alone."));
            }
            let mut deleted = Vec::new();
            if *delete && !orphans.is_empty() {
                if !yes {
                    confirm("DELETE", &format!("This deletes {} orphaned passkey(s) from the key. This cannot be undone.", orphans.len())).await?;
                }
                // The key is read again and only what is still an orphan of those shown goes.
                let shown: Vec<String> = orphans.iter().map(|o| o.credential.id.clone()).collect();
                deleted = key_ops::delete_orphans(&mut cm, &view, Some(&shown))
                    .await
                    .map_err(words)?;
                out.line(&format!("Deleted {} orphaned passkey(s).", deleted.len()));
            } else if !orphans.is_empty() {
                out.note("Delete them with `passkeys key credentials orphans --delete`.");
            }
            let list: Vec<_> = orphans
                .iter()
                .map(|o| serde_json::json!({"rpId": o.rp_id, "id": o.credential.id, "userName": o.credential.user_name, "reason": o.reason}))
                .collect();
            out.json(&serde_json::json!({"orphans": list, "unknown": unknown, "deleted": deleted}));
        }
    }
    Ok(())
}

async fn fingerprints(
    device: &mut Key,
    command: Option<&FingerprintsCommand>,
    out: &Out,
) -> Result<()> {
    let parse = |id: &str| {
        passkeys_core::b64::decode_lenient(id)
            .ok()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| {
                Error::Config(format!(
                    "{id:?} is not a fingerprint id (see `passkeys key fingerprints list`)"
                ))
            })
    };
    let mut bio = device.bio_manager().await?;
    match command.unwrap_or(&FingerprintsCommand::List) {
        FingerprintsCommand::List => {
            let list = bio.list().await?;
            if list.is_empty() {
                out.line("No fingerprints enrolled.");
            }
            for f in &list {
                out.line(&format!(
                    "{}  {}",
                    p(&f.id),
                    p(f.name.as_deref().unwrap_or("(no name)"))
                ));
            }
            out.json(&list);
        }
        FingerprintsCommand::Enroll { name } => {
            out.note(
                "Press your finger against the key's sensor; lift it and press again when asked.",
            );
            let fp = bio
                .enroll(name.as_deref(), |s| {
                    out.note(&format!("{} — {} more sample(s)", s.feedback, s.remaining))
                })
                .await?;
            out.line(&format!("Fingerprint enrolled (id {}).", fp.id));
            out.json(&fp);
        }
        FingerprintsCommand::Rename { id, name } => {
            bio.rename(&parse(id)?, name).await?;
            out.line("Renamed.");
            out.json(&serde_json::json!({"renamed": id, "name": name}));
        }
        FingerprintsCommand::Remove { id } => {
            bio.remove(&parse(id)?).await?;
            out.line("Removed.");
            out.json(&serde_json::json!({"removed": id}));
        }
    }
    Ok(())
}

async fn reset(
    device: Key,
    confirmed: bool,
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
    out: &Out,
) -> Result<()> {
    let plan = key_ops::prepare_reset(device).await.map_err(words)?;
    if !confirmed {
        confirm(
            "RESET",
            "A reset erases EVERY passkey on this key (for every site, not only ZITADEL) and its PIN and fingerprints. Passkeys registered with ZITADEL stop working; remove them there too.",
        )
        .await?;
    }
    let on_step = |step: ResetStep| match step {
        ResetStep::Reinsert {
            transport,
            long_touch,
            ..
        } => out.note(&manage::reset_guide(transport, long_touch)),
        ResetStep::Touch { long_touch: true } => out.note("Press and hold the key's button now."),
        ResetStep::Touch { long_touch: false } => out.note("Touch the key now."),
    };
    plan.run(prompt, cancel, &on_step).await.map_err(words)?;
    out.line("The key is reset: no passkeys, no PIN.");
    out.json(&serde_json::json!({"reset": true}));
    Ok(())
}
