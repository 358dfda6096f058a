//! Which authenticator to use, and opening it for one operation.
//!
//! [`AuthenticatorChoice`] is the one grammar both shells accept (`--authenticator` in the CLI,
//! the authenticator id in the app); [`open_key`] is the one way to open a security key: the
//! N-th attached one, or the only one, or the one touched first among several (CTAP 2.1
//! authenticatorSelection), with one "insert a security key" error and one selection timeout.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::prompt::Prompt;
use passkeys_ctap::manage::KeyToken;
use passkeys_ctap::{discovery, CancellationToken, Device};

/// A security key opened for one operation.
pub type Key = Device<KeyToken>;

/// How long touch-to-select waits when several keys are attached.
pub const SELECT_TIMEOUT: Duration = Duration::from_secs(60);

/// A security key's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// USB HID.
    Usb,
    /// NFC through a PC/SC reader.
    Nfc,
}

impl Transport {
    /// `usb` or `nfc` (what [`passkeys_ctap::device::transport_name`] says).
    pub fn name(self) -> &'static str {
        match self {
            Transport::Usb => "usb",
            Transport::Nfc => "nfc",
        }
    }
}

/// Which security key: a transport (or any) and a position among the keys of that transport as
/// listed (or the only one / the one touched).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyChoice {
    /// `None`: USB or NFC.
    pub transport: Option<Transport>,
    /// Position in the list of attached keys (after the transport filter); `None`: the only
    /// one, or the one touched among several.
    pub index: Option<usize>,
}

/// The authenticator to use.
///
/// Accepted spellings (`FromStr`), the union of what the CLI and the app took before:
/// - `auto`, `key`: any attached security key; `key:N`: the N-th (as listed);
/// - `usb`, `usb:N`, `nfc`, `nfc:N`: a security key over that transport;
/// - `platform` (also `phone`, `link`): this computer's or a phone's passkeys, through a
///   registration link in the browser;
/// - `soft` (the default file), `soft:PATH`: a software authenticator saved in a file;
/// - `software`: a fresh software authenticator of the environment (the demo's);
/// - `practice`: the practice security key (simulated; the demo's, against the sandbox only).
///
/// `Display` writes the canonical spelling (`key`, `key:N`, `usb:N`, `platform`, `soft:PATH`,
/// `software`), which parses back to the same choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthenticatorChoice {
    /// A security key.
    Key(KeyChoice),
    /// The platform authenticator or a phone, through a registration link.
    Platform,
    /// The software authenticator in a file (`None`: the default file in the state directory).
    Soft(Option<PathBuf>),
    /// A fresh software authenticator of the environment (demo mode).
    Software,
    /// The practice security key (simulated, in-process; demo mode only).
    Practice,
}

impl AuthenticatorChoice {
    /// Any attached security key (the only one, or the one touched).
    pub const AUTO: AuthenticatorChoice = AuthenticatorChoice::Key(KeyChoice {
        transport: None,
        index: None,
    });

    /// The N-th attached security key, as the app lists them (`key:N`).
    pub fn key(index: usize) -> Self {
        AuthenticatorChoice::Key(KeyChoice {
            transport: None,
            index: Some(index),
        })
    }

    /// The security key choice, if this is one.
    pub fn as_key(&self) -> Option<KeyChoice> {
        match self {
            AuthenticatorChoice::Key(k) => Some(*k),
            _ => None,
        }
    }
}

/// A spelling [`AuthenticatorChoice`] does not accept. Its message names the value and the
/// accepted forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceError {
    /// The value as given.
    pub value: String,
    /// What is wrong with it.
    pub problem: ChoiceProblem,
}

/// What is wrong with an authenticator spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceProblem {
    /// Not one of the kinds.
    UnknownKind,
    /// The part after the colon is not a key number.
    BadIndex,
}

/// The accepted forms, for messages.
pub const ACCEPTED_FORMS: &str =
    "auto, key, key:N, usb, usb:N, nfc, nfc:N, platform, soft, soft:PATH or practice (N as listed)";

impl std::fmt::Display for ChoiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.problem {
            ChoiceProblem::UnknownKind => write!(
                f,
                "unknown authenticator {:?}: use {ACCEPTED_FORMS}",
                self.value
            ),
            ChoiceProblem::BadIndex => write!(
                f,
                "authenticator {:?}: after the colon comes the key's number as listed (use {ACCEPTED_FORMS})",
                self.value
            ),
        }
    }
}

impl std::error::Error for ChoiceError {}

impl FromStr for AuthenticatorChoice {
    type Err = ChoiceError;

    fn from_str(spec: &str) -> Result<Self, ChoiceError> {
        let (kind, arg) = spec.split_once(':').unwrap_or((spec, ""));
        let err = |problem| ChoiceError {
            value: spec.to_string(),
            problem,
        };
        let index = || -> Result<Option<usize>, ChoiceError> {
            match (arg.is_empty(), spec.contains(':')) {
                (true, false) => Ok(None),
                _ => arg
                    .parse::<usize>()
                    .map(Some)
                    .map_err(|_| err(ChoiceProblem::BadIndex)),
            }
        };
        let key = |transport| -> Result<Self, ChoiceError> {
            Ok(AuthenticatorChoice::Key(KeyChoice {
                transport,
                index: index()?,
            }))
        };
        match kind {
            "auto" | "key" => key(None),
            "usb" => key(Some(Transport::Usb)),
            "nfc" => key(Some(Transport::Nfc)),
            "platform" | "phone" | "link" if arg.is_empty() => Ok(AuthenticatorChoice::Platform),
            "soft" => Ok(AuthenticatorChoice::Soft(
                (!arg.is_empty()).then(|| PathBuf::from(arg)),
            )),
            "software" if arg.is_empty() => Ok(AuthenticatorChoice::Software),
            "practice" if arg.is_empty() => Ok(AuthenticatorChoice::Practice),
            _ => Err(err(ChoiceProblem::UnknownKind)),
        }
    }
}

impl std::fmt::Display for AuthenticatorChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthenticatorChoice::Key(KeyChoice { transport, index }) => {
                f.write_str(transport.map(Transport::name).unwrap_or("key"))?;
                match index {
                    Some(i) => write!(f, ":{i}"),
                    None => Ok(()),
                }
            }
            AuthenticatorChoice::Platform => f.write_str("platform"),
            AuthenticatorChoice::Soft(None) => f.write_str("soft"),
            AuthenticatorChoice::Soft(Some(path)) => write!(f, "soft:{}", path.display()),
            AuthenticatorChoice::Software => f.write_str("software"),
            AuthenticatorChoice::Practice => f.write_str("practice"),
        }
    }
}

/// The one "no security key" error: insert one (the access problems found on this machine, such
/// as missing udev permissions or pcscd not running, are named).
pub fn no_key() -> AuthenticatorError {
    AuthenticatorError::NotFound(discovery::no_key_hint())
}

/// The attached security keys (opened without asking for anything), those of `transport` only
/// when given.
///
/// # Errors
/// When no transport can be opened at all.
pub async fn attached(
    transport: Option<Transport>,
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
) -> Result<Vec<Key>, AuthenticatorError> {
    let mut devices = discovery::open_all(prompt, cancel).await?;
    if let Some(t) = transport {
        devices.retain(|d| passkeys_ctap::device::transport_name(d.transport()) == t.name());
    }
    Ok(devices)
}

/// The one "the practice key is not here" error: not in this environment (a real instance), or
/// pulled out.
pub fn no_practice_key(in_environment: bool) -> AuthenticatorError {
    AuthenticatorError::NotFound(if in_environment {
        "the practice security key is removed; insert it again (\"Insert the key\")".into()
    } else {
        "the practice security key (simulated) exists only in the demo, against the built-in sandbox; use a real security key here".into()
    })
}

/// Opens the practice key for one operation, as [`open_key`] opens an attached one.
///
/// # Errors
/// [`no_practice_key`] when it is pulled out; getInfo failures.
#[cfg(feature = "practice")]
pub async fn open_practice(
    key: &passkeys_ctap::practice::PracticeKey,
    prompt: Arc<dyn Prompt>,
    cancel: &CancellationToken,
) -> Result<Key, AuthenticatorError> {
    if !key.is_plugged() {
        return Err(no_practice_key(true));
    }
    Device::open(
        passkeys_ctap::KeyToken::Practice(key.token()),
        prompt,
        cancel.clone(),
    )
    .await
}

/// The practice key as the enrollment flow's authenticator. ES256 only: its firmware picks
/// EdDSA whenever the server offers it, and the sandbox (the only issuer it may be used with)
/// verifies with webauthn-rs 0.6, which cannot verify EdDSA.
pub fn practice_authenticator(
    device: Key,
    discoverable: passkeys_ctap::Discoverable,
) -> passkeys_ctap::SecurityKey<KeyToken> {
    passkeys_ctap::SecurityKey::new(device, discoverable).only_algorithms(vec![-7])
}

/// Opens the security key `choice` for one operation, with `prompt` for what it asks and
/// `cancel` to stop it on the key. With several keys attached and no index, `on_several` is
/// called (the shell tells the person to touch one) and the first key touched within
/// [`SELECT_TIMEOUT`] is used.
///
/// # Errors
/// [`no_key`] when no (matching) key is attached or the index is out of range; selection
/// failures (keys before CTAP 2.1 among several, no touch, Cancel).
pub async fn open_key(
    choice: KeyChoice,
    prompt: Arc<dyn Prompt>,
    cancel: &CancellationToken,
    on_several: &(dyn Fn() + Send + Sync),
) -> Result<Key, AuthenticatorError> {
    let mut devices = attached(choice.transport, prompt, cancel.clone()).await?;
    match choice.index {
        Some(i) if i < devices.len() => Ok(devices.swap_remove(i)),
        Some(_) => Err(no_key()),
        None if devices.is_empty() => Err(no_key()),
        None => {
            if devices.len() > 1 {
                on_several();
            }
            discovery::select_by_touch(devices, cancel, SELECT_TIMEOUT).await
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_spelling_of_both_shells_parses_and_round_trips() {
        let key = |transport, index| AuthenticatorChoice::Key(KeyChoice { transport, index });
        let cases = [
            ("auto", key(None, None), "key"),
            ("key", key(None, None), "key"),
            ("key:2", key(None, Some(2)), "key:2"),
            ("usb", key(Some(Transport::Usb), None), "usb"),
            ("usb:1", key(Some(Transport::Usb), Some(1)), "usb:1"),
            ("nfc", key(Some(Transport::Nfc), None), "nfc"),
            ("nfc:0", key(Some(Transport::Nfc), Some(0)), "nfc:0"),
            ("platform", AuthenticatorChoice::Platform, "platform"),
            ("phone", AuthenticatorChoice::Platform, "platform"),
            ("link", AuthenticatorChoice::Platform, "platform"),
            ("soft", AuthenticatorChoice::Soft(None), "soft"),
            (
                "soft:/tmp/x",
                AuthenticatorChoice::Soft(Some(PathBuf::from("/tmp/x"))),
                "soft:/tmp/x",
            ),
            ("software", AuthenticatorChoice::Software, "software"),
            ("practice", AuthenticatorChoice::Practice, "practice"),
        ];
        for (spelling, choice, canonical) in cases {
            let parsed: AuthenticatorChoice = spelling.parse().unwrap();
            assert_eq!(parsed, choice, "{spelling}");
            assert_eq!(parsed.to_string(), canonical, "{spelling}");
            assert_eq!(canonical.parse::<AuthenticatorChoice>().unwrap(), choice);
        }
        assert_eq!(AuthenticatorChoice::key(3).to_string(), "key:3");
    }

    #[test]
    fn bad_spellings_name_the_value_and_the_accepted_forms() {
        for (bad, problem) in [
            ("", ChoiceProblem::UnknownKind),
            ("bluetooth", ChoiceProblem::UnknownKind),
            ("key:", ChoiceProblem::BadIndex),
            ("key:x", ChoiceProblem::BadIndex),
            ("usb:one", ChoiceProblem::BadIndex),
            ("platform:1", ChoiceProblem::UnknownKind),
            ("practice:1", ChoiceProblem::UnknownKind),
        ] {
            let e = bad.parse::<AuthenticatorChoice>().unwrap_err();
            assert_eq!(e.problem, problem, "{bad}");
            let text = e.to_string();
            assert!(text.contains(&format!("{bad:?}")), "{text}");
            assert!(text.contains(ACCEPTED_FORMS), "{text}");
        }
        let e = "bluetooth".parse::<AuthenticatorChoice>().unwrap_err();
        assert!(e.to_string().starts_with("unknown authenticator"), "{e}");
    }
}
