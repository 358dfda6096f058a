//! Security keys in the CLI: `--authenticator auto|usb|usb:N|nfc|nfc:N|platform|soft:PATH`,
//! PIN prompts on the terminal (or once from `--pin-env VAR`, never from an argument), touch
//! prompts, and `passkeys authenticators [--watch]`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use passkeys_core::authenticator::Authenticator;
use passkeys_core::prompt::{PinRequest, Prompt, PromptNotice};
use passkeys_core::{Error, Result, Secret};
use passkeys_ctap::discovery::{self, KeyEvent};
use passkeys_ctap::{CancellationToken, Discoverable};
use passkeys_service::environment::{AuthenticatorSource, Opening};
use passkeys_service::AuthenticatorChoice;

use crate::output::Out;

/// Parses `--authenticator` (default `auto`): see [`AuthenticatorChoice`] for the spellings.
pub fn parse_choice(spec: Option<&str>) -> Result<AuthenticatorChoice> {
    spec.unwrap_or("auto")
        .parse()
        .map_err(|e: passkeys_service::ChoiceError| Error::Config(e.to_string()))
}

/// `--authenticator`'s check while the command line is read: a value that names no
/// authenticator is a usage error (with the accepted values), not a failure of the command.
pub fn check_choice(spec: &str) -> std::result::Result<String, String> {
    spec.parse::<AuthenticatorChoice>()
        .map(|_| spec.to_string())
        .map_err(|e: passkeys_service::ChoiceError| e.to_string())
}

/// Parses `--discoverable`.
pub fn parse_discoverable(value: Option<&str>) -> Result<Discoverable> {
    match value.unwrap_or("auto") {
        "auto" => Ok(Discoverable::Auto),
        "yes" | "always" | "true" => Ok(Discoverable::Always),
        "no" | "never" | "false" => Ok(Discoverable::Never),
        other => Err(Error::Config(format!(
            "--discoverable {other:?}: use auto, yes or no"
        ))),
    }
}

/// Reads the PIN from the environment variable named by `--pin-env`.
pub fn pin_from_env(var: Option<&str>) -> Result<Option<Secret>> {
    let Some(var) = var else { return Ok(None) };
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
        _ => Err(Error::Config(format!(
            "--pin-env {var}: the environment variable {var} is not set"
        ))),
    }
}

/// PINs from the terminal (hidden input) or once from the environment; touch prompts on stderr.
pub struct TerminalPrompt {
    env_pin: Option<Secret>,
    env_used: AtomicBool,
    set_env_pin: bool,
}

impl TerminalPrompt {
    /// With `env_pin`, that PIN is offered once and never re-sent after a wrong-PIN answer (a
    /// wrong PIN in a variable would otherwise burn every attempt).
    pub fn new(env_pin: Option<Secret>) -> Self {
        Self {
            env_pin,
            env_used: AtomicBool::new(false),
            set_env_pin: false,
        }
    }

    /// Lets the `--pin-env` PIN become the PIN of a key without one (the practice key only: a
    /// real key's new PIN is chosen on the terminal, typed twice).
    pub fn setting_env_pin(mut self) -> Self {
        self.set_env_pin = true;
        self
    }
}

async fn read_hidden(prompt: String) -> Option<Secret> {
    tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt).ok())
        .await
        .ok()
        .flatten()
        .filter(|s| !s.is_empty())
        .map(Secret::new)
}

/// Asks for a new PIN and its confirmation (three tries).
async fn new_pin_twice() -> Option<Secret> {
    for _ in 0..3 {
        let first = read_hidden("New PIN: ".to_string()).await?;
        let again = read_hidden("The same PIN again: ".to_string()).await?;
        if first == again {
            return Some(first);
        }
        eprintln!("The two PINs differ; try again.");
    }
    None
}

#[async_trait]
impl Prompt for TerminalPrompt {
    async fn request_pin(&self, request: &PinRequest) -> Option<Secret> {
        match request {
            PinRequest::Enter {
                attempts_left,
                after_wrong_pin,
            } => {
                let left = attempts_left
                    .map(|n| format!(" ({n} attempts left)"))
                    .unwrap_or_default();
                if let Some(pin) = &self.env_pin {
                    if *after_wrong_pin {
                        eprintln!("The PIN from --pin-env is wrong{left}; not trying it again.");
                        return None;
                    }
                    if self.env_used.swap(true, Ordering::SeqCst) {
                        return None;
                    }
                    return Some(pin.clone());
                }
                if *after_wrong_pin {
                    eprintln!("Wrong PIN{left}.");
                }
                read_hidden(format!("PIN of your security key{left}: ")).await
            }
            PinRequest::SetNew { min_length, .. } => {
                if let (Some(pin), true) = (&self.env_pin, self.set_env_pin) {
                    eprintln!(
                        "The practice key has no PIN yet: setting the PIN from --pin-env on it."
                    );
                    return Some(pin.clone());
                }
                if self.env_pin.is_some() {
                    eprintln!("This security key has no PIN yet; run `passkeys add` without --pin-env once to choose one.");
                    return None;
                }
                eprintln!("This security key has no PIN yet, and ZITADEL requires one to create a passkey.");
                eprintln!("Choose a PIN of at least {min_length} characters; the key keeps it and asks for it when you sign in.");
                new_pin_twice().await
            }
            PinRequest::ChangeRequired { min_length, .. } => {
                if self.env_pin.is_some() {
                    eprintln!("This security key requires a new PIN; run `passkeys add` without --pin-env once to choose one.");
                    return None;
                }
                eprintln!("This security key requires a new PIN before it can be used (at least {min_length} characters).");
                new_pin_twice().await
            }
            _ => None,
        }
    }

    fn touch(&self) {
        eprintln!("Touch your security key now (or hold it on the NFC reader).");
    }

    fn notice(&self, notice: &PromptNotice) {
        match notice {
            PromptNotice::UseBuiltInVerification => {
                eprintln!("Verify with your fingerprint on the security key.")
            }
            PromptNotice::FallingBackToPin => {
                eprintln!("Fingerprint verification is not available; using the PIN instead.")
            }
            PromptNotice::PinRejected { reason } => eprintln!("That PIN cannot be used: {reason}."),
            PromptNotice::PinSet => eprintln!("The PIN is set on the security key."),
            _ => {}
        }
    }
}

/// Cancels on the security key (CTAPHID_CANCEL) at Ctrl-C. With `exit_after`, the process then
/// ends that long after (`passkeys add`); without, the running key command reports the
/// cancellation itself (`passkeys key …`, e.g. a reset in progress says what state it left).
pub fn cancel_on_interrupt(exit_after: Option<Duration>) -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Cancelling on the security key…");
            on_interrupt.cancel();
            if let Some(wait) = exit_after {
                tokio::time::sleep(wait).await;
                std::process::exit(130);
            }
        }
    });
    cancel
}

/// Opens the authenticator for `passkeys add` (not for `platform`, which has its own path).
pub async fn open(
    source: &dyn AuthenticatorSource,
    choice: &AuthenticatorChoice,
    prompt: Arc<dyn Prompt>,
    discoverable: Discoverable,
    out: &Out,
) -> Result<Box<dyn Authenticator>> {
    let cancel = match choice {
        AuthenticatorChoice::Key(_) => cancel_on_interrupt(Some(Duration::from_secs(2))),
        _ => CancellationToken::new(),
    };
    #[cfg(feature = "practice")]
    if *choice == AuthenticatorChoice::Practice {
        return open_practice(source, prompt, cancel, discoverable).await;
    }
    let on_several = || out.note("Several security keys are attached: touch the one to use.");
    source
        .open(
            choice,
            Opening {
                prompt,
                cancel,
                on_several: &on_several,
                discoverable,
            },
        )
        .await
}

/// The practice key (the environment's, else a fresh one for this process; the caller has
/// checked that the instance is the sandbox), its touches made for the person with a line on
/// the terminal each time.
#[cfg(feature = "practice")]
async fn open_practice(
    source: &dyn AuthenticatorSource,
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
    discoverable: Discoverable,
) -> Result<Box<dyn Authenticator>> {
    use passkeys_ctap::practice::Touch;
    let key = source.practice().unwrap_or_default();
    key.set_touch(Touch::Person);
    // The task ends with the key's last handle (the opened device's).
    drop(key.touch_when_waiting(|| eprintln!("Touching the practice key (simulated).")));
    let device = passkeys_service::choose::open_practice(&key, prompt, &cancel).await?;
    Ok(Box::new(passkeys_service::choose::practice_authenticator(
        device,
        discoverable,
    )))
}

/// Refuses `--authenticator practice` against an instance that is not the built-in sandbox (a
/// loopback issuer).
///
/// # Errors
/// [`Error::Config`] naming the rule.
pub fn check_practice_allowed(choice: &AuthenticatorChoice, issuer: &url::Url) -> Result<()> {
    if *choice != AuthenticatorChoice::Practice || passkeys_core::config::is_loopback_host(issuer) {
        return Ok(());
    }
    Err(Error::Config(format!(
        "--authenticator practice: the practice security key is simulated and works only against the built-in sandbox (`passkeys sandbox`, `passkeys demo`), not against {issuer}; use a real security key (--authenticator auto)"
    )))
}

/// `passkeys authenticators [--watch] [--slots [--pin-env VAR]]`.
pub async fn list(out: &Out, watch: bool, slots: bool, pin: Option<Secret>) -> Result<()> {
    let prompt: Arc<dyn Prompt> = Arc::new(TerminalPrompt::new(pin));
    let cancel = CancellationToken::new();
    if !watch {
        let mut devices = passkeys_service::choose::attached(None, prompt, cancel).await?;
        let mut summaries = Vec::new();
        for (i, device) in devices.iter_mut().enumerate() {
            let s = discovery::summary(device);
            out.line(&describe(i, &s));
            let mut entry = serde_json::to_value(&s).unwrap_or_default();
            if slots {
                match device.credential_slots().await {
                    Ok(Some(n)) => {
                        out.line(&format!(
                            "   {} passkeys stored on it, room for {} more",
                            n.used, n.remaining
                        ));
                        entry["slots"] = serde_json::to_value(n).unwrap_or_default();
                    }
                    Ok(None) => out.line("   this key does not report its stored passkeys"),
                    Err(e) => out.line(&format!("   stored passkeys unknown: {e}")),
                }
            }
            summaries.push(entry);
        }
        if summaries.is_empty() {
            out.line("No security key found. Insert one (or put it on the NFC reader).");
            // A key this user may not open (hidraw EACCES), pcscd not running (NFC).
            for problem in discovery::access_problems() {
                out.line(&problem.message());
            }
        }
        out.json(&summaries);
        return Ok(());
    }
    out.note("Watching for security keys; press Ctrl-C to stop.");
    let stop = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    let mut count = 0usize;
    discovery::watch(prompt, cancel, |event| {
        match &event {
            KeyEvent::Added(s) => {
                out.line(&format!("+ {}", describe(count, s)));
                count += 1;
            }
            KeyEvent::Removed { .. } => out.line("- a security key was removed"),
            KeyEvent::EnumerationComplete => {
                if count == 0 {
                    out.line("No security key attached yet.");
                }
            }
        }
        out.json(&event);
    })
    .await?;
    Ok(())
}

fn describe(i: usize, s: &discovery::KeySummary) -> String {
    let slots = s
        .remaining_discoverable
        .map(|n| format!(", room for {n} more stored passkeys"))
        .unwrap_or_default();
    format!(
        "{i}: {} over {} (AAGUID {}), PIN {}{}{}{}",
        crate::output::p(&s.model),
        crate::output::p(&s.transport.to_uppercase()),
        s.aaguid,
        s.pin,
        if s.built_in_verification {
            ", fingerprint"
        } else {
            ""
        },
        if s.discoverable {
            ", stores passkeys"
        } else {
            ""
        },
        slots
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use passkeys_service::{KeyChoice, Transport};
    use std::path::PathBuf;

    #[test]
    fn choices() {
        assert_eq!(
            parse_choice(None).unwrap(),
            AuthenticatorChoice::Key(KeyChoice {
                transport: None,
                index: None
            })
        );
        assert_eq!(
            parse_choice(Some("usb:1")).unwrap(),
            AuthenticatorChoice::Key(KeyChoice {
                transport: Some(Transport::Usb),
                index: Some(1)
            })
        );
        assert_eq!(
            parse_choice(Some("platform")).unwrap(),
            AuthenticatorChoice::Platform
        );
        assert_eq!(
            parse_choice(Some("soft:/tmp/x")).unwrap(),
            AuthenticatorChoice::Soft(Some(PathBuf::from("/tmp/x")))
        );
        assert!(parse_choice(Some("usb:one")).is_err());
        assert!(parse_choice(Some("bluetooth")).is_err());
        assert_eq!(parse_discoverable(Some("no")).unwrap(), Discoverable::Never);
        assert!(parse_discoverable(Some("maybe")).is_err());
    }

    #[tokio::test]
    async fn env_pin_is_offered_once_and_never_after_a_wrong_pin() {
        let p = TerminalPrompt::new(Some(Secret::new("1234")));
        let enter = |after_wrong_pin| PinRequest::Enter {
            attempts_left: Some(8),
            after_wrong_pin,
        };
        assert_eq!(
            p.request_pin(&enter(false))
                .await
                .map(|s| s.expose().to_string()),
            Some("1234".into())
        );
        assert!(p.request_pin(&enter(true)).await.is_none());
        assert!(p.request_pin(&enter(false)).await.is_none());
        let set = PinRequest::SetNew {
            min_length: 4,
            max_bytes: 63,
        };
        assert!(p.request_pin(&set).await.is_none());
    }
}
