//! The practice security key: Trussed's fido-authenticator 0.4.0-rc.4 (an independent CTAP 2.1
//! firmware with credential management and authenticatorConfig; a release candidate, pinned) on trussed 0.2.1's in-process `virt` platform, behind webauthn-authenticator-rs's
//! public `Token` trait, so it goes through the same [`crate::Device`] code as a USB or NFC key
//! (recipe: shared/docs/virtual-ctap.md). The engine's tests use it as "the virtual key"; the
//! demo offers it as "Practice security key (simulated)".
//!
//! One worker thread per plugged-in key owns the authenticator (the trussed client borrows a
//! channel that only lives inside `run_client_with_backends`); the [`PracticeToken`] sends it
//! raw CTAP2 requests (command byte + CBOR) and gets back status byte + CBOR, exactly what a
//! USB key's CTAPHID_CBOR reply carries.
//!
//! - **Storage** is a 64 KiB littlefs image in memory, shared between plug-ins of the same key:
//!   [`PracticeKey::unplug`] / [`PracticeKey::plug_in`] (or [`PracticeKey::replug`]) lose the
//!   runtime state (PIN mismatch counter, pinUvAuthToken) and keep the persistent state (PIN,
//!   retries, discoverable credentials), like a real key's power cycle. A re-inserted key
//!   accepts authenticatorReset for 10 s. Nothing is written to disk; the state goes with the
//!   last handle of the key.
//! - **Touch** ([`Touch`]): approved at once (tests), refused at once, or waited for from the
//!   person ([`Touch::Person`]): the key then waits (up to the firmware's CTAP timeout, 30 s)
//!   for [`PracticeKey::touch`], reports "waiting for a touch" through
//!   [`PracticeKey::status`], and the token turns that into the transport's keepalive touch
//!   prompt (`UiCallback::request_touch`), as a USB key's keepalive UP_NEEDED does.
//! - **Unplugging mid-command** fails the pending command as a vanished USB device does (an
//!   I/O error, which the engine reports as `Disconnected`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ctaphid_app::App as _;
use fido_authenticator::{Authenticator, Config, TrussedRequirements, UserPresence};
use trussed::virt::{StorageConfig, StoreConfig};
use webauthn_authenticator_rs::error::{CtapError, WebauthnCError};
use webauthn_authenticator_rs::transport::Token;
use webauthn_authenticator_rs::ui::UiCallback;
use webauthn_rs_proto::AuthenticatorTransport;

pub use crate::aaguid::{PRACTICE_AAGUID as AAGUID, PRACTICE_NAME as NAME};

/// Resident credential slots of the practice key.
pub const SLOTS: u32 = 10;

/// How the key's touch sensor is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Touch {
    /// Touched at once whenever the key asks (tests, non-interactive runs).
    Approve,
    /// Refused at once (makeCredential fails with 0x27 OPERATION_DENIED).
    Refuse,
    /// The key waits for [`PracticeKey::touch`] (the person's "Touch the key" button).
    Person,
}

/// What the key is doing, for the shells (the app's "Touch the key" button).
///
/// Two statuses are equal when the key is in the same state (`changes` aside).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PracticeStatus {
    /// The key is plugged in.
    pub plugged: bool,
    /// The key waits for a touch.
    pub waiting_for_touch: bool,
    /// How many times the status has changed since the key was made. Statuses reach a shell
    /// by more than one road (a command's answer, a watch): draw one only when its `changes` is
    /// not below the one drawn, so a late answer never paints over a newer state.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub changes: u64,
}

impl PartialEq for PracticeStatus {
    fn eq(&self, other: &Self) -> bool {
        self.plugged == other.plugged && self.waiting_for_touch == other.waiting_for_touch
    }
}

impl Eq for PracticeStatus {}

type Job = (Vec<u8>, tokio::sync::oneshot::Sender<Vec<u8>>);

/// The touch sensor and the plug, shared by the key's handles and its firmware thread.
struct Sensor {
    state: Mutex<SensorState>,
    wake: Condvar,
    status: tokio::sync::watch::Sender<PracticeStatus>,
}

struct SensorState {
    touch: Touch,
    touched: bool,
    waiting: bool,
    /// How many times the key has started waiting for a touch (a wait that began and ended
    /// between two looks at the status still counts).
    waits: u64,
    plugged: bool,
    cancelled: bool,
}

impl Sensor {
    fn publish(&self, s: &SensorState) {
        self.status.send_modify(|status| {
            *status = PracticeStatus {
                plugged: s.plugged,
                waiting_for_touch: s.waiting,
                changes: status.changes + 1,
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SensorState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The firmware asks for user presence.
    fn wait_for_touch(&self, timeout: Duration) -> fido_authenticator::Result<()> {
        let mut s = self.lock();
        match s.touch {
            Touch::Approve => return Ok(()),
            Touch::Refuse => return Err(fido_authenticator::Error::OperationDenied),
            Touch::Person => {}
        }
        s.touched = false;
        s.cancelled = false;
        s.waiting = true;
        s.waits += 1;
        self.publish(&s);
        let deadline = Instant::now() + timeout;
        let result = loop {
            if !s.plugged {
                break Err(fido_authenticator::Error::OperationDenied);
            }
            if s.cancelled {
                break Err(fido_authenticator::Error::KeepaliveCancel);
            }
            if s.touched {
                break Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                break Err(fido_authenticator::Error::UserActionTimeout);
            }
            s = self
                .wake
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        };
        s.waiting = false;
        s.touched = false;
        s.cancelled = false;
        self.publish(&s);
        result
    }
}

/// The firmware's `UserPresence` must be `Copy`: it names its sensor by number.
static SENSORS: Mutex<BTreeMap<u64, Weak<Sensor>>> = Mutex::new(BTreeMap::new());
static NEXT_SENSOR: AtomicU64 = AtomicU64::new(1);

#[derive(Clone, Copy)]
struct SimulatedPresence(u64);

impl UserPresence for SimulatedPresence {
    fn user_present<T: TrussedRequirements>(
        self,
        _: &mut T,
        timeout_milliseconds: u32,
    ) -> fido_authenticator::Result<()> {
        let sensor = SENSORS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&self.0)
            .and_then(Weak::upgrade);
        match sensor {
            Some(s) => s.wait_for_touch(Duration::from_millis(timeout_milliseconds.into())),
            None => Err(fido_authenticator::Error::OperationDenied),
        }
    }
}

/// The key's flash: a littlefs image in memory that survives re-plugging.
#[derive(Clone)]
struct Flash(Arc<Mutex<Vec<u8>>>);

const BLOCK_SIZE: usize = 512;
const BLOCK_COUNT: usize = 128;
const FLASH_SIZE: usize = BLOCK_SIZE * BLOCK_COUNT;

impl Flash {
    fn bytes(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl littlefs2::driver::Storage for Flash {
    const READ_SIZE: usize = 16;
    const WRITE_SIZE: usize = 16;
    const BLOCK_SIZE: usize = BLOCK_SIZE;
    const BLOCK_COUNT: usize = BLOCK_COUNT;
    const BLOCK_CYCLES: isize = -1;
    type CACHE_SIZE = generic_array::typenum::U512;
    type LOOKAHEAD_SIZE = generic_array::typenum::U8;

    fn read(&mut self, offset: usize, buffer: &mut [u8]) -> littlefs2::io::Result<usize> {
        let bytes = self.bytes();
        let src = bytes
            .get(offset..offset + buffer.len())
            .ok_or(littlefs2::io::Error::IO)?;
        buffer.copy_from_slice(src);
        Ok(buffer.len())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> littlefs2::io::Result<usize> {
        let mut bytes = self.bytes();
        let dst = bytes
            .get_mut(offset..offset + data.len())
            .ok_or(littlefs2::io::Error::NO_SPACE)?;
        dst.copy_from_slice(data);
        Ok(data.len())
    }

    fn erase(&mut self, offset: usize, len: usize) -> littlefs2::io::Result<usize> {
        let mut bytes = self.bytes();
        let dst = bytes
            .get_mut(offset..offset + len)
            .ok_or(littlefs2::io::Error::NO_SPACE)?;
        dst.fill(0xFF);
        Ok(len)
    }
}

struct Worker {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Counts plug-ins: a reply from an earlier plug-in is a vanished device's.
    generation: u64,
    formatted: bool,
}

struct Shared {
    worker: Mutex<Worker>,
    flash: Flash,
    sensor: Arc<Sensor>,
    sensor_id: u64,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let w = self
            .worker
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        w.tx.take();
        {
            let mut s = self.sensor.lock();
            s.plugged = false;
        }
        self.sensor.wake.notify_all();
        if let Some(t) = w.thread.take() {
            let _ = t.join();
        }
        SENSORS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.sensor_id);
    }
}

/// A practice (simulated) security key. Clone it for more handles to the same key; its state
/// goes with the last handle.
#[derive(Clone)]
pub struct PracticeKey {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PracticeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PracticeKey")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Default for PracticeKey {
    fn default() -> Self {
        Self::new()
    }
}

impl PracticeKey {
    /// A fresh key (no PIN, no passkeys), plugged in, whose touches are approved at once.
    pub fn new() -> Self {
        Self::with_touch(Touch::Approve)
    }

    /// A fresh key, plugged in, with the given touch behaviour.
    pub fn with_touch(touch: Touch) -> Self {
        let (status, _) = tokio::sync::watch::channel(PracticeStatus::default());
        let sensor = Arc::new(Sensor {
            state: Mutex::new(SensorState {
                touch,
                touched: false,
                waiting: false,
                waits: 0,
                plugged: false,
                cancelled: false,
            }),
            wake: Condvar::new(),
            status,
        });
        let sensor_id = NEXT_SENSOR.fetch_add(1, Ordering::Relaxed);
        SENSORS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(sensor_id, Arc::downgrade(&sensor));
        let key = Self {
            shared: Arc::new(Shared {
                worker: Mutex::new(Worker {
                    tx: None,
                    thread: None,
                    generation: 0,
                    formatted: false,
                }),
                flash: Flash(Arc::new(Mutex::new(vec![0xFF; FLASH_SIZE]))),
                sensor,
                sensor_id,
            }),
        };
        key.plug_in();
        key
    }

    fn worker(&self) -> std::sync::MutexGuard<'_, Worker> {
        self.shared
            .worker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes how touches are answered.
    pub fn set_touch(&self, touch: Touch) {
        self.shared.sensor.lock().touch = touch;
        self.shared.sensor.wake.notify_all();
    }

    /// Touches the key: answers the touch it is waiting for. `false` when it waits for none.
    pub fn touch(&self) -> bool {
        let mut s = self.shared.sensor.lock();
        if !s.waiting {
            return false;
        }
        s.touched = true;
        drop(s);
        self.shared.sensor.wake.notify_all();
        true
    }

    /// Whether the key is plugged in and whether it waits for a touch.
    pub fn status(&self) -> PracticeStatus {
        *self.shared.sensor.status.borrow()
    }

    /// Follows [`Self::status`] as it changes.
    pub fn watch(&self) -> tokio::sync::watch::Receiver<PracticeStatus> {
        self.shared.sensor.status.subscribe()
    }

    /// Touches the key whenever it waits for a touch, calling `on_touch` first (the CLI prints
    /// "Touching the practice key"). Runs until the key's last handle is dropped (the task holds
    /// none) or the task is aborted.
    pub fn touch_when_waiting(
        &self,
        on_touch: impl Fn() + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.shared);
        let mut status = self.watch();
        tokio::spawn(async move {
            loop {
                if status.borrow_and_update().waiting_for_touch {
                    let Some(shared) = weak.upgrade() else { return };
                    on_touch();
                    PracticeKey { shared }.touch();
                }
                if status.changed().await.is_err() {
                    return;
                }
            }
        })
    }

    /// Plugs the key in (power-up: the 10 s reset window starts). Nothing when it already is.
    pub fn plug_in(&self) {
        let mut w = self.worker();
        if w.tx.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let flash = self.shared.flash.clone();
        let format = !w.formatted;
        let presence = SimulatedPresence(self.shared.sensor_id);
        let thread = std::thread::Builder::new()
            .name("practice-key".into())
            .spawn(move || {
                let store = StoreConfig {
                    internal: StorageConfig {
                        storage: Box::new(flash),
                        format,
                    },
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
                        |client| serve(Authenticator::new(client, presence, config()), &rx),
                    );
                });
            });
        match thread {
            Ok(thread) => {
                w.tx = Some(tx);
                w.thread = Some(thread);
                w.generation += 1;
                w.formatted = true;
                drop(w);
                let mut s = self.shared.sensor.lock();
                s.plugged = true;
                self.shared.sensor.publish(&s);
            }
            Err(e) => tracing::error!("the practice key could not start: {e}"),
        }
    }

    /// Pulls the key out: a command in progress (a touch being waited for included) fails as
    /// on a vanished USB device. Nothing when it is not plugged in.
    pub fn unplug(&self) {
        let (tx, thread) = {
            let mut w = self.worker();
            (w.tx.take(), w.thread.take())
        };
        {
            let mut s = self.shared.sensor.lock();
            s.plugged = false;
            self.shared.sensor.publish(&s);
        }
        self.shared.sensor.wake.notify_all();
        drop(tx);
        if let Some(t) = thread {
            if t.join().is_err() {
                tracing::error!("the practice key's firmware thread panicked");
            }
        }
    }

    /// Unplugs and re-inserts the key (a power cycle).
    pub fn replug(&self) {
        self.unplug();
        self.plug_in();
    }

    /// Whether the key is plugged in.
    pub fn is_plugged(&self) -> bool {
        self.worker().tx.is_some()
    }

    /// Sends one raw CTAP2 request; the reply (status byte + CBOR) arrives on the receiver.
    fn send(&self, request: &[u8]) -> Option<(tokio::sync::oneshot::Receiver<Vec<u8>>, u64)> {
        let w = self.worker();
        let tx = w.tx.as_ref()?;
        let (rtx, rrx) = tokio::sync::oneshot::channel();
        tx.send((request.to_vec(), rtx)).ok()?;
        Some((rrx, w.generation))
    }

    /// A `Token` for this key (what `USBToken` is for a real key).
    pub fn token(&self) -> PracticeToken {
        PracticeToken { key: self.clone() }
    }

    /// How many times the key has been plugged in (it is when created): pass it to
    /// [`Self::wait_for_reinsert`] before asking the person to re-insert the key.
    pub fn plug_ins(&self) -> u64 {
        self.worker().generation
    }

    /// Waits until the key has been plugged in again after plug-in number `since` (pulled out
    /// and inserted again: the reset ceremony's first half), then opens it at once so a reset
    /// lands in its power-up window.
    ///
    /// # Errors
    /// Nothing re-inserted before `timeout`; Cancel; the key's getInfo failing.
    pub async fn wait_for_reinsert(
        &self,
        since: u64,
        prompt: std::sync::Arc<dyn passkeys_core::prompt::Prompt>,
        cancel: tokio_util::sync::CancellationToken,
        timeout: Duration,
    ) -> Result<crate::Device<crate::KeyToken>, passkeys_core::authenticator::AuthenticatorError>
    {
        use passkeys_core::authenticator::AuthenticatorError;
        let mut status = self.watch();
        let wait = async {
            loop {
                let plugged = status.borrow_and_update().plugged;
                if plugged && self.plug_ins() > since {
                    return Ok(());
                }
                if status.changed().await.is_err() {
                    return Err(AuthenticatorError::Disconnected);
                }
            }
        };
        tokio::select! {
            () = cancel.cancelled() => return Err(AuthenticatorError::Cancelled),
            () = tokio::time::sleep(timeout) => return Err(AuthenticatorError::Device(
                "no key was removed and inserted again in time; nothing was erased".into(),
            )),
            r = wait => r?,
        }
        crate::Device::open(crate::KeyToken::Practice(self.token()), prompt, cancel).await
    }
}

fn config() -> Config {
    Config {
        max_resident_credential_count: Some(SLOTS),
        // A short touch resets, as on most keys (the demo's "Touch the key" is one touch).
        long_touch_for_reset: false,
        ..Config::new(7609)
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

fn gone() -> WebauthnCError {
    // What a USB key pulled out mid-command gives (hidraw: ENODEV).
    WebauthnCError::IoError("the practice key was removed (No such device)".into())
}

/// The practice key as a webauthn-authenticator-rs `Token`.
#[derive(Debug, Clone)]
pub struct PracticeToken {
    key: PracticeKey,
}

impl PracticeToken {
    /// The key behind this token.
    pub fn key(&self) -> &PracticeKey {
        &self.key
    }
}

#[async_trait]
impl Token for PracticeToken {
    type Id = ();

    fn get_transport(&self) -> AuthenticatorTransport {
        AuthenticatorTransport::Usb
    }

    async fn transmit_raw<U: UiCallback>(
        &mut self,
        cbor: &[u8],
        ui: &U,
    ) -> Result<Vec<u8>, WebauthnCError> {
        let mut status = self.key.watch();
        let waits = || self.key.shared.sensor.lock().waits;
        let waits_before = waits();
        let (mut reply, generation) = self.key.send(cbor).ok_or_else(gone)?;
        let mut prompted = false;
        // A USB key's keepalive with status UP_NEEDED: once per command, even when the wait
        // was over before this task looked (the person was quicker than the prompt).
        let mut prompt_if_asked = || {
            if !prompted && waits() > waits_before {
                prompted = true;
                ui.request_touch();
            }
        };
        loop {
            let plugged = status.borrow_and_update().plugged;
            prompt_if_asked();
            if !plugged {
                return Err(gone());
            }
            tokio::select! {
                r = &mut reply => {
                    prompt_if_asked();
                    let r = r.map_err(|_| gone())?;
                    if self.key.worker().generation != generation || !self.key.is_plugged() {
                        return Err(gone());
                    }
                    return match r.split_first() {
                        Some((0, rest)) => Ok(rest.to_vec()),
                        Some((status, _)) => Err(WebauthnCError::Ctap(CtapError::from(*status))),
                        None => Err(WebauthnCError::MessageTooShort),
                    };
                }
                changed = status.changed() => {
                    if changed.is_err() {
                        return Err(gone());
                    }
                }
            }
        }
    }

    async fn cancel(&mut self) -> Result<(), WebauthnCError> {
        // CTAPHID_CANCEL: a touch being waited for ends with KEEPALIVE_CANCEL.
        let sensor = &self.key.shared.sensor;
        {
            let mut s = sensor.lock();
            if s.waiting {
                s.cancelled = true;
            }
        }
        sensor.wake.notify_all();
        Ok(())
    }

    async fn init(&mut self) -> Result<(), WebauthnCError> {
        if self.key.is_plugged() {
            Ok(())
        } else {
            Err(gone())
        }
    }

    async fn close(&mut self) -> Result<(), WebauthnCError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_aaguid_constant_is_the_firmwares() {
        let hex: String = b"AAGUID0123456789"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(AAGUID.replace('-', ""), hex);
    }
}
