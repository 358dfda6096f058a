//! In-memory state of the sandbox: authorization requests, codes, OIDC sessions and tokens
//! (contract §6), the demo user's passkeys (contract §1.4, §8.2) and the test hooks.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use webauthn_rs_core::proto::{Credential, RegistrationState};

use crate::keys::SigningKey;

/// A fault injected through [`crate::Inspector::set_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The next `_verify` answers 500 `WEBAU-3Vb9s` (contract §3.4) whatever it carries; the
    /// pending registration stays pending.
    VerifyRejected,
    /// The next authenticated Auth API call answers 503 `{"code":14,...}` (contract §4.2).
    ServerError,
    /// While set, the discovery document's `issuer` differs from the URL it was fetched from.
    WrongDiscoveryIssuer,
    /// The next authenticated Auth API call answers 401 `AUTH-7fs1e` (contract §4.3).
    Unauthorized,
    /// The next `_verify` is carried out (the passkey becomes READY), then the connection is cut
    /// in the middle of the response, as when a proxy or the network fails after the server
    /// committed. A client must not retry the verify; it should list again.
    ResetAfterVerify,
    /// The next authenticated Auth API call is answered only after `millis` milliseconds.
    SlowReply {
        /// Delay in milliseconds.
        millis: u64,
    },
}

/// State of a passkey as seen by [`crate::Inspector::passkeys`]
/// (ZITADEL `AUTH_FACTOR_STATE_NOT_READY` / `AUTH_FACTOR_STATE_READY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyState {
    /// Added (challenge issued) but not verified yet.
    Pending,
    /// Verified and usable.
    Ready,
}

/// One passkey of the demo user, for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyInfo {
    /// The ZITADEL token id (18-digit decimal string), used by `DELETE …/passwordless/{id}`.
    pub id: String,
    /// Pending or ready.
    pub state: PasskeyState,
    /// The token name given at verification (`None` while pending).
    pub name: Option<String>,
    /// The WebAuthn credential id, base64url without padding (`None` while pending).
    pub credential_id: Option<String>,
    /// The challenge of the registration, base64url without padding.
    pub challenge: String,
}

pub(crate) struct Passkey {
    /// The user the passkey belongs to.
    pub user_id: String,
    /// The RP ID of the registration: v2 `domain`, or the API host for v1.
    pub rp_id: String,
    pub id: String,
    pub name: Option<String>,
    pub challenge: String,
    pub reg_state: Option<RegistrationState>,
    pub credential: Option<Credential>,
}

impl Passkey {
    pub fn is_ready(&self) -> bool {
        self.credential.is_some()
    }
}

pub(crate) struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: String,
    pub created: SystemTime,
}

pub(crate) struct CodeGrant {
    pub user_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: String,
    pub auth_time: SystemTime,
    pub expires: SystemTime,
}

pub(crate) struct Session {
    pub user_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub auth_time: SystemTime,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
}

pub(crate) struct AccessTokenRec {
    pub session_id: String,
    pub expires: SystemTime,
}

/// A v2 passkey registration code (CreatePasskeyRegistrationLink, contract §5.1).
pub(crate) struct RegistrationCode {
    pub user_id: String,
    pub id: String,
    pub code: String,
    pub expires: SystemTime,
}

#[derive(Default)]
pub(crate) struct Inner {
    /// The users who can sign in (`SandboxConfig::users`).
    pub users: Vec<crate::users::SandboxUser>,
    /// Unused v2 registration codes.
    pub registration_codes: Vec<RegistrationCode>,
    pub last_v2_verify_body: Option<String>,
    pub auth_requests: HashMap<String, AuthRequest>,
    pub codes: HashMap<String, CodeGrant>,
    /// Every authorization code ever issued (for tests that scan logs for secrets).
    pub issued_codes: Vec<String>,
    /// Time spent answering requests (see `Inspector::server_time`).
    pub server_time: Duration,
    pub sessions: HashMap<String, Session>,
    pub access_tokens: HashMap<String, AccessTokenRec>,
    pub refresh_tokens: HashMap<String, String>,
    pub passkeys: Vec<Passkey>,
    pub token_calls: BTreeMap<String, usize>,
    pub faults: Vec<Fault>,
    pub last_verify_body: Option<String>,
    pub sequence: u64,
    pub next_id: u64,
    pub last_login: Option<SystemTime>,
}

impl Inner {
    pub fn user(&self, id: &str) -> Option<&crate::users::SandboxUser> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn passkey_infos(&self, user_id: &str) -> Vec<PasskeyInfo> {
        self.passkeys
            .iter()
            .filter(|p| p.user_id == user_id)
            .map(|p| PasskeyInfo {
                id: p.id.clone(),
                state: if p.is_ready() {
                    PasskeyState::Ready
                } else {
                    PasskeyState::Pending
                },
                name: p.name.clone(),
                credential_id: p
                    .credential
                    .as_ref()
                    .map(|c| URL_SAFE_NO_PAD.encode(&c.cred_id)),
                challenge: p.challenge.clone(),
            })
            .collect()
    }

    pub fn expire_access_tokens(&mut self) {
        let past = SystemTime::now()
            .checked_sub(Duration::from_secs(1))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        for rec in self.access_tokens.values_mut() {
            rec.expires = past;
        }
    }

    /// Removes the first fault equal to `fault`; true if there was one.
    pub fn take_fault(&mut self, fault: Fault) -> bool {
        if let Some(pos) = self.faults.iter().position(|f| *f == fault) {
            self.faults.remove(pos);
            true
        } else {
            false
        }
    }

    /// Removes the first `SlowReply` fault and returns its delay.
    pub fn take_slow_reply(&mut self) -> Option<Duration> {
        let pos = self
            .faults
            .iter()
            .position(|f| matches!(f, Fault::SlowReply { .. }))?;
        match self.faults.remove(pos) {
            Fault::SlowReply { millis } => Some(Duration::from_millis(millis)),
            _ => None,
        }
    }

    pub fn has_fault(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    /// Next event sequence number (ObjectDetails.sequence, contract §1.3).
    pub fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Next 18-digit decimal id, ZITADEL style.
    pub fn next_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// Ends a session and every token that belongs to it.
    pub fn end_session(&mut self, session_id: &str) {
        if let Some(session) = self.sessions.remove(session_id) {
            if let Some(at) = session.access_token {
                self.access_tokens.remove(&at);
            }
            if let Some(rt) = session.refresh_token {
                self.refresh_tokens.remove(&rt);
            }
        }
    }

    /// Drops stale authorization requests and codes so the maps cannot grow without bound.
    pub fn prune(&mut self, now: SystemTime) {
        let horizon = Duration::from_secs(3600);
        self.auth_requests.retain(|_, r| {
            now.duration_since(r.created)
                .map(|d| d < horizon)
                .unwrap_or(true)
        });
        self.codes.retain(|_, c| c.expires > now);
    }
}

/// Everything the request handlers share.
pub(crate) struct Shared {
    pub issuer: String,
    pub client_id: String,
    pub access_token_ttl: Duration,
    pub redirect_paths: Vec<String>,
    pub signing_key: SigningKey,
    inner: Mutex<Inner>,
}

impl Shared {
    pub fn new(
        issuer: String,
        client_id: String,
        access_token_ttl: Duration,
        redirect_paths: Vec<String>,
        signing_key: SigningKey,
    ) -> Self {
        let inner = Inner {
            sequence: 400,
            next_id: 218_663_000_000_000_000
                + u64::from(rand::thread_rng().next_u32() % 1_000_000) * 1000,
            ..Inner::default()
        };
        Shared {
            issuer,
            client_id,
            access_token_ttl,
            redirect_paths,
            signing_key,
            inner: Mutex::new(inner),
        }
    }

    /// Runs `f` with the state locked. Never hold the lock across an await.
    pub fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }
}

/// A random opaque secret: `bytes` random bytes, base64url without padding.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A random alphanumeric string (for the passwordless init code, contract §1.4: length 12).
pub(crate) fn random_alnum(len: usize) -> String {
    use rand::Rng as _;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
        .collect()
}

/// RFC 3339 UTC timestamp as protojson writes `google.protobuf.Timestamp` (contract §1.1).
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let odt = time::OffsetDateTime::from(t);
    odt.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// `t + d`, saturating far in the future instead of panicking on overflow.
pub(crate) fn later(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(t)
}

pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}
