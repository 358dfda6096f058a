//! Where an operation runs: the real machine or the demo. Built once per instance and handed to
//! every command, so commands never ask "is this the demo?".
//!
//! An [`Environment`] holds the browser for sign-in and sign-out, the link opener for
//! registration links (the system browser, or the demo's simulated phone), where the inventory
//! lives, and an [`AuthenticatorSource`] that lists and opens authenticators: [`SecurityKeys`]
//! (USB/NFC through the CTAP engine, `soft:PATH` files) for a real instance, [`DemoShelf`] (the
//! demo's software authenticators, kept for the session) for the demo.
//!
//! This is also the seam later work plugs into (a practice security key is another
//! [`AuthenticatorSource`]; another API generation another link opener).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use passkeys_core::authenticator::{
    Authenticator, AuthenticatorError, AuthenticatorInfo, AuthenticatorKind, SoftAuthenticator,
};
use passkeys_core::browser::{Browser, FnBrowser, SystemBrowser};
use passkeys_core::enroll::EnrollOptions;
use passkeys_core::inventory::{Inventory, FILE_NAME};
use passkeys_core::link_enroll::PLATFORM_EXPLANATION;
use passkeys_core::prompt::Prompt;
use passkeys_core::zitadel::ZitadelClient;
use passkeys_core::{Error, Result};
use passkeys_ctap::{CancellationToken, Discoverable, SecurityKey};
use tokio::sync::Mutex;

use crate::choose::{self, AuthenticatorChoice, Key, KeyChoice};

/// A software authenticator shared between the operations of a session.
pub type SharedAuthenticator = Arc<Mutex<Box<dyn Authenticator>>>;

/// What opening an authenticator for one operation needs from the shell.
pub struct Opening<'a> {
    /// What the authenticator asks of the person (PIN, touch).
    pub prompt: Arc<dyn Prompt>,
    /// Stops the operation on the key.
    pub cancel: CancellationToken,
    /// Called when several keys are attached and one is chosen by touch.
    pub on_several: &'a (dyn Fn() + Send + Sync),
    /// Whether the passkey is stored on a security key.
    pub discoverable: Discoverable,
}

/// The authenticators a locate or test asks.
pub enum Candidates {
    /// Attached security keys.
    Keys(Vec<Key>),
    /// Software authenticators (with their file, when they have one).
    Software(Vec<(Option<PathBuf>, SharedAuthenticator)>),
}

/// Why a passkey cannot be reached here (the shells word it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// A passkey of this computer or a phone: it lives in a browser's or the system's keychain.
    Platform,
    /// A passkey on a software authenticator this environment cannot reach (give its file).
    Software,
    /// A passkey on a security key, while this environment only reaches software
    /// authenticators.
    SecurityKey,
}

/// An authenticator offered besides attached security keys.
#[derive(Debug, Clone)]
pub struct Offered {
    /// How to choose it.
    pub choice: AuthenticatorChoice,
    /// What it is.
    pub info: AuthenticatorInfo,
}

/// Lists and opens authenticators.
#[async_trait]
pub trait AuthenticatorSource: Send + Sync {
    /// The authenticators offered besides attached security keys (always the platform one).
    fn offered(&self) -> Result<Vec<Offered>>;

    /// The attached security keys, opened without prompting (each call opens them afresh).
    ///
    /// # Errors
    /// When no transport can be opened.
    async fn list_keys(&self) -> std::result::Result<Vec<Key>, AuthenticatorError> {
        choose::attached(
            None,
            Arc::new(passkeys_core::prompt::NoPrompt),
            CancellationToken::new(),
        )
        .await
    }

    /// What `choice` is (for a default name), without prompting.
    async fn describe(&self, choice: &AuthenticatorChoice) -> Result<AuthenticatorInfo>;

    /// Opens `choice` for one enrollment.
    async fn open(
        &self,
        choice: &AuthenticatorChoice,
        opening: Opening<'_>,
    ) -> Result<Box<dyn Authenticator>>;

    /// Whether a passkey made on `kind` can be reached here through `choice`.
    fn reach(
        &self,
        choice: &AuthenticatorChoice,
        kind: AuthenticatorKind,
    ) -> std::result::Result<(), Unreachable>;

    /// The authenticators to ask when looking for a passkey through `choice`.
    async fn candidates(
        &self,
        choice: &AuthenticatorChoice,
        prompt: Arc<dyn Prompt>,
        cancel: CancellationToken,
    ) -> Result<Candidates>;

    /// The environment's practice security key (the demo's), if it has one.
    #[cfg(feature = "practice")]
    fn practice(&self) -> Option<passkeys_ctap::practice::PracticeKey> {
        None
    }

    /// Keeps a software authenticator a passkey was just enrolled on (the demo's shelf);
    /// by default it is dropped.
    async fn keep(&self, authenticator: Box<dyn Authenticator>) {
        drop(authenticator);
    }
}

/// The platform authenticator's description (a registration link in the browser).
pub fn platform_info() -> AuthenticatorInfo {
    AuthenticatorInfo {
        kind: AuthenticatorKind::Platform,
        model: "This computer or phone".into(),
        aaguid: None,
        hardware: true,
        notice: Some(PLATFORM_EXPLANATION.into()),
    }
}

fn platform_offer() -> Offered {
    Offered {
        choice: AuthenticatorChoice::Platform,
        info: platform_info(),
    }
}

fn not_available(choice: &AuthenticatorChoice) -> Error {
    Error::Authenticator(AuthenticatorError::NotFound(format!(
        "the authenticator {:?} is not available here",
        choice.to_string()
    )))
}

/// The default file of `soft` without a path: in the per-user state directory.
///
/// # Errors
/// No state directory.
pub fn soft_path(path: Option<&Path>) -> Result<PathBuf> {
    match path {
        Some(p) => Ok(p.to_path_buf()),
        None => Ok(passkeys_core::tokens::state_dir()?.join("soft-authenticator.cbor")),
    }
}

/// The real machine's authenticators: security keys over USB and NFC (the CTAP engine), and
/// software authenticators in files (`soft:PATH`).
#[derive(Debug, Default, Clone, Copy)]
pub struct SecurityKeys;

#[async_trait]
impl AuthenticatorSource for SecurityKeys {
    fn offered(&self) -> Result<Vec<Offered>> {
        Ok(vec![platform_offer()])
    }

    async fn describe(&self, choice: &AuthenticatorChoice) -> Result<AuthenticatorInfo> {
        match choice {
            AuthenticatorChoice::Platform => Ok(platform_info()),
            AuthenticatorChoice::Key(k) => {
                let devices = choose::attached(
                    k.transport,
                    Arc::new(passkeys_core::prompt::NoPrompt),
                    CancellationToken::new(),
                )
                .await?;
                match (k.index, devices.len()) {
                    (Some(i), n) if i < n => Ok(passkeys_ctap::key::describe(&devices[i])),
                    (None, 1) => Ok(passkeys_ctap::key::describe(&devices[0])),
                    (None, n) if n > 1 => Ok(AuthenticatorInfo {
                        kind: AuthenticatorKind::Usb,
                        model: "Security key".into(),
                        aaguid: None,
                        hardware: true,
                        notice: None,
                    }),
                    _ => Err(choose::no_key().into()),
                }
            }
            AuthenticatorChoice::Soft(path) => {
                Ok(SoftAuthenticator::open_or_create(&soft_path(path.as_deref())?)?.info())
            }
            AuthenticatorChoice::Software => Err(not_available(choice)),
            AuthenticatorChoice::Practice => Err(choose::no_practice_key(false).into()),
        }
    }

    async fn open(
        &self,
        choice: &AuthenticatorChoice,
        opening: Opening<'_>,
    ) -> Result<Box<dyn Authenticator>> {
        match choice {
            AuthenticatorChoice::Key(k) => {
                let device =
                    choose::open_key(*k, opening.prompt, &opening.cancel, opening.on_several)
                        .await?;
                Ok(Box::new(SecurityKey::new(device, opening.discoverable)))
            }
            AuthenticatorChoice::Soft(path) => Ok(Box::new(SoftAuthenticator::open_or_create(
                &soft_path(path.as_deref())?,
            )?)),
            AuthenticatorChoice::Platform => Err(Error::Config(
                "the platform authenticator is used through a registration link".into(),
            )),
            AuthenticatorChoice::Software => Err(not_available(choice)),
            AuthenticatorChoice::Practice => Err(choose::no_practice_key(false).into()),
        }
    }

    fn reach(
        &self,
        choice: &AuthenticatorChoice,
        kind: AuthenticatorKind,
    ) -> std::result::Result<(), Unreachable> {
        match (choice, kind) {
            (AuthenticatorChoice::Platform, _) | (_, AuthenticatorKind::Platform) => {
                Err(Unreachable::Platform)
            }
            (AuthenticatorChoice::Soft(_), _) => Ok(()),
            (_, AuthenticatorKind::Software) => Err(Unreachable::Software),
            _ => Ok(()),
        }
    }

    async fn candidates(
        &self,
        choice: &AuthenticatorChoice,
        prompt: Arc<dyn Prompt>,
        cancel: CancellationToken,
    ) -> Result<Candidates> {
        match choice {
            AuthenticatorChoice::Soft(path) => {
                let path = soft_path(path.as_deref())?;
                if !path.exists() {
                    return Err(Error::Authenticator(AuthenticatorError::NotFound(format!(
                        "there is no software authenticator at {}",
                        path.display()
                    ))));
                }
                let soft: Box<dyn Authenticator> =
                    Box::new(SoftAuthenticator::open_or_create(&path)?);
                Ok(Candidates::Software(vec![(
                    Some(path),
                    Arc::new(Mutex::new(soft)),
                )]))
            }
            AuthenticatorChoice::Key(KeyChoice { transport, index }) => {
                let mut devices = choose::attached(*transport, prompt, cancel).await?;
                if let Some(i) = index {
                    devices = if *i < devices.len() {
                        vec![devices.swap_remove(*i)]
                    } else {
                        Vec::new()
                    };
                }
                Ok(Candidates::Keys(devices))
            }
            AuthenticatorChoice::Platform
            | AuthenticatorChoice::Software
            | AuthenticatorChoice::Practice => Ok(Candidates::Keys(Vec::new())),
        }
    }
}

/// The demo's authenticators: a fresh software authenticator for each enrollment (so a backup
/// passkey lands on a different "device"), kept for the session, and those kept ones stand in
/// for "the attached keys" when a passkey is located or tested. Attached security keys are
/// still listed and can be enrolled (through [`SecurityKeys`]).
///
/// With the `practice` feature the shelf also holds the practice security key
/// (`practice`: Trussed's CTAP 2.1 firmware in-process, opened through the engine like a USB
/// key), plugged in, touches approved at once until the shell says otherwise
/// ([`passkeys_ctap::practice::PracticeKey::set_touch`]). Its PIN and passkeys last as long as
/// the shelf.
pub struct DemoShelf {
    kept: Mutex<Vec<SharedAuthenticator>>,
    #[cfg(feature = "practice")]
    practice: passkeys_ctap::practice::PracticeKey,
}

impl Default for DemoShelf {
    fn default() -> Self {
        Self::new()
    }
}

impl DemoShelf {
    /// An empty shelf (and a fresh practice key).
    pub fn new() -> Self {
        Self {
            kept: Mutex::default(),
            #[cfg(feature = "practice")]
            practice: passkeys_ctap::practice::PracticeKey::new(),
        }
    }

    /// Opens the practice key, or says it is not here.
    async fn open_practice(
        &self,
        prompt: Arc<dyn Prompt>,
        cancel: &CancellationToken,
    ) -> std::result::Result<Key, AuthenticatorError> {
        #[cfg(feature = "practice")]
        {
            choose::open_practice(&self.practice, prompt, cancel).await
        }
        #[cfg(not(feature = "practice"))]
        {
            let _ = (prompt, cancel);
            Err(choose::no_practice_key(false))
        }
    }
}

#[async_trait]
impl AuthenticatorSource for DemoShelf {
    fn offered(&self) -> Result<Vec<Offered>> {
        Ok(vec![
            platform_offer(),
            Offered {
                choice: AuthenticatorChoice::Software,
                info: SoftAuthenticator::ephemeral()?.info(),
            },
        ])
    }

    async fn describe(&self, choice: &AuthenticatorChoice) -> Result<AuthenticatorInfo> {
        match choice {
            AuthenticatorChoice::Software => Ok(SoftAuthenticator::ephemeral()?.info()),
            AuthenticatorChoice::Soft(_) => Err(not_available(choice)),
            AuthenticatorChoice::Practice => {
                let device = self
                    .open_practice(
                        Arc::new(passkeys_core::prompt::NoPrompt),
                        &CancellationToken::new(),
                    )
                    .await?;
                Ok(passkeys_ctap::key::describe(&device))
            }
            other => SecurityKeys.describe(other).await,
        }
    }

    async fn open(
        &self,
        choice: &AuthenticatorChoice,
        opening: Opening<'_>,
    ) -> Result<Box<dyn Authenticator>> {
        match choice {
            AuthenticatorChoice::Software => Ok(Box::new(SoftAuthenticator::ephemeral()?)),
            AuthenticatorChoice::Soft(_) => Err(not_available(choice)),
            AuthenticatorChoice::Practice => {
                let device = self.open_practice(opening.prompt, &opening.cancel).await?;
                Ok(Box::new(choose::practice_authenticator(
                    device,
                    opening.discoverable,
                )))
            }
            other => SecurityKeys.open(other, opening).await,
        }
    }

    fn reach(
        &self,
        choice: &AuthenticatorChoice,
        kind: AuthenticatorKind,
    ) -> std::result::Result<(), Unreachable> {
        match kind {
            AuthenticatorKind::Software => Ok(()),
            AuthenticatorKind::Usb if *choice == AuthenticatorChoice::Practice => Ok(()),
            AuthenticatorKind::Platform => Err(Unreachable::Platform),
            AuthenticatorKind::Usb | AuthenticatorKind::Nfc => Err(Unreachable::SecurityKey),
        }
    }

    async fn candidates(
        &self,
        choice: &AuthenticatorChoice,
        prompt: Arc<dyn Prompt>,
        cancel: CancellationToken,
    ) -> Result<Candidates> {
        if *choice == AuthenticatorChoice::Practice {
            return Ok(Candidates::Keys(vec![
                self.open_practice(prompt, &cancel).await?,
            ]));
        }
        let kept = self.kept.lock().await;
        Ok(Candidates::Software(
            kept.iter().map(|a| (None, a.clone())).collect(),
        ))
    }

    #[cfg(feature = "practice")]
    fn practice(&self) -> Option<passkeys_ctap::practice::PracticeKey> {
        Some(self.practice.clone())
    }

    async fn keep(&self, authenticator: Box<dyn Authenticator>) {
        if !authenticator.info().hardware {
            self.kept
                .lock()
                .await
                .push(Arc::new(Mutex::new(authenticator)));
        }
    }
}

/// Opens registration links: the system browser, or the demo's simulated phone (which needs the
/// signed-in API client to register its passkey).
pub trait LinkOpener: Send + Sync {
    /// The "browser" that opens a registration link of `api`'s user.
    fn browser(&self, api: &ZitadelClient) -> Arc<dyn Browser>;
}

/// Registration links in the system browser.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLinks;

impl LinkOpener for SystemLinks {
    fn browser(&self, _api: &ZitadelClient) -> Arc<dyn Browser> {
        Arc::new(SystemBrowser)
    }
}

/// The demo's stand-in for the person's browser and phone on a registration link: a software
/// authenticator registers a passkey named "Phone (demo)", as the phone would after scanning
/// the link, while the app polls the list.
#[derive(Debug, Default, Clone, Copy)]
pub struct DemoPhone;

impl LinkOpener for DemoPhone {
    fn browser(&self, api: &ZitadelClient) -> Arc<dyn Browser> {
        let api = api.clone();
        Arc::new(FnBrowser::new(move |_link: String| {
            let api = api.clone();
            async move {
                let added = match SoftAuthenticator::ephemeral() {
                    Ok(mut phone) => passkeys_core::enroll::add_passkey(
                        &api,
                        &mut phone,
                        Some("Phone (demo)"),
                        &|_: &_| {},
                    )
                    .await
                    .map(|_| ()),
                    Err(e) => Err(e.into()),
                };
                if let Err(e) = added {
                    tracing::error!("the demo phone could not register a passkey: {e}");
                }
            }
        }))
    }
}

/// Where the inventory of enrolled passkeys lives.
#[derive(Debug, Clone)]
pub enum InventoryLocation {
    /// The per-user data directory (`inventory::default_path`).
    Default,
    /// A file of its own (the demo's temporary one).
    At(PathBuf),
}

impl InventoryLocation {
    /// Loads the inventory (missing or corrupt: empty, never an error).
    pub fn open(&self) -> Inventory {
        match self {
            InventoryLocation::Default => Inventory::open_default(),
            InventoryLocation::At(path) => Inventory::load(path),
        }
    }

    /// The file, when one can be found.
    pub fn path(&self) -> Option<PathBuf> {
        match self {
            InventoryLocation::Default => passkeys_core::inventory::default_path().ok(),
            InventoryLocation::At(path) => Some(path.clone()),
        }
    }
}

/// How the browser is used at sign-out (RP-initiated logout).
#[derive(Clone)]
pub struct SignOutBrowser {
    /// The browser.
    pub browser: Arc<dyn Browser>,
    /// How long to wait for it to come back from the issuer's logout page.
    pub wait: Duration,
}

/// Everything an operation needs from where it runs. See the module docs.
#[derive(Clone)]
pub struct Environment {
    /// Opens the sign-in page (the system browser; the demo signs its user in by script).
    pub sign_in_browser: Arc<dyn Browser>,
    /// Ends the browser's session at sign-out (`None`: no browser session to end).
    pub sign_out_browser: Option<SignOutBrowser>,
    /// Opens registration links.
    pub link_opener: Arc<dyn LinkOpener>,
    /// The inventory of enrolled passkeys.
    pub inventory: InventoryLocation,
    /// Lists and opens authenticators.
    pub authenticators: Arc<dyn AuthenticatorSource>,
    /// Where the passkey API chosen per instance is remembered
    /// ([`passkeys_core::passkey_api`]; `None`: only while the client lives). Real: the state
    /// directory; the demo: its temporary folder.
    pub api_memory: Option<PathBuf>,
    /// Keeps the demo's temporary folder while the environment lives.
    _temporary: Option<Arc<crate::demo_folder::DemoFolder>>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("inventory", &self.inventory)
            .finish_non_exhaustive()
    }
}

impl Environment {
    /// A real instance: the system browser, security keys, the inventory in the data directory.
    /// `sign_out_wait`: how long sign-out waits for the browser to come back.
    pub fn real(sign_out_wait: Duration) -> Self {
        Self {
            sign_in_browser: Arc::new(SystemBrowser),
            sign_out_browser: Some(SignOutBrowser {
                browser: Arc::new(SystemBrowser),
                wait: sign_out_wait,
            }),
            link_opener: Arc::new(SystemLinks),
            inventory: InventoryLocation::Default,
            authenticators: Arc::new(SecurityKeys),
            api_memory: passkeys_core::passkey_api::default_memory_path(),
            _temporary: None,
        }
    }

    /// The demo against the sandbox: its demo user signed in by script (no browser session to
    /// end), a simulated phone for registration links, an inventory in a temporary folder
    /// (removed with the environment, or by the next demo if this process is killed:
    /// [`crate::demo_folder`]; nothing is written to the person's own records) and the
    /// [`DemoShelf`] of software authenticators.
    ///
    /// # Errors
    /// When the temporary folder cannot be created.
    pub fn demo() -> Result<Self> {
        let dir = crate::demo_folder::DemoFolder::create().map_err(|e| {
            Error::Config(format!(
                "the demo could not create its temporary folder: {e}"
            ))
        })?;
        Ok(Self {
            sign_in_browser: Arc::new(sandbox_browser()),
            sign_out_browser: None,
            link_opener: Arc::new(DemoPhone),
            inventory: InventoryLocation::At(dir.path().join(FILE_NAME)),
            authenticators: Arc::new(DemoShelf::new()),
            api_memory: Some(passkeys_core::passkey_api::memory_path(dir.path())),
            _temporary: Some(Arc::new(dir)),
        })
    }

    /// `api` remembering its passkey API choice where this environment keeps it
    /// ([`Environment::api_memory`]).
    pub fn remembering(&self, api: ZitadelClient) -> ZitadelClient {
        api.with_memory(self.api_memory.clone())
    }

    /// Enrollment options in this environment: self-test on, the new passkey recorded in this
    /// environment's inventory.
    pub fn enroll_options(&self) -> EnrollOptions {
        EnrollOptions {
            self_test: true,
            inventory: self.inventory.path(),
        }
    }
}

/// A "browser" that signs the sandbox's demo user in over HTTP, as a person would on the
/// sandbox's sign-in page.
pub fn sandbox_browser() -> FnBrowser {
    FnBrowser::new(|url: String| async move {
        if let Err(e) = passkeys_sandbox::browser::complete_login(
            &url,
            passkeys_sandbox::DEMO_USERNAME,
            passkeys_sandbox::DEMO_PASSWORD,
        )
        .await
        {
            tracing::error!("the scripted sign-in failed: {e}");
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_remembers_the_passkey_api_in_its_temporary_folder() {
        let env = Environment::demo().unwrap();
        let dir = env._temporary.as_ref().unwrap().path().to_path_buf();
        let memory = env.api_memory.clone().unwrap();
        assert!(memory.starts_with(&dir), "{}", memory.display());
        assert_ne!(
            Some(memory),
            passkeys_core::passkey_api::default_memory_path(),
            "the demo must not write into the person's state directory"
        );
        assert_eq!(
            Environment::real(Duration::from_secs(1)).api_memory,
            passkeys_core::passkey_api::default_memory_path()
        );
    }
}
