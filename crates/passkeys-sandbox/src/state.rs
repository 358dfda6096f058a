//! In-memory state of the sandbox: authorization requests, codes, OIDC sessions and tokens
//! (contract §6), the demo user's passkeys (contract §1.4, §8.2) and the test hooks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use webauthn_rs_core::proto::{Credential, RegistrationState};

use crate::util::random_token;

use crate::keys::KeySet;

/// A fault injected through [`crate::Inspector::set_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The next `_verify` answers 500 `WEBAU-3Vb9s` (contract §3.4) whatever it carries; the
    /// pending registration stays pending.
    VerifyRejected,
    /// The next v2 RegisterPasskey answers creation options whose `user.id` is another
    /// user's (a hostile or broken server; issue 12 item 9).
    OptionsForAnotherUser,
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
    /// The next JWKS request answers `{"keys":[]}` (T20: seen during legacy key rotation,
    /// zitadel/zitadel#7714, #7206).
    EmptyJwksOnce,
    /// While set, discovery's issuer and endpoints lack the port (D1, zitadel/zitadel#11380:
    /// a proxy dropped it).
    IssuerWithoutPort,
    /// While set, discovery's issuer and endpoints say `https` (D1, #8675/#12065: TLS
    /// terminated in front with the scheme forwarded wrongly).
    IssuerHttps,
    /// The next Auth API call is answered by a proxy: 502 with an HTML body (E9, I12).
    ProxyBadGateway,
    /// The next Auth API call answers 429 `Quota.Access.Exhausted (QUOTA-vjAy8)` (E9).
    QuotaExhausted,
    /// The next Auth API error detail uses the v3 relational-backend shape
    /// (`zitadel.error.v2.ErrorDetail` with `slug`, E7).
    SlugErrorDetail,
    /// The next token request answers 500 `{"error":"server_error","error_description":
    /// "Errors.Internal"}` (E9, zitadel/zitadel#7765).
    TokenServerError,
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

/// A PKCE challenge as stored at authorize (T1: no method ⇒ `plain`).
#[derive(Clone)]
pub(crate) struct Challenge {
    pub value: String,
    pub plain: bool,
}

#[derive(Clone)]
pub(crate) struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: Option<Challenge>,
    pub created: SystemTime,
}

pub(crate) struct CodeGrant {
    pub user_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: Option<Challenge>,
    pub auth_time: SystemTime,
    pub expires: SystemTime,
    /// The login (browser) session the code came from (`sid`, T17).
    pub sid: String,
    pub amr: Vec<String>,
}

/// A login session of a browser (ZITADEL user session; its id is the `sid` claim, T3, V6).
pub(crate) struct LoginSession {
    pub user_id: String,
    pub auth_time: SystemTime,
    pub amr: Vec<String>,
}

pub(crate) struct Session {
    pub user_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub auth_time: SystemTime,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    /// The login session (`sid`).
    pub sid: String,
    pub amr: Vec<String>,
    /// Creation of the OIDC session (refresh absolute lifetime, R6).
    pub created: SystemTime,
    /// Issue time of the current refresh token (refresh idle lifetime, R6).
    pub refresh_issued: SystemTime,
}

pub(crate) struct AccessTokenRec {
    pub session_id: String,
    pub expires: SystemTime,
    /// The issuer the token was minted under (JWT access tokens only work there, D2).
    pub issuer: String,
    pub jwt: bool,
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
    /// Signing keys (T19, T20).
    pub keys: Option<KeySet>,
    /// Login sessions by `sid`.
    pub login_sessions: HashMap<String, LoginSession>,
    /// Browser (user agent cookie) → its login sessions, oldest first (T3).
    pub user_agents: HashMap<String, Vec<String>>,
    /// Codes already exchanged (T7 `Errors.AuthRequest.NoCode`).
    pub used_codes: HashSet<String>,
    /// Refresh tokens replaced by rotation or revoked (R3, told apart from garbage).
    pub dead_refresh_tokens: HashSet<String>,
    /// Access tokens superseded by a refresh (E2 pre-2.60: 403 instead of 401).
    pub superseded_access_tokens: HashSet<String>,
    /// Client ids of apps added to the project at run time (T13, I1).
    pub added_apps: Vec<String>,
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
            // Machine users' personal access tokens are not issued tokens.
            if !rec.session_id.starts_with("pat-") {
                rec.expires = past;
            }
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
                self.dead_refresh_tokens.insert(rt);
            }
        }
    }

    /// Terminates a login session (V6): its OIDC sessions and their tokens die, and no browser
    /// keeps it.
    pub fn terminate_login_session(&mut self, sid: &str) {
        self.login_sessions.remove(sid);
        let ids: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.sid == sid)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.end_session(&id);
        }
        for list in self.user_agents.values_mut() {
            list.retain(|x| x != sid);
        }
    }

    /// The live login sessions of a browser (T3).
    pub fn browser_sessions(&self, user_agent: &str) -> Vec<String> {
        self.user_agents
            .get(user_agent)
            .map(|l| {
                l.iter()
                    .filter(|sid| {
                        self.login_sessions
                            .get(*sid)
                            .is_some_and(|ls| self.user(&ls.user_id).is_some())
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
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
    /// The default issuer, `http://localhost:PORT`.
    pub issuer: String,
    pub client_id: String,
    pub access_token_ttl: Duration,
    pub redirect_paths: Vec<String>,
    pub cfg: crate::SandboxConfig,
    inner: Mutex<Inner>,
}

impl Shared {
    pub fn new(issuer: String, cfg: crate::SandboxConfig, keys: KeySet) -> Self {
        let inner = Inner {
            sequence: 400,
            next_id: 218_663_000_000_000_000
                + u64::from(rand::thread_rng().next_u32() % 1_000_000) * 1000,
            keys: Some(keys),
            ..Inner::default()
        };
        Shared {
            issuer,
            client_id: cfg.client_id.clone(),
            access_token_ttl: cfg.access_token_ttl,
            redirect_paths: cfg.redirect_paths.clone(),
            cfg,
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

/// A random base64url string of `chars` characters that contains `-` or `_` (T4, T21, T22:
/// ZITADEL's opaque codes and tokens are base64url and usually contain both).
pub(crate) fn opaque_token(chars: usize) -> String {
    loop {
        let t: String = random_token(chars.div_ceil(4) * 3 + 3)
            .chars()
            .take(chars)
            .collect();
        if t.contains(['-', '_']) {
            return t;
        }
    }
}

/// A JWE-compact-shaped token (5 parts, 4 dots, ≈300 characters; T21, T22 after PR #12017).
/// Random content: the client must never parse it.
pub(crate) fn jwe_token() -> String {
    let header = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"A256GCMKW","enc":"A256GCM","iv":"{}","kid":"{}","tag":"{}"}}"#,
        random_token(12),
        rand::thread_rng().next_u64() % 1_000_000_000_000_000_000,
        random_token(16)
    ));
    format!(
        "{header}.{}.{}.{}.{}",
        random_token(32),
        random_token(12),
        random_token(70),
        random_token(16)
    )
}
