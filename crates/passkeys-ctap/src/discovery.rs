//! Finding keys: every USB HID and NFC (PC/SC) key through webauthn-authenticator-rs's
//! `AnyTransport`, hot-plug events from its `watch()`, and touch-to-select when several keys
//! are attached (CTAP 2.1 authenticatorSelection, raced; the others are cancelled).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use passkeys_core::authenticator::AuthenticatorError;
use passkeys_core::prompt::Prompt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use webauthn_authenticator_rs::transport::{AnyTransport, Token, TokenEvent, Transport};

use crate::token::KeyToken;

use crate::device::{transport_name, Device};

/// What `passkeys authenticators` shows about a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct KeySummary {
    /// `usb` or `nfc`.
    pub transport: String,
    /// Model name (from the AAGUID list), or a generic name.
    pub model: String,
    /// AAGUID.
    pub aaguid: String,
    /// CTAP versions.
    pub versions: Vec<String>,
    /// `set`, `not set` or `unsupported`.
    pub pin: String,
    /// Built-in user verification (fingerprint) is set up.
    pub built_in_verification: bool,
    /// Can store passkeys (discoverable credentials).
    pub discoverable: bool,
    /// Passkeys it can still store, when the key says without a PIN.
    pub remaining_discoverable: Option<u64>,
    /// Minimum PIN length.
    pub min_pin_length: usize,
    /// Every transport the key has (getInfo `transports`: `usb`, `nfc`, …), not only the one it
    /// is connected over.
    pub transports: Vec<String>,
}

/// Summarises an opened key.
pub fn summary<T: Token>(device: &Device<T>) -> KeySummary {
    let info = device.info();
    let described = crate::key::describe(device);
    KeySummary {
        transport: transport_name(device.transport()).to_string(),
        model: described.model,
        aaguid: info.aaguid_string(),
        versions: info.versions.clone(),
        pin: match info.client_pin() {
            Some(true) => "set",
            Some(false) => "not set",
            None => "unsupported",
        }
        .to_string(),
        built_in_verification: info.builtin_uv_ready(),
        discoverable: info.rk(),
        remaining_discoverable: info.remaining_discoverable_credentials,
        min_pin_length: info.min_pin_len(),
        transports: info.transports.clone(),
    }
}

fn not_found(e: impl std::fmt::Debug) -> AuthenticatorError {
    AuthenticatorError::NotFound(format!(
        "the USB/NFC transports could not be opened ({e:?}); on Linux check the udev rules for /dev/hidraw* and that pcscd runs (see the README)"
    ))
}

/// Opens every attached key (USB HID and NFC).
///
/// # Errors
/// When no transport can be opened at all.
pub async fn open_all(
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
) -> Result<Vec<Device<KeyToken>>, AuthenticatorError> {
    let transport = AnyTransport::new().await.map_err(not_found)?;
    let tokens = transport.tokens().await.map_err(not_found)?;
    let mut devices = Vec::new();
    for token in tokens {
        match Device::open(KeyToken::Attached(token), prompt.clone(), cancel.clone()).await {
            Ok(d) => devices.push(d),
            Err(e) => tracing::warn!("a FIDO device could not be opened: {e}"),
        }
    }
    Ok(devices)
}

/// Opens the one key to use: the only one attached, or the one touched first when there are
/// several (CTAP 2.1 keys; otherwise the person is asked to leave one attached).
///
/// # Errors
/// [`AuthenticatorError::NotFound`] when none is attached; selection failures.
pub async fn open_one(
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
    timeout: Duration,
) -> Result<Device<KeyToken>, AuthenticatorError> {
    let devices = open_all(prompt.clone(), cancel.clone()).await?;
    if devices.is_empty() {
        return Err(AuthenticatorError::NotFound(
            "insert a security key (or put it on the NFC reader) and try again; on Linux, a key that is attached but not listed usually means missing udev permissions (see the README)".into(),
        ));
    }
    if devices.len() > 1 {
        prompt.touch();
    }
    select_by_touch(devices, &cancel, timeout).await
}

/// Picks one of several keys by touch: each CTAP 2.1 key blinks (authenticatorSelection); the
/// first touched wins and the others are cancelled.
///
/// # Errors
/// When a key cannot take part (before CTAP 2.1), nobody touches in time, or on Cancel.
pub async fn select_by_touch<T: Token>(
    mut devices: Vec<Device<T>>,
    cancel: &CancellationToken,
    timeout: Duration,
) -> Result<Device<T>, AuthenticatorError> {
    match devices.len() {
        0 => {
            return Err(AuthenticatorError::NotFound(
                "no security key attached".into(),
            ))
        }
        1 => return Ok(devices.remove(0)),
        _ => {}
    }
    if devices.iter().any(|d| !d.info().is_ctap21()) {
        return Err(AuthenticatorError::NotSupported(
            "several security keys are attached and not all of them can be chosen by touch; leave only the one to use attached".into(),
        ));
    }
    let race = cancel.child_token();
    let runs = devices.into_iter().map(|mut d| {
        let race = race.clone();
        async move {
            d.set_cancel(race.child_token());
            let r = d.wait_for_touch(timeout).await;
            if r.is_ok() {
                race.cancel();
            }
            (d, r)
        }
    });
    let results = futures::future::join_all(runs).await;
    let mut first_error = None;
    for (mut device, result) in results {
        match result {
            Ok(()) => {
                device.set_cancel(cancel.clone());
                return Ok(device);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(if cancel.is_cancelled() {
        AuthenticatorError::Cancelled
    } else {
        first_error.unwrap_or(AuthenticatorError::Timeout)
    })
}

/// A hot-plug event for `passkeys authenticators --watch` and the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum KeyEvent {
    /// A key was attached (or was there at the start).
    Added(KeySummary),
    /// A key was removed; `id` is the transport's device id.
    Removed {
        /// Transport device id (diagnostic).
        id: String,
    },
    /// The keys attached at the start have all been reported.
    EnumerationComplete,
}

/// Reports keys as they come and go until `cancel` fires.
///
/// # Errors
/// When no transport can be watched.
pub async fn watch(
    prompt: Arc<dyn Prompt>,
    cancel: CancellationToken,
    mut on_event: impl FnMut(KeyEvent) + Send,
) -> Result<(), AuthenticatorError> {
    let transport = AnyTransport::new().await.map_err(not_found)?;
    let mut events = transport.watch().await.map_err(not_found)?;
    loop {
        let event = tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            e = events.next() => e,
        };
        match event {
            None => return Ok(()),
            Some(TokenEvent::Added(token)) => {
                match Device::open(token, prompt.clone(), cancel.clone()).await {
                    Ok(d) => on_event(KeyEvent::Added(summary(&d))),
                    Err(e) => tracing::warn!("a FIDO device could not be opened: {e}"),
                }
            }
            Some(TokenEvent::Removed(id)) => on_event(KeyEvent::Removed {
                id: format!("{id:?}"),
            }),
            Some(TokenEvent::EnumerationComplete) => on_event(KeyEvent::EnumerationComplete),
        }
    }
}

/// Why no key can be used although the system says something about it (Linux): a key is
/// attached but this user may not open it, or pcscd (NFC readers) is not running. Found by
/// [`access_problems`] when no key could be opened; each says exactly what to install or run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AccessProblem {
    /// A FIDO key is attached (a `/dev/hidraw*` node whose HID report descriptor has the FIDO
    /// usage page) but opening it fails with EACCES: no udev rule gives this user access.
    #[serde(rename_all = "camelCase")]
    HidPermissionDenied {
        /// The device nodes, e.g. `/dev/hidraw3`.
        nodes: Vec<String>,
    },
    /// The PC/SC daemon is not running (or not installed): NFC readers cannot be used.
    #[serde(rename_all = "camelCase")]
    PcscdNotRunning {
        /// pcscd is installed (only its service is not running).
        installed: bool,
    },
}

impl AccessProblem {
    /// One paragraph for people: what is wrong and exactly what to install or run.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::HidPermissionDenied { nodes } => format!(
                "A security key is attached ({}) but this user may not open it (permission denied). \
                 Install the FIDO udev rules: `sudo apt install libu2f-udev` on Debian and Ubuntu \
                 (the passkey-enroll package depends on it), `sudo dnf install systemd-udev` on \
                 Fedora; then unplug the key and plug it in again. Do not run passkeys as root.",
                nodes.join(", ")
            ),
            Self::PcscdNotRunning { installed: true } => {
                "For NFC readers: pcscd is installed but not running. Start it with \
                 `sudo systemctl enable --now pcscd.socket`."
                    .to_string()
            }
            Self::PcscdNotRunning { installed: false } => {
                "For NFC readers: pcscd is not installed. Install and start it with \
                 `sudo apt install pcscd && sudo systemctl enable --now pcscd.socket` (Fedora: \
                 `sudo dnf install pcsc-lite`)."
                    .to_string()
            }
        }
    }
}

/// The places [`AccessProbe`] looks at, so tests can fake them (a fake sysfs tree, an `open`
/// that fails with EACCES, a missing socket).
pub struct AccessProbe<'a> {
    /// `/sys/class/hidraw`: one directory per hidraw node with `device/report_descriptor`.
    pub sys_hidraw: std::path::PathBuf,
    /// `/dev`: where the `hidrawN` nodes are.
    pub dev: std::path::PathBuf,
    /// pcscd's socket (`$PCSCLITE_CSOCK_NAME`, default `/run/pcscd/pcscd.comm`).
    pub pcscd_socket: std::path::PathBuf,
    /// Where the pcscd program would be, to tell "not installed" from "not running".
    pub pcscd_programs: Vec<std::path::PathBuf>,
    /// Opens a device node read-write (the way the HID transport does) and closes it.
    pub open: &'a (dyn Fn(&std::path::Path) -> std::io::Result<()> + Sync),
}

/// Opens `path` read-write and closes it again (no I/O on the device).
fn open_rw(path: &std::path::Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map(drop)
}

/// Something listens on the Unix socket `path`.
#[cfg(unix)]
fn socket_answers(path: &std::path::Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

#[cfg(not(unix))]
fn socket_answers(_path: &std::path::Path) -> bool {
    false
}

/// The FIDO Alliance usage page (0xF1D0) as it appears in a HID report descriptor
/// (Usage Page item with two bytes of data, little-endian).
const FIDO_USAGE_PAGE: [u8; 3] = [0x06, 0xD0, 0xF1];

impl AccessProbe<'static> {
    /// The real system's paths.
    #[must_use]
    pub fn system() -> Self {
        let socket = std::env::var_os("PCSCLITE_CSOCK_NAME")
            .map_or_else(|| "/run/pcscd/pcscd.comm".into(), std::path::PathBuf::from);
        Self {
            sys_hidraw: "/sys/class/hidraw".into(),
            dev: "/dev".into(),
            pcscd_socket: socket,
            pcscd_programs: vec!["/usr/sbin/pcscd".into(), "/usr/bin/pcscd".into()],
            open: &open_rw,
        }
    }
}

impl AccessProbe<'_> {
    /// FIDO hidraw nodes this user may not open.
    #[must_use]
    pub fn denied_hid_nodes(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.sys_hidraw) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("hidraw"))
            .collect();
        names.sort();
        names
            .into_iter()
            .filter(|name| {
                let descriptor = self.sys_hidraw.join(name).join("device/report_descriptor");
                let is_fido = std::fs::read(descriptor)
                    .is_ok_and(|d| d.windows(3).any(|w| w == FIDO_USAGE_PAGE));
                is_fido
                    && (self.open)(&self.dev.join(name))
                        .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
            })
            .map(|name| self.dev.join(name).display().to_string())
            .collect()
    }

    /// `None` when pcscd answers on its socket.
    #[must_use]
    pub fn pcscd_problem(&self) -> Option<AccessProblem> {
        if socket_answers(&self.pcscd_socket) {
            return None;
        }
        Some(AccessProblem::PcscdNotRunning {
            installed: self.pcscd_programs.iter().any(|p| p.exists()),
        })
    }

    /// Everything found, HID first.
    #[must_use]
    pub fn run(&self) -> Vec<AccessProblem> {
        let mut problems = Vec::new();
        let nodes = self.denied_hid_nodes();
        if !nodes.is_empty() {
            problems.push(AccessProblem::HidPermissionDenied { nodes });
        }
        problems.extend(self.pcscd_problem());
        problems
    }
}

/// Why attached keys cannot be used on this system (Linux; empty elsewhere). Call it when no
/// key could be opened, to tell "no key" apart from "a key this user may not open" and
/// "pcscd is not running".
#[must_use]
pub fn access_problems() -> Vec<AccessProblem> {
    if cfg!(target_os = "linux") {
        AccessProbe::system().run()
    } else {
        Vec::new()
    }
}

/// The hint for "no security key found": insert one, or (instead) that the attached key may
/// not be opened by this user; then pcscd's problem for NFC readers, if any.
#[must_use]
pub fn no_key_hint() -> String {
    let problems = access_problems();
    let mut parts = Vec::new();
    if !problems
        .iter()
        .any(|p| matches!(p, AccessProblem::HidPermissionDenied { .. }))
    {
        parts.push(
            "Insert a security key (or hold it on the NFC reader) and try again.".to_string(),
        );
    }
    parts.extend(problems.iter().map(AccessProblem::message));
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::path::Path;

    /// A HID report descriptor's start: Usage Page (FIDO Alliance), Usage (CTAPHID).
    const FIDO_DESCRIPTOR: &[u8] = &[0x06, 0xD0, 0xF1, 0x09, 0x01, 0xA1, 0x01];
    /// A keyboard's: Usage Page (Generic Desktop), Usage (Keyboard).
    const KEYBOARD_DESCRIPTOR: &[u8] = &[0x05, 0x01, 0x09, 0x06, 0xA1, 0x01];

    /// A fake `/sys/class/hidraw` and `/dev` with the given nodes.
    fn fake_system(nodes: &[(&str, &[u8])]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (name, descriptor) in nodes {
            let device = root.path().join("sys").join(name).join("device");
            std::fs::create_dir_all(&device).unwrap();
            std::fs::write(device.join("report_descriptor"), descriptor).unwrap();
            std::fs::create_dir_all(root.path().join("dev")).unwrap();
            std::fs::write(root.path().join("dev").join(name), b"").unwrap();
        }
        root
    }

    fn probe<'a>(
        root: &Path,
        open: &'a (dyn Fn(&Path) -> io::Result<()> + Sync),
    ) -> AccessProbe<'a> {
        AccessProbe {
            sys_hidraw: root.join("sys"),
            dev: root.join("dev"),
            pcscd_socket: root.join("no-pcscd.comm"),
            pcscd_programs: vec![root.join("no-pcscd")],
            open,
        }
    }

    #[test]
    fn a_fido_key_this_user_may_not_open_is_told_apart_from_no_key() {
        let root = fake_system(&[
            ("hidraw0", KEYBOARD_DESCRIPTOR),
            ("hidraw1", FIDO_DESCRIPTOR),
            ("hidraw2", FIDO_DESCRIPTOR),
        ]);
        // The transport seam: hidraw1 is unreadable for this user, like a key without a
        // uaccess udev rule; the keyboard is unreadable too but is no FIDO key.
        let denied = |p: &Path| -> io::Result<()> {
            let name = p.file_name().unwrap().to_str().unwrap();
            if name == "hidraw1" || name == "hidraw0" {
                Err(io::Error::from_raw_os_error(13)) // EACCES
            } else {
                Ok(())
            }
        };
        let p = probe(root.path(), &denied);
        let dev1 = root.path().join("dev/hidraw1").display().to_string();
        assert_eq!(p.denied_hid_nodes(), vec![dev1.clone()]);
        let problems = p.run();
        assert_eq!(
            problems[0],
            AccessProblem::HidPermissionDenied { nodes: vec![dev1] }
        );
        let message = problems[0].message();
        assert!(message.contains("attached"), "{message}");
        assert!(message.contains("may not open it"), "{message}");
        assert!(
            message.contains("sudo apt install libu2f-udev"),
            "{message}"
        );
        let json = serde_json::to_value(&problems[0]).unwrap();
        assert_eq!(json["kind"], "hidPermissionDenied");
    }

    #[test]
    fn no_key_and_readable_keys_are_no_permission_problem() {
        let ok = |_: &Path| -> io::Result<()> { Ok(()) };
        let empty = fake_system(&[]);
        assert!(probe(empty.path(), &ok).denied_hid_nodes().is_empty());
        let readable = fake_system(&[("hidraw0", FIDO_DESCRIPTOR)]);
        assert!(probe(readable.path(), &ok).denied_hid_nodes().is_empty());
        // Another error than EACCES (the key was unplugged meanwhile) is not a permission
        // problem either.
        let gone = |_: &Path| -> io::Result<()> { Err(io::ErrorKind::NotFound.into()) };
        assert!(probe(readable.path(), &gone).denied_hid_nodes().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_real_node_without_permissions_is_reported_unless_root() {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let root = fake_system(&[("hidraw0", FIDO_DESCRIPTOR)]);
        let node = root.path().join("dev/hidraw0");
        std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o000)).unwrap();
        let p = probe(root.path(), &open_rw);
        // The file's owner is this process's user; root opens anything (DAC override).
        if std::fs::metadata(&node).unwrap().uid() == 0 {
            assert!(p.denied_hid_nodes().is_empty());
        } else {
            assert_eq!(p.denied_hid_nodes(), vec![node.display().to_string()]);
        }
    }

    #[cfg(unix)]
    #[test]
    fn pcscd_not_running_or_not_installed_says_what_to_run() {
        let ok = |_: &Path| -> io::Result<()> { Ok(()) };
        let root = fake_system(&[]);
        let mut p = probe(root.path(), &ok);
        let missing = p.pcscd_problem().unwrap();
        assert_eq!(missing, AccessProblem::PcscdNotRunning { installed: false });
        assert!(missing.message().contains("sudo apt install pcscd"));

        std::fs::write(root.path().join("pcscd"), b"").unwrap();
        p.pcscd_programs = vec![root.path().join("pcscd")];
        let stopped = p.pcscd_problem().unwrap();
        assert_eq!(stopped, AccessProblem::PcscdNotRunning { installed: true });
        assert!(stopped
            .message()
            .contains("sudo systemctl enable --now pcscd.socket"));

        // A daemon listening on the socket: no problem.
        let socket = root.path().join("pcscd.comm");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        p.pcscd_socket = socket;
        assert_eq!(p.pcscd_problem(), None);
    }
}
