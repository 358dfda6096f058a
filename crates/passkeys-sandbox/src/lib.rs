//! The sandbox: a local ZITADEL-compatible issuer used by the demo and by tests.
//!
//! It serves, on `http://localhost:PORT`, the subset of ZITADEL described in
//! `shared/docs/zitadel-contract.md`:
//!
//! * OIDC (contract §6, §8.1 O1–O6): discovery, authorization code + PKCE (S256) with a real HTML
//!   sign-in page, token endpoint (code and refresh-token grants with rotation), userinfo,
//!   revocation, end-session and the JWKS;
//! * the Auth API v1 passwordless endpoints (contract §1, §8.1 A1–A8) with ZITADEL's JSON shapes
//!   (§1.1, §2), its verification rules (§3, checked with `webauthn-rs-core`) and its error bodies
//!   and status codes (§4);
//! * the User service v2 passkey endpoints (contract §5, §8.1 B1–B5) with their permission
//!   rules, for helpdesk (on-behalf) enrollment.
//!
//! It answers the way real ZITADEL v4 does (docs/zitadel-fidelity.md, the ledger; row ids such
//! as T13 are cited next to the code): multi-audience ID tokens without name claims, web keys
//! (active + next) that rotate, `invalid_request` token errors, a browser SSO session,
//! RP-initiated logout rules, MFA and Origin 403s, two instance domains (`localhost` and
//! `127.0.0.1`, each its own issuer). Version- and setting-dependent behaviour is chosen with
//! [`SandboxConfig`] switches or a named profile from [`SandboxConfig::profiles`].
//!
//! The users are [`SandboxConfig::users`]: by default the demo user [`DEMO_USERNAME`] /
//! [`DEMO_PASSWORD`], a second normal user [`ALICE_USERNAME`], a helpdesk administrator
//! [`ADMIN_USERNAME`] who may act on other users' passkeys, and users for edge cases
//! ([`MFA_USERNAME`], [`ZOE_USERNAME`], [`BLANK_USERNAME`], the machine user
//! [`MACHINE_USERNAME`]). Tests drive and observe the sandbox through an [`Inspector`];
//! [`browser::complete_login`] (a fresh browser) and [`browser::BrowserProfile`] (a browser that
//! keeps its session cookie) play the person in the browser.

#![warn(missing_docs)]

mod api;
pub mod browser;
mod keys;
mod oidc;
mod pages;
mod profile;
mod state;
mod users;
mod util;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use profile::{AccessTokenType, RefreshGrant, SigningAlg, TokenFormat, ZitadelVersion};
pub use state::{Fault, PasskeyInfo, PasskeyState};
pub use users::{
    default_users, SandboxUser, ADMIN_PASSWORD, ADMIN_USERNAME, ADMIN_USER_ID, ALICE_PASSWORD,
    ALICE_USERNAME, ALICE_USER_ID, BLANK_PASSWORD, BLANK_USERNAME, BLANK_USER_ID, MACHINE_PAT,
    MACHINE_USERNAME, MACHINE_USER_ID, MFA_OTP, MFA_PASSWORD, MFA_USERNAME, MFA_USER_ID,
    PERMISSION_CREDENTIAL_WRITE, PERMISSION_PASSKEY_WRITE, PERMISSION_USER_READ,
    PERMISSION_USER_WRITE, ZOE_PASSWORD, ZOE_USERNAME, ZOE_USER_ID,
};

/// Login name of the sandbox's only user, shown as a hint on the sign-in page.
pub const DEMO_USERNAME: &str = "demo";
/// Password of the sandbox's only user, shown as a hint on the sign-in page.
pub const DEMO_PASSWORD: &str = "demo";
/// The ZITADEL user id of the demo user (the `sub` claim; contract §8.3 GetMyUser).
pub const DEMO_USER_ID: &str = "218662596918640897";
/// The organisation (resource owner) id of the demo user.
pub const DEMO_ORG_ID: &str = "218662596918640001";
/// The reserved scope that puts the ZITADEL project into the token audience (contract §6.6).
/// Auth API calls with a token granted without it answer 401 `AUTH-7fs1e`.
pub const ZITADEL_AUD_SCOPE: &str = "urn:zitadel:iam:org:project:id:zitadel:aud";

/// Configuration of a [`Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// TCP port on 127.0.0.1 (and, best effort, on ::1). `0` picks an ephemeral port.
    pub port: u16,
    /// The one registered client (a ZITADEL *native* app, auth method `none`, contract §6.3).
    pub client_id: String,
    /// Lifetime of access tokens and ID tokens (ZITADEL default 12 h, contract §6.4).
    pub access_token_ttl: Duration,
    /// Registered redirect paths. Any loopback host and port is accepted with one of these paths
    /// and no query (contract §6.3, case C09). Default: `["/callback"]`.
    pub redirect_paths: Vec<String>,
    /// The users who can sign in. Default: [`default_users`] (demo, alice, admin, mfa, zoe,
    /// blank). The demo user ([`DEMO_USER_ID`]) should stay in the list: the v1 demo flows use
    /// it.
    pub users: Vec<SandboxUser>,
    /// Which ZITADEL release line to imitate (keys, discovery algs). Default: v4.
    pub version: ZitadelVersion,
    /// Pre-v2.60 behaviour (E2, I13): expired or superseded access tokens answer 403 code 7
    /// on the Auth API instead of 401.
    pub pre_2_60_forbidden: bool,
    /// App setting "User Info inside ID Token" (T12): profile/e-mail claims in the ID token.
    pub userinfo_in_id_token: bool,
    /// App setting "Auth Token Type" (T21).
    pub access_token_type: AccessTokenType,
    /// App grant type `REFRESH_TOKEN` (T10).
    pub refresh_grant: RefreshGrant,
    /// Algorithm of the signing keys (T11, web keys).
    pub signing_alg: SigningAlg,
    /// App setting "clock skew" (T16, 0–5 s): `iat` and `auth_time` are backdated and `exp`
    /// extended by it. Default 0.
    pub clock_skew: Duration,
    /// The sandbox's clock relative to the client's, in seconds, for the times written into
    /// ID tokens and JWT access tokens (I15: positive = the server is ahead, so `iat` lies in
    /// the client's future; negative with a short `access_token_ttl` gives an `exp` just
    /// behind the client's clock, T16). Lifetimes checked by the sandbox itself are unaffected.
    /// Default 0.
    pub clock_offset_secs: i64,
    /// A path prefix for every OAuth/OIDC endpoint (D3: paths are configurable per install,
    /// `OIDC.CustomEndpoints`), e.g. `"/custom"` ⇒ `/custom/oauth/v2/token`. Discovery stays at
    /// `/.well-known/openid-configuration`. Default `""` (ZITADEL's default paths).
    pub endpoint_prefix: String,
    /// Shape of codes, access and refresh tokens (T4, T21, T22).
    pub token_format: TokenFormat,
    /// Registered post-logout redirect paths (V4; native loopback rule: same path and query,
    /// any loopback host and port). Default `["/callback"]`.
    pub post_logout_redirect_paths: Vec<String>,
    /// Client ids of the other apps of the project (T13). The first one precedes ours in `aud`.
    pub sibling_client_ids: Vec<String>,
    /// Client ids of apps in another project of the instance (V2, T8): known clients, never in
    /// our tokens' `aud`, without the authorization-code and refresh grants. Revoking our tokens
    /// with them answers 401 `invalid_client` "token was not issued for this client".
    pub other_project_client_ids: Vec<String>,
    /// The project id (in `aud`, T13).
    pub project_id: String,
    /// The ZITADEL project id (in `aud` with [`ZITADEL_AUD_SCOPE`], T13).
    pub zitadel_project_id: String,
    /// Instance domains (host names without port) the sandbox answers on; each is its own
    /// issuer (D1, D2). Other hosts get 404 text/plain (D16). Default `localhost`, `127.0.0.1`.
    pub instance_hosts: Vec<String>,
    /// Additional allowed origins of the app (E3); the origins of the redirect URIs
    /// (`http://localhost`, `http://127.0.0.1`, `http://[::1]`) are always allowed.
    pub additional_origins: Vec<String>,
    /// `Cache-Control: max-age` of the JWKS (T19, `OIDC.JWKSCacheControlMaxAge`; 0 ⇒ no-store).
    pub jwks_max_age: u64,
    /// Refresh token idle lifetime (R6, default 30 d).
    pub refresh_idle_ttl: Duration,
    /// Refresh token absolute lifetime (R6, default 90 d).
    pub refresh_absolute_ttl: Duration,
    /// The Auth API v1 passkey endpoints (`/auth/v1/users/me/passwordless…`, every ZITADEL to
    /// date, docs/zitadel-fidelity.md G1). Off imitates a future instance without v1
    /// (zitadel/zitadel#10899): those paths answer grpc-gateway's unknown-route 404
    /// `{"code":5,"message":"Not Found"}`. Default on.
    pub auth_v1_passkeys: bool,
    /// GetMyUser on the Auth API v1 (`GET /auth/v1/users/me`). Off imitates a future instance
    /// without the Auth API v1 (zitadel/zitadel#10899 removes the v1 services as a whole, not
    /// only their passkey methods): unknown-route 404, as for [`SandboxConfig::auth_v1_passkeys`].
    /// Default on.
    pub auth_v1_users_me: bool,
    /// User service v2 passkeys on the REST gateway (`/v2/users/{userId}/passkeys…`, ZITADEL
    /// v2.59.0+, G2). Off imitates v2.58 and older: unknown-route 404. Default on.
    pub user_v2_rest_passkeys: bool,
    /// User service v2 over Connect (`POST /zitadel.user.v2.UserService/<Method>`, ZITADEL
    /// v4.0.0+, G3). Off imitates v2.x/v3.x, which serve no Connect paths: unknown-route 404.
    /// Default on.
    pub user_v2_connect: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            port: 0,
            client_id: "passkeys-cli@sandbox".to_string(),
            access_token_ttl: Duration::from_secs(12 * 60 * 60),
            redirect_paths: vec!["/callback".to_string()],
            users: default_users(),
            version: ZitadelVersion::V4,
            pre_2_60_forbidden: false,
            userinfo_in_id_token: false,
            access_token_type: AccessTokenType::Bearer,
            refresh_grant: RefreshGrant::Enabled,
            signing_alg: SigningAlg::Rs256,
            clock_skew: Duration::ZERO,
            clock_offset_secs: 0,
            endpoint_prefix: String::new(),
            token_format: TokenFormat::Opaque,
            post_logout_redirect_paths: vec!["/callback".to_string()],
            sibling_client_ids: vec!["312345678901234999".to_string()],
            other_project_client_ids: vec!["412345678901234888".to_string()],
            project_id: "312345678901230001".to_string(),
            zitadel_project_id: "312345678901200002".to_string(),
            instance_hosts: vec!["localhost".to_string(), "127.0.0.1".to_string()],
            additional_origins: Vec::new(),
            jwks_max_age: 300,
            refresh_idle_ttl: Duration::from_secs(720 * 3600),
            refresh_absolute_ttl: Duration::from_secs(2160 * 3600),
            auth_v1_passkeys: true,
            auth_v1_users_me: true,
            user_v2_rest_passkeys: true,
            user_v2_connect: true,
        }
    }
}

/// Errors from [`Sandbox::start`].
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The listening socket could not be bound.
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind {
        /// The requested port.
        port: u16,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The ID-token signing key could not be created.
    #[error("cannot create the signing key: {0}")]
    Key(String),
    /// Any other start-up failure.
    #[error("sandbox start-up failed: {0}")]
    Other(String),
}

/// A running sandbox issuer. Dropping it stops the server too; [`Sandbox::shutdown`] also waits
/// for it to finish.
pub struct Sandbox {
    issuer: url::Url,
    client_id: String,
    shared: Arc<state::Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds `127.0.0.1:port` (plus `[::1]:port` when available, since `localhost` may resolve
    /// to either), generates a fresh RSA-2048 signing key and spawns the axum server on the
    /// current tokio runtime.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        if !oidc::valid_prefix(&config.endpoint_prefix) {
            return Err(SandboxError::Other(format!(
                "endpoint_prefix {:?} must look like \"/a/b\"",
                config.endpoint_prefix
            )));
        }
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, config.port)))
            .await
            .map_err(|source| SandboxError::Bind {
                port: config.port,
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| SandboxError::Other(e.to_string()))?
            .port();
        // Best effort: browsers try ::1 first for "localhost".
        let listener6 = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port)))
            .await
            .ok();

        let issuer_str = format!("http://localhost:{port}");
        let issuer =
            url::Url::parse(&issuer_str).map_err(|e| SandboxError::Other(e.to_string()))?;
        // T19/T20: web keys (v4) start with an active and a next key; legacy keys (v2/v3) with
        // one RS256 key. Generated in parallel on blocking threads (RSA is slow).
        let (alg, count) = if config.version.web_keys() {
            (config.signing_alg, 2)
        } else {
            (SigningAlg::Rs256, 1)
        };
        let jobs: Vec<_> = (0..count)
            .map(|_| tokio::task::spawn_blocking(move || keys::Key::generate(alg)))
            .collect();
        let mut generated = Vec::new();
        for job in jobs {
            generated.push(
                job.await
                    .map_err(|e| SandboxError::Key(e.to_string()))?
                    .map_err(SandboxError::Key)?,
            );
        }
        let active = generated
            .first()
            .map(|k| k.kid.clone())
            .ok_or_else(|| SandboxError::Key("no key".into()))?;
        let keyset = keys::KeySet {
            keys: generated,
            active,
        };

        let issuer_str_for_pat = issuer_str.clone();
        let shared = Arc::new(state::Shared::new(issuer_str, config.clone(), keyset));
        shared.with(|s| {
            s.users = config.users.clone();
            // U3: machine users' personal access tokens, valid until the sandbox stops.
            let now = SystemTime::now();
            for u in config.users.iter().filter(|u| u.is_machine()) {
                let Some(pat) = u.machine_pat.clone() else {
                    continue;
                };
                let session_id = format!("pat-{}", u.id);
                s.sessions.insert(
                    session_id.clone(),
                    state::Session {
                        user_id: u.id.clone(),
                        client_id: config.client_id.clone(),
                        scopes: ["openid", "profile", "email", ZITADEL_AUD_SCOPE]
                            .map(String::from)
                            .to_vec(),
                        nonce: None,
                        auth_time: now,
                        access_token: Some(pat.clone()),
                        refresh_token: None,
                        sid: String::new(),
                        amr: Vec::new(),
                        created: now,
                        refresh_issued: now,
                    },
                );
                s.access_tokens.insert(
                    pat,
                    state::AccessTokenRec {
                        session_id,
                        expires: util::later(now, Duration::from_secs(100 * 365 * 24 * 3600)),
                        issuer: issuer_str_for_pat.clone(),
                        jwt: false,
                    },
                );
            }
        });
        let app = router(shared.clone());
        let (stop, stop_rx) = watch::channel(false);

        let mut tasks = vec![spawn_server(listener, app.clone(), stop_rx.clone())];
        if let Some(l6) = listener6 {
            tasks.push(spawn_server(l6, app, stop_rx));
        }
        tracing::info!(%issuer, client_id = %config.client_id, "sandbox issuer started");
        Ok(Sandbox {
            issuer,
            client_id: config.client_id,
            shared,
            stop,
            tasks,
        })
    }

    /// The issuer URL, `http://localhost:PORT` (the host is `localhost`, not an IP address,
    /// because a WebAuthn RP ID must be a domain). The discovery document's `issuer` is the same
    /// string without a trailing slash.
    pub fn issuer(&self) -> url::Url {
        self.issuer.clone()
    }

    /// The registered client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// A cheap, cloneable handle to look into and steer the sandbox's state (for tests).
    pub fn inspect(&self) -> Inspector {
        Inspector {
            shared: self.shared.clone(),
        }
    }

    /// Stops accepting connections and waits (at most 5 s) for the server tasks to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        tracing::info!("sandbox issuer stopped");
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn spawn_server(
    listener: TcpListener,
    app: Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "sandbox server ended with an error");
        }
    })
}

/// Adds the time spent answering each request to [`Inspector::server_time`] (for benchmarks
/// that subtract the sandbox's share from a client's total).
async fn time_requests(
    axum::extract::State(sh): axum::extract::State<Arc<state::Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let start = std::time::Instant::now();
    let response = next.run(request).await;
    let spent = start.elapsed();
    sh.with(|s| s.server_time += spent);
    response
}

fn router(shared: Arc<state::Shared>) -> Router {
    oidc::routes(&shared.cfg.endpoint_prefix)
        .merge(
            api::routes(&shared.cfg).layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                api::network_faults,
            )),
        )
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            oidc::instance_host,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            time_requests,
        ))
        .with_state(shared)
}

/// A cloneable handle for tests: observe passkeys, token-endpoint traffic and verify requests,
/// expire tokens and inject faults. All methods are cheap and synchronous.
#[derive(Clone)]
pub struct Inspector {
    shared: Arc<state::Shared>,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector").finish_non_exhaustive()
    }
}

impl Inspector {
    /// All passkeys of the demo user, pending (not yet verified) ones included, in creation
    /// order. Unlike `ListMyPasswordless` (contract §1.4), this shows pending entries.
    pub fn passkeys(&self) -> Vec<PasskeyInfo> {
        self.passkeys_of(DEMO_USER_ID)
    }

    /// All passkeys of the user `user_id`, pending ones included, in creation order.
    pub fn passkeys_of(&self, user_id: &str) -> Vec<PasskeyInfo> {
        self.shared.with(|s| s.passkey_infos(user_id))
    }

    /// The RP ID a passkey of `user_id` was registered (or is pending) for: the v2 `domain`, or
    /// the API host for v1 registrations (`None` if there is no such passkey).
    pub fn passkey_rp_id(&self, user_id: &str, passkey_id: &str) -> Option<String> {
        self.shared.with(|s| {
            s.passkeys
                .iter()
                .find(|p| p.user_id == user_id && p.id == passkey_id)
                .map(|p| p.rp_id.clone())
        })
    }

    /// Renames a passkey as another tool could (ZITADEL stores any name it was given):
    /// for tests of what the app shows when a server sends hostile text (issue 12 item 3).
    pub fn set_passkey_name(&self, passkey_id: &str, name: &str) {
        self.shared.with(|s| {
            if let Some(p) = s.passkeys.iter_mut().find(|p| p.id == passkey_id) {
                p.name = Some(name.to_string());
            }
        });
    }

    /// The raw body of the last v2 VerifyPasskeyRegistration
    /// (`POST /v2/users/{userId}/passkeys/{passkeyId}`), if any.
    pub fn last_v2_verify_body(&self) -> Option<String> {
        self.shared.with(|s| s.last_v2_verify_body.clone())
    }

    /// Number of v2 registration codes (CreatePasskeyRegistrationLink) issued for `user_id`
    /// that are still unused.
    pub fn open_registration_codes(&self, user_id: &str) -> usize {
        self.shared.with(|s| {
            s.registration_codes
                .iter()
                .filter(|c| c.user_id == user_id)
                .count()
        })
    }

    /// Number of requests to the token endpoint with `grant_type` equal to `grant_type`
    /// (e.g. `"authorization_code"`, `"refresh_token"`), successful or not.
    pub fn token_calls(&self, grant_type: &str) -> usize {
        self.shared
            .with(|s| s.token_calls.get(grant_type).copied().unwrap_or(0))
    }

    /// Token-endpoint request counts keyed by `grant_type` (missing grant type: `""`).
    pub fn token_calls_by_grant(&self) -> BTreeMap<String, usize> {
        self.shared.with(|s| s.token_calls.clone())
    }

    /// Makes every access token issued so far expired, so clients must refresh. Refresh tokens
    /// stay valid.
    pub fn expire_access_tokens(&self) {
        self.shared.with(|s| s.expire_access_tokens());
    }

    /// Injects a fault. `VerifyRejected`, `ServerError` and `Unauthorized` are one-shot (the next
    /// matching request consumes them); `WrongDiscoveryIssuer` lasts until [`Self::clear_faults`].
    pub fn set_fault(&self, fault: Fault) {
        self.shared.with(|s| s.faults.push(fault));
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.shared.with(|s| s.faults.clear());
    }

    /// The raw body (as received, lossily UTF-8 decoded) of the last
    /// `POST /auth/v1/users/me/passwordless/_verify`, if any.
    pub fn last_verify_body(&self) -> Option<String> {
        self.shared.with(|s| s.last_verify_body.clone())
    }

    /// The last verify body parsed as JSON (`None` if absent or not JSON).
    pub fn last_verify_json(&self) -> Option<serde_json::Value> {
        self.last_verify_body()
            .and_then(|b| serde_json::from_str(&b).ok())
    }

    /// Total time the sandbox spent answering requests (handlers and middleware, not the
    /// network), since start.
    pub fn server_time(&self) -> Duration {
        self.shared.with(|s| s.server_time)
    }

    /// Every authorization code issued so far (for tests that scan logs for secrets).
    pub fn issued_codes(&self) -> Vec<String> {
        self.shared.with(|s| s.issued_codes.clone())
    }

    /// Number of live (not revoked, not rotated away) access tokens, expired ones included.
    /// Machine users' personal access tokens are not counted.
    pub fn live_access_tokens(&self) -> usize {
        self.shared.with(|s| {
            s.access_tokens
                .values()
                .filter(|r| !r.session_id.starts_with("pat-"))
                .count()
        })
    }

    /// The key ids in the JWKS, in order (active key first).
    pub fn signing_kids(&self) -> Vec<String> {
        self.shared.with(|s| {
            s.keys
                .as_ref()
                .map(|k| k.keys.iter().map(|k| k.kid.clone()).collect())
                .unwrap_or_default()
        })
    }

    /// The key id new tokens are signed with.
    pub fn active_kid(&self) -> String {
        self.shared
            .with(|s| s.keys.as_ref().map(|k| k.active.clone()))
            .unwrap_or_default()
    }

    /// Rotates the signing key (T20). Web keys (v4): the next key becomes active and a new next
    /// key is created. Legacy keys (v2/v3): a new key is created and becomes active. The old
    /// public key stays in the JWKS until [`Self::remove_inactive_keys`]. Returns the new
    /// active key id. Blocks while an RSA key is generated (well under a second).
    pub fn rotate_signing_key(&self) -> Result<String, String> {
        let alg = if self.shared.cfg.version.web_keys() {
            self.shared.cfg.signing_alg
        } else {
            SigningAlg::Rs256
        };
        let fresh = keys::Key::generate(alg)?;
        let web = self.shared.cfg.version.web_keys();
        self.shared.with(|s| {
            let ks = s.keys.as_mut().ok_or("no keys")?;
            if web {
                // Order [active, next, older…]: the next key becomes active, the fresh key is
                // the new next key, the old active key joins the older ones.
                if ks.keys.len() < 2 {
                    ks.keys.push(fresh);
                } else {
                    let old = ks.keys.remove(0);
                    ks.keys.insert(1, fresh);
                    ks.keys.push(old);
                }
                ks.active = ks.keys[0].kid.clone();
            } else {
                ks.active = fresh.kid.clone();
                ks.keys.insert(0, fresh);
            }
            Ok(ks.active.clone())
        })
    }

    /// Deletes every key that is neither active nor the next key (v4: deleted web keys; v2/v3:
    /// public keys past their 30 h). Tokens and `id_token_hint`s signed with them no longer
    /// verify (T20, V5, zitadel/zitadel#7035).
    pub fn remove_inactive_keys(&self) {
        let keep = if self.shared.cfg.version.web_keys() {
            2
        } else {
            1
        };
        self.shared.with(|s| {
            if let Some(ks) = s.keys.as_mut() {
                ks.keys.truncate(keep);
            }
        });
    }

    /// Adds an app to the project at run time: its client id joins the `aud` of every later ID
    /// token (T13, I1: "one value added after the app was built").
    pub fn add_project_app(&self, client_id: &str) {
        self.shared
            .with(|s| s.added_apps.push(client_id.to_string()));
    }

    /// Makes every refresh token idle-expired (R6): the next refresh answers R3's body.
    pub fn expire_refresh_tokens(&self) {
        self.shared.with(|s| {
            for session in s.sessions.values_mut() {
                session.refresh_issued = SystemTime::UNIX_EPOCH;
            }
        });
    }

    /// Number of live login (browser SSO) sessions (T3, V6).
    pub fn login_sessions(&self) -> usize {
        self.shared.with(|s| s.login_sessions.len())
    }

    /// Terminates every login session of `user_id` (as the user's "log out everywhere"); their
    /// tokens die too (V6).
    pub fn terminate_login_sessions_of(&self, user_id: &str) {
        self.shared.with(|s| {
            let sids: Vec<String> = s
                .login_sessions
                .iter()
                .filter(|(_, l)| l.user_id == user_id)
                .map(|(k, _)| k.clone())
                .collect();
            for sid in sids {
                s.terminate_login_session(&sid);
            }
        });
    }
}
