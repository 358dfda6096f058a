//! `passkeys`: the command-line twin of the Passkey Enroll desktop app.
//!
//! Every command is a thin adapter over `passkeys_service` (the ceremonies shared with the desktop
//! app, in an [`Environment`]) and `passkeys_core`; this file only parses arguments, prints
//! results and turns errors into one line on stderr and a non-zero exit status.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use passkeys_core::browser::{Browser, SystemBrowser};
use passkeys_core::config::{self, Profile};
use passkeys_core::enroll::{self, EnrollEvent};
use passkeys_core::oidc::{BrowserLogout, Oidc, SignInOptions, SignInPrompt};
use passkeys_core::passkey_api::ApiGeneration;
use passkeys_core::session::Session;
use passkeys_core::tokens::{self, TokenStore, TokenStoreKind};
use passkeys_core::zitadel::{http_client, ZitadelClient};
use passkeys_core::{Error, Result};
use passkeys_service::{AuthenticatorChoice, Environment};

mod demo;
#[cfg(feature = "docs")]
mod docs;
mod helpdesk;
mod keycmd;
mod keys;
mod know;
mod output;

use output::Out;

/// Enroll passkeys with ZITADEL from the command line.
#[derive(Debug, Parser)]
#[command(name = "passkeys", version, about, long_about = None)]
struct Cli {
    /// Issuer URL of your ZITADEL instance (env PASSKEYS_ISSUER, or `issuer` in the config file).
    #[arg(long, global = true, value_name = "URL")]
    issuer: Option<String>,
    /// Client id of the native app in ZITADEL (env PASSKEYS_CLIENT_ID).
    #[arg(long, global = true, value_name = "ID")]
    client_id: Option<String>,
    /// Where to keep tokens: keyring (OS keychain), file (0600 file in your state directory) or
    /// memory (sign in for this run only). Env PASSKEYS_TOKEN_STORE.
    #[arg(long, global = true, value_name = "STORE")]
    token_store: Option<TokenStoreKind>,
    /// Which ZITADEL API to use for your passkeys: auto (the Auth API v1 while the instance
    /// offers it, else User service v2 over Connect, else over REST), v1, v2 (Connect, else
    /// REST), v2-rest or v2-connect. Env PASSKEYS_API, or `api` in the config file.
    #[arg(long, global = true, value_name = "auto|v1|v2")]
    api: Option<passkeys_core::passkey_api::ApiChoice>,
    /// The RP ID (login domain) new passkeys get on User service v2, when your ZITADEL login
    /// runs on another host than the issuer (default: the issuer's host). Must be that host or
    /// a parent domain of it. The Auth API v1 ignores it (ZITADEL chooses). Env
    /// PASSKEYS_RP_ID, or `rp_id` in the config file.
    #[arg(long, global = true, value_name = "DOMAIN")]
    rp_id: Option<String>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// More logging on stderr (-v debug, -vv trace). Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign in in your browser (authorization code + PKCE, loopback redirect).
    Login {
        /// Seconds the whole sign-in may take (browser, code exchange, checks).
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// How to treat a sign-in the browser already has at ZITADEL (OIDC `prompt`):
        /// select_account lets you choose or add another account ("sign in as someone else");
        /// login asks for your credentials again (e.g. to sign in with your second factor).
        /// Without it, ZITADEL silently reuses a single browser session.
        #[arg(long, value_name = "PROMPT")]
        prompt: Option<SignInPrompt>,
    },
    /// Sign out: revoke and forget the stored tokens, and end the browser's sign-in session at
    /// ZITADEL (RP-initiated logout), so the next sign-in can be someone else.
    Logout {
        /// Only revoke and forget the tokens; leave the browser signed in to ZITADEL.
        #[arg(long)]
        no_browser: bool,
        /// Seconds to wait for the browser to come back from ZITADEL's logout.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Show who is signed in.
    Whoami,
    /// List your passkeys.
    List,
    /// Create a passkey on an authenticator and register it with ZITADEL.
    Add {
        /// Name for the passkey (1 to 200 characters). Default: the authenticator model and date.
        #[arg(long)]
        name: Option<String>,
        /// The authenticator: auto (default: the security key attached, or the one you touch),
        /// key or key:N (any attached security key), usb, usb:N, nfc, nfc:N (N from `passkeys
        /// authenticators`), platform (this computer's or a phone's passkeys, through a
        /// registration link in your browser), soft or soft:PATH (a software authenticator saved
        /// in your state directory or in PATH; for tests and demos, not hardware) or practice
        /// (the practice security key, simulated: against the built-in sandbox only).
        #[arg(long, value_name = "KIND[:ARG]", value_parser = crate::keys::check_choice)]
        authenticator: Option<String>,
        /// Read the security key's PIN from this environment variable (tried once). Without
        /// it, the PIN is asked for on the terminal; it is never a command-line argument.
        #[arg(long, value_name = "VAR")]
        pin_env: Option<String>,
        /// Store the passkey on the security key (discoverable): auto (when the key has room),
        /// yes or no.
        #[arg(long, value_name = "auto|yes|no")]
        discoverable: Option<String>,
        /// Do not sign in once with the new passkey to check that it works.
        #[arg(long)]
        no_self_test: bool,
        /// Let soft:PATH (a file, not hardware) enroll with an issuer that is not on this
        /// machine. Without it, the software authenticator works only with a loopback issuer.
        #[arg(long)]
        dangerously_allow_soft_authenticator: bool,
    },
    /// List the security keys attached over USB and NFC (--watch: follow them as they come
    /// and go).
    Authenticators {
        /// Keep watching for keys being attached and removed.
        #[arg(long)]
        watch: bool,
        /// Also show how many passkeys each key stores and has room for (asks for its PIN).
        #[arg(long, conflicts_with = "watch")]
        slots: bool,
        /// With --slots: read the PIN from this environment variable (tried once).
        #[arg(long, value_name = "VAR", requires = "slots")]
        pin_env: Option<String>,
    },
    /// Manage a security key: info, PIN, stored passkeys, fingerprints, reset, wink, config.
    Key(keycmd::KeyArgs),
    /// Remove a passkey by id (see `passkeys list`).
    Remove {
        /// The passkey id.
        id: String,
    },
    /// Which attached authenticator holds this passkey? Asks every attached key silently (no
    /// touch, no PIN) and makes the one that holds it blink.
    Which {
        /// The passkey id (see `passkeys list`).
        id: String,
        /// Where to look: auto (every attached key), usb, usb:N, nfc, nfc:N, or soft:PATH.
        #[arg(long, value_name = "KIND[:ARG]", value_parser = crate::keys::check_choice)]
        authenticator: Option<String>,
    },
    /// Sign in once with this passkey on its authenticator and check the answer here.
    Test {
        /// The passkey id (see `passkeys list`).
        id: String,
        /// Where to look: auto (every attached key), usb, usb:N, nfc, nfc:N, or soft:PATH.
        #[arg(long, value_name = "KIND[:ARG]", value_parser = crate::keys::check_choice)]
        authenticator: Option<String>,
        /// Read the security key's PIN from this environment variable (tried once).
        #[arg(long, value_name = "VAR")]
        pin_env: Option<String>,
    },
    /// Create a registration link to add a passkey from another device (shows a QR code).
    Link {
        /// Do not draw the QR code.
        #[arg(long)]
        no_qr: bool,
    },
    /// Run the sandbox: a local ZITADEL-compatible issuer for trying things out.
    Sandbox {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Run the whole flow against the built-in sandbox with software authenticators.
    Demo,
    /// Helpdesk: enroll passkeys for other users (User service v2; your account needs
    /// user.credential.write), registration codes, batch mode.
    #[command(subcommand)]
    Helpdesk(helpdesk::HelpdeskCommand),
}

fn init_logging(verbose: u8) {
    let filter = match verbose {
        // webauthn-authenticator-rs logs expected probe misses (exclude-list checks) as errors.
        0 => "warn,webauthn_authenticator_rs=off",
        1 => "warn,passkeys_core=debug,passkeys=debug,passkeys_sandbox=debug,webauthn_authenticator_rs=off",
        _ => "debug,passkeys_core=trace,passkeys_sandbox=trace,webauthn_authenticator_rs=off",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PASSKEYS_LOG")
                .unwrap_or_else(|_| filter.into()),
        )
        .with_writer(|| Redacting(std::io::stderr()))
        // Plain `name=value` fields: colour codes between a field's name and its value would
        // hide it from the redaction.
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// A log writer (standard error) with anything that looks like a secret redacted
/// ([`passkeys_core::secret::redact_text`]): `-vv` turns on other crates' debug logs, which this
/// project does not control. The formatter writes each event in one call.
struct Redacting<W>(W);

impl<W: std::io::Write> std::io::Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = passkeys_core::secret::redact_text(&String::from_utf8_lossy(buf));
        self.0.write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    #[cfg(feature = "docs")]
    if let Some(code) = docs::generate_if_asked(<Cli as clap::CommandFactory>::command) {
        return code;
    }
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let out = Out::new(cli.json);
    match run(cli, &out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out.error(&e);
            ExitCode::from(1)
        }
    }
}

/// Resolved global options.
struct Ctx {
    profile: Profile,
    api: passkeys_core::passkey_api::ApiSettings,
    store: Arc<dyn TokenStore>,
    store_kind: TokenStoreKind,
    http: reqwest::Client,
}

fn ctx(cli: &Cli) -> Result<Ctx> {
    let file = config::load_config_file()?;
    let profile = config::resolve_profile(cli.issuer.as_deref(), cli.client_id.as_deref(), &file)?;
    let store_kind = match cli.token_store {
        Some(k) => k,
        None => match std::env::var("PASSKEYS_TOKEN_STORE")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(s) => s.parse().map_err(Error::Config)?,
            None => file.token_store.unwrap_or_default(),
        },
    };
    let api = passkeys_core::passkey_api::resolve_api(cli.api, cli.rp_id.as_deref(), &file)?;
    Ok(Ctx {
        profile,
        api,
        store: tokens::open_store(store_kind)?,
        store_kind,
        http: http_client()?,
    })
}

async fn discover(ctx: &Ctx) -> Result<Oidc> {
    Oidc::discover(
        &ctx.profile.issuer,
        &ctx.profile.client_id,
        ctx.http.clone(),
    )
    .await
}

async fn login(
    ctx: &Ctx,
    out: &Out,
    browser: &dyn Browser,
    options: &SignInOptions,
) -> Result<Arc<Session>> {
    let oidc = discover(ctx).await?;
    let show = |url: &str| {
        out.note(&format!(
            "Opening your browser to sign in to {}.\nIf it does not open, visit:\n  {url}",
            ctx.profile.issuer.as_str
        ))
    };
    let (session, who) = Session::login(oidc, ctx.store.clone(), browser, options, &show).await?;
    out.note(&format!(
        "Signed in{}. Tokens are kept in the {}.",
        who.name
            .map(|n| format!(" as {}", output::p(&n)))
            .unwrap_or_default(),
        ctx.store.describe()
    ));
    Ok(session)
}

/// The stored session; with the memory store, signs in first (one-shot runs).
async fn session(ctx: &Ctx, out: &Out) -> Result<ZitadelClient> {
    let session = if ctx.store_kind == TokenStoreKind::Memory {
        login(
            ctx,
            out,
            &SystemBrowser,
            &SignInOptions::new(Duration::from_secs(300)),
        )
        .await?
    } else {
        Session::resume(discover(ctx).await?, ctx.store.clone())?
    };
    environment()
        .remembering(session.zitadel(ctx.http.clone()))
        .with_api(ctx.api.clone())
}

/// After the passkey API is known: what a person should know about it (an RP ID setting the
/// Auth API v1 ignores; unfinished registrations User service v2 does not list).
fn api_notes(api: &ZitadelClient, out: &Out, listing: bool) {
    let Some(status) = api.api_status() else {
        return;
    };
    tracing::debug!("passkey API: {}", status.describe());
    let generation = status.generation;
    if generation == ApiGeneration::V1 && api.api_settings().rp_id.is_some() {
        out.note("The RP ID setting (--rp-id) is ignored: this instance uses the Auth API v1, where ZITADEL chooses the RP ID.");
    }
    if listing && !generation.lists_unfinished() {
        out.note("This instance's User service v2 lists finished passkeys only: an unfinished registration cannot be seen or cleaned up here (ZITADEL replaces it when the next passkey is added).");
    }
}

/// `passkeys add --authenticator platform`: a registration link in the system browser, then
/// the list is polled until the new passkey is READY.
async fn add_via_link(env: &Environment, api: &ZitadelClient, out: &Out) -> Result<()> {
    use passkeys_core::link_enroll::{enroll_via_link, PLATFORM_EXPLANATION};
    out.note(PLATFORM_EXPLANATION);
    let show = |link: &passkeys_core::zitadel::RegistrationLink| {
        out.note(&format!(
            "Opening your browser. If it does not open, visit this link (or scan it on a phone):\n  {}",
            link.link
        ));
        output::print_qr(out, &link.link);
    };
    let browser = env.link_opener.browser(api);
    let passkey = enroll_via_link(
        api,
        browser.as_ref(),
        Duration::from_secs(2),
        Duration::from_secs(600),
        &show,
    )
    .await?;
    out.line(&format!(
        "Added passkey \"{}\" (id {}).",
        output::p(&passkey.name),
        output::p(&passkey.id)
    ));
    out.json(&passkey);
    Ok(())
}

pub(crate) fn describe_event(event: &EnrollEvent) -> Option<String> {
    match event {
        EnrollEvent::Starting => Some("Asking ZITADEL to start a passkey registration…".into()),
        EnrollEvent::OptionsChecked { rp_id } => Some(format!(
            "The passkey will be for {}.",
            output::p(rp_id)
        )),
        EnrollEvent::WaitingForAuthenticator { authenticator } => {
            Some(match &authenticator.notice {
                Some(n) => format!(
                    "Using the {}. {n}",
                    output::p(&authenticator.model.to_lowercase())
                ),
                None => format!("Using your {}.", output::p(&authenticator.model)),
            })
        }
        EnrollEvent::Created { .. } => Some("Passkey created on the authenticator.".into()),
        EnrollEvent::Registering { name } => Some(format!(
            "Registering \"{}\" with ZITADEL…",
            output::p(name)
        )),
        EnrollEvent::SelfTesting => Some(
            "Checking the new passkey by signing in with it once (a security key asks for another touch, maybe its PIN)…".into(),
        ),
        _ => None,
    }
}

/// The environment of a real instance (the CLI's demo builds its own, see `demo.rs`).
fn environment() -> Environment {
    Environment::real(Duration::from_secs(60))
}

async fn run(cli: Cli, out: &Out) -> Result<()> {
    match &cli.command {
        Command::Sandbox { port } => return demo::run_sandbox(*port, out).await,
        Command::Demo => return demo::run_demo(out).await,
        Command::Authenticators {
            watch,
            slots,
            pin_env,
        } => {
            let pin = keys::pin_from_env(pin_env.as_deref())?;
            return keys::list(out, *watch, *slots, pin).await;
        }
        Command::Key(args) => {
            let signed_in = async || -> Result<keycmd::Signed> {
                let ctx = ctx(&cli)?;
                let session = Session::resume(discover(&ctx).await?, ctx.store.clone())?;
                Ok(keycmd::Signed {
                    api: environment()
                        .remembering(session.zitadel(ctx.http.clone()))
                        .with_api(ctx.api.clone())?,
                    instance: ctx.profile.issuer.url.clone(),
                    inventory: environment().inventory.open(),
                })
            };
            return keycmd::run(args, out, signed_in).await;
        }
        _ => {}
    }
    let ctx = ctx(&cli)?;
    let env = environment();
    match cli.command {
        Command::Login { timeout, prompt } => {
            let options = SignInOptions::new(Duration::from_secs(timeout)).with_prompt(prompt);
            login(&ctx, out, &SystemBrowser, &options).await?;
            out.json(&serde_json::json!({"signedIn": true, "issuer": ctx.profile.issuer.as_str}));
        }
        Command::Logout {
            no_browser,
            timeout,
        } => {
            let oidc = discover(&ctx).await?;
            let browser: Option<&dyn Browser> = (!no_browser).then_some(&SystemBrowser);
            let report = Session::logout(
                &oidc,
                ctx.store.as_ref(),
                browser,
                Duration::from_secs(timeout),
            )
            .await?;
            match (&report.was_signed_in, &report.revoke_error) {
                (false, _) => out.line("You were not signed in."),
                (true, None) => out.line("Signed out: the tokens were revoked and forgotten."),
                (true, Some(e)) => out.line(&format!(
                    "Signed out: the tokens were forgotten here, but revoking them at the server failed ({e})."
                )),
            }
            if report.browser == BrowserLogout::Confirmed {
                out.line("The browser's sign-in session at ZITADEL was ended too.");
            } else if let (true, Some(note)) = (report.was_signed_in, report.browser_note()) {
                out.note(note);
            }
            out.json(&report);
        }
        Command::Whoami => {
            let api = session(&ctx, out).await?;
            let me = api.get_my_user().await?;
            out.line(&format!(
                "{} ({}) at {}",
                output::p(&me.display_name),
                output::p(&me.login_name),
                ctx.profile.issuer.as_str
            ));
            // Which API generation serves the passkeys (issue 14: in diagnostics). Who one is
            // does not depend on it: a passkey API that cannot be told is a note, not a failure.
            if let Err(e) = api.api_generation().await {
                out.note(&format!(
                    "Could not tell which passkey API this instance offers: {e}"
                ));
            }
            let status = api.api_status();
            if let Some(s) = &status {
                out.line(&format!("Passkeys through the {}.", s.describe()));
            }
            api_notes(&api, out, false);
            let mut v = serde_json::to_value(&me).unwrap_or_default();
            v["passkeyApi"] = serde_json::to_value(&status).unwrap_or_default();
            out.json(&v);
        }
        Command::List => {
            let api = session(&ctx, out).await?;
            let list = api.list_passkeys().await?;
            api_notes(&api, out, true);
            know::print_list(
                out,
                &env.inventory.open(),
                &ctx.profile.issuer.as_str,
                &list,
            );
        }
        Command::Add {
            name,
            authenticator,
            pin_env,
            discoverable,
            no_self_test,
            dangerously_allow_soft_authenticator,
        } => {
            if let Some(n) = &name {
                passkeys_core::webauthn::validate_token_name(n).map_err(Error::InvalidName)?;
            }
            let choice = keys::parse_choice(authenticator.as_deref())?;
            keys::check_practice_allowed(&choice, &ctx.profile.issuer.url)?;
            if let AuthenticatorChoice::Soft(_) = &choice {
                passkeys_core::authenticator::check_soft_allowed(
                    &ctx.profile.issuer.url,
                    dangerously_allow_soft_authenticator,
                )?;
            }
            let discoverable = keys::parse_discoverable(discoverable.as_deref())?;
            let mut prompt = keys::TerminalPrompt::new(keys::pin_from_env(pin_env.as_deref())?);
            if choice == AuthenticatorChoice::Practice {
                prompt = prompt.setting_env_pin();
            }
            let prompt = Arc::new(prompt);
            if choice == AuthenticatorChoice::Platform {
                let api = session(&ctx, out).await?;
                return add_via_link(&env, &api, out).await;
            }
            let mut auth = keys::open(
                env.authenticators.as_ref(),
                &choice,
                prompt,
                discoverable,
                out,
            )
            .await?;
            let api = session(&ctx, out).await?;
            let progress = |e: &EnrollEvent| {
                if let Some(text) = describe_event(e) {
                    out.note(&text)
                }
            };
            let enrollment = enroll::add_passkey_with(
                &api,
                auth.as_mut(),
                name.as_deref(),
                &progress,
                &know::enroll_options(&env, no_self_test),
            )
            .await?;
            api_notes(&api, out, false);
            let added = &enrollment.passkey;
            out.line(&format!(
                "Added passkey \"{}\"{} for {}.",
                output::p(&added.name),
                added
                    .id
                    .as_deref()
                    .map(|i| format!(" (id {})", output::p(i)))
                    .unwrap_or_default(),
                output::p(&added.rp_id)
            ));
            if added.discoverable {
                out.note("It is stored on the authenticator (a discoverable passkey).");
            }
            know::report_self_test(out, &enrollment);
            out.json(&enrollment);
        }
        Command::Remove { id } => {
            let api = session(&ctx, out).await?;
            let name = api
                .list_passkeys()
                .await?
                .into_iter()
                .find(|p| p.id == id)
                .map(|p| p.name);
            let mut inventory = env.inventory.open();
            // A passkey stored on a security key stays there: say where, and how to delete it.
            let on_key = inventory
                .find(&passkeys_service::passkeys::instance_of(&api), &id)
                .filter(|e| e.stored_on_security_key())
                .map(|e| e.model.clone());
            passkeys_service::passkeys::remove(&api, &mut inventory, &id).await?;
            out.line(&format!(
                "Removed passkey {}.",
                name.as_deref()
                    .map(|n| format!("\"{}\" ({})", output::p(n), output::p(&id)))
                    .unwrap_or_else(|| output::p(&id).into_owned())
            ));
            if let Some(model) = on_key {
                out.note(&format!(
                    "It stays stored on your security key ({}) until you delete it there: `passkeys key credentials orphans --delete`.",
                    output::p(&model)
                ));
            }
            out.json(&serde_json::json!({"removed": id, "name": name}));
        }
        Command::Which { id, authenticator } => {
            let choice = keys::parse_choice(authenticator.as_deref())?;
            let prompt = Arc::new(keys::TerminalPrompt::new(None));
            let instance = &ctx.profile.issuer.as_str;
            know::which(out, &env, instance, &id, &choice, prompt).await?;
        }
        Command::Test {
            id,
            authenticator,
            pin_env,
        } => {
            let choice = keys::parse_choice(authenticator.as_deref())?;
            let prompt = Arc::new(keys::TerminalPrompt::new(keys::pin_from_env(
                pin_env.as_deref(),
            )?));
            let instance = &ctx.profile.issuer.as_str;
            know::test(out, &env, instance, &id, &choice, prompt).await?;
        }
        Command::Link { no_qr } => {
            let api = session(&ctx, out).await?;
            let link = api.add_passkey_link().await?;
            out.line("Open this link on the device that should get the passkey:");
            out.line(&format!("  {}", link.link));
            if let Some(secs) = link.expires_in_secs {
                out.line(&format!(
                    "It expires in {} minutes and works once.",
                    secs.div_ceil(60)
                ));
            }
            if !no_qr {
                output::print_qr(out, &link.link);
            }
            out.json(&link);
        }
        Command::Helpdesk(command) => {
            helpdesk::check_before_sign_in(&command, &ctx.profile.issuer.url)?;
            let api = session(&ctx, out).await?;
            helpdesk::run(command, &env, api, out).await?;
        }
        Command::Sandbox { .. }
        | Command::Demo
        | Command::Authenticators { .. }
        | Command::Key(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod log_tests {
    use super::Redacting;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn structured_fields_and_messages_are_redacted() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Redacting(writer.clone()))
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(code = "c0de-secret-1", refresh_token = %"rt-secret-2", "callback");
            tracing::debug!("GET /callback?code=c0de-secret-3&state=st-secret-4");
            tracing::debug!(user = "alice", "kept");
        });
        let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        for secret in [
            "c0de-secret-1",
            "rt-secret-2",
            "c0de-secret-3",
            "st-secret-4",
        ] {
            assert!(!logs.contains(secret), "{secret} in {logs}");
        }
        assert!(
            logs.contains("code=<redacted>") && logs.contains("user=\"alice\""),
            "{logs}"
        );
    }
}
