//! The virtual key: Trussed's fido-authenticator 0.3.0 (an independent CTAP 2.1 firmware) on
//! trussed 0.2.1's in-process `virt` platform, behind webauthn-authenticator-rs's public
//! `Token` trait (recipe: shared/docs/virtual-ctap.md).
//!
//! One worker thread per device owns the authenticator (the trussed client borrows a channel
//! that only lives inside `run_client_with_backends`); the `Token` sends it raw CTAP2 requests
//! (command byte + CBOR) and gets back status byte + CBOR, exactly what a USB key's CTAPHID_CBOR
//! reply carries. Internal storage is a file in a temporary directory, so [`VirtKey::replug`]
//! can "unplug and re-insert" the key: runtime state (PIN mismatch counter, pinUvAuthToken) is
//! lost, persistent state (PIN, retries, discoverable credentials) is kept.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ctaphid_app::App as _;
use fido_authenticator::{Authenticator, Config, Conforming, TrussedRequirements, UserPresence};
use trussed::virt::{StorageConfig, StoreConfig};
use webauthn_authenticator_rs::error::{CtapError, WebauthnCError};
use webauthn_authenticator_rs::transport::Token;
use webauthn_authenticator_rs::ui::UiCallback;
use webauthn_rs_proto::AuthenticatorTransport;

type Job = (Vec<u8>, mpsc::Sender<Vec<u8>>);

/// A user who refuses every touch (makeCredential fails with 0x27 OPERATION_DENIED at once).
#[derive(Clone, Copy)]
pub struct Refuse;

impl UserPresence for Refuse {
    fn user_present<T: TrussedRequirements>(
        self,
        _: &mut T,
        _: u32,
    ) -> fido_authenticator::Result<()> {
        Err(fido_authenticator::Error::OperationDenied)
    }
}

/// How the virtual user answers touch requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Touch {
    /// Touches the key when asked.
    Approve,
    /// Refuses.
    Refuse,
}

/// A virtual security key. Clone it to get more handles to the same device.
#[derive(Clone)]
pub struct VirtKey {
    inner: Arc<Mutex<Worker>>,
    dir: Arc<tempfile::TempDir>,
}

struct Worker {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for VirtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VirtKey")
    }
}

/// Resident credential slots of the virtual key.
pub const SLOTS: u32 = 10;

impl VirtKey {
    /// A fresh device (its own storage) that approves touches.
    pub fn new() -> Self {
        Self::with_touch(Touch::Approve)
    }

    /// A fresh device with the given touch behaviour.
    pub fn with_touch(touch: Touch) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let key = Self {
            inner: Arc::new(Mutex::new(Worker {
                tx: None,
                thread: None,
            })),
            dir,
        };
        key.start(touch);
        key
    }

    fn storage(&self) -> PathBuf {
        self.dir.path().join("internal.bin")
    }

    fn start(&self, touch: Touch) {
        let (tx, rx) = mpsc::channel::<Job>();
        let path = self.storage();
        let thread = std::thread::spawn(move || {
            let store = StoreConfig {
                internal: StorageConfig::filesystem(path),
                external: StorageConfig::ram(),
                volatile: StorageConfig::ram(),
            };
            trussed::virt::with_platform(store, |platform| {
                platform.run_client_with_backends(
                    "fido",
                    trussed_staging::virt::Dispatcher::default(),
                    &[
                        trussed::backend::BackendId::Custom(
                            trussed_staging::virt::BackendIds::StagingBackend,
                        ),
                        trussed::backend::BackendId::Core,
                    ],
                    |client| match touch {
                        Touch::Approve => {
                            serve(Authenticator::new(client, Conforming {}, config()), &rx)
                        }
                        Touch::Refuse => serve(Authenticator::new(client, Refuse, config()), &rx),
                    },
                )
            });
        });
        let mut w = self.inner.lock().unwrap();
        w.tx = Some(tx);
        w.thread = Some(thread);
    }

    fn stop(&self) {
        let (tx, thread) = {
            let mut w = self.inner.lock().unwrap();
            (w.tx.take(), w.thread.take())
        };
        drop(tx);
        if let Some(t) = thread {
            t.join().unwrap();
        }
    }

    /// Unplugs and re-inserts the key (a power cycle).
    pub fn replug(&self) {
        self.stop();
        self.start(Touch::Approve);
    }

    /// Sends one raw CTAP2 request; returns status byte + CBOR.
    pub fn call(&self, request: &[u8]) -> Vec<u8> {
        let tx = self
            .inner
            .lock()
            .unwrap()
            .tx
            .clone()
            .expect("device unplugged");
        let (rtx, rrx) = mpsc::channel();
        tx.send((request.to_vec(), rtx)).unwrap();
        rrx.recv().unwrap()
    }

    /// A `Token` for this device.
    pub fn token(&self) -> VirtToken {
        VirtToken { key: self.clone() }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn config() -> Config {
    Config {
        max_msg_size: 7609,
        skip_up_timeout: None,
        max_resident_credential_count: Some(SLOTS),
        large_blobs: None,
        nfc_transport: false,
    }
}

fn serve<UP: UserPresence, T: TrussedRequirements>(
    mut auth: Authenticator<UP, T>,
    rx: &mpsc::Receiver<Job>,
) {
    while let Ok((request, reply)) = rx.recv() {
        let mut buf = heapless_bytes::Bytes::<7609>::new();
        let out = match auth.call(ctaphid_app::Command::Cbor, &request, buf.as_mut_view()) {
            Ok(()) => buf.to_vec(),
            Err(_) => vec![0x01], // CTAP1_ERR_INVALID_COMMAND
        };
        let _ = reply.send(out);
    }
}

/// The virtual key as a webauthn-authenticator-rs `Token`: what `USBToken` is for a real key.
#[derive(Debug, Clone)]
pub struct VirtToken {
    key: VirtKey,
}

#[async_trait]
impl Token for VirtToken {
    type Id = ();

    fn get_transport(&self) -> AuthenticatorTransport {
        AuthenticatorTransport::Usb
    }

    async fn transmit_raw<U: UiCallback>(
        &mut self,
        cbor: &[u8],
        _ui: &U,
    ) -> Result<Vec<u8>, WebauthnCError> {
        let key = self.key.clone();
        let request = cbor.to_vec();
        let reply = tokio::task::spawn_blocking(move || key.call(&request))
            .await
            .map_err(|_| WebauthnCError::Internal)?;
        match reply.split_first() {
            Some((0, rest)) => Ok(rest.to_vec()),
            Some((status, _)) => Err(WebauthnCError::Ctap(CtapError::from(*status))),
            None => Err(WebauthnCError::MessageTooShort),
        }
    }

    async fn cancel(&mut self) -> Result<(), WebauthnCError> {
        Ok(())
    }

    async fn init(&mut self) -> Result<(), WebauthnCError> {
        Ok(())
    }

    async fn close(&mut self) -> Result<(), WebauthnCError> {
        Ok(())
    }
}
