//! The self-service passkey port: one set of operations (start a registration, verify it,
//! list, remove, create a registration link) for the signed-in user, over three ZITADEL API
//! generations (docs/zitadel-fidelity.md §7a, G1–G6):
//!
//! | Generation | Served by | Paths |
//! |---|---|---|
//! | [`ApiGeneration::V1`] | every ZITADEL to date ("legacy") | `/auth/v1/users/me/passwordless…` |
//! | [`ApiGeneration::V2Rest`] | v2.59+ | `/v2/users/{userId}/passkeys…` |
//! | [`ApiGeneration::V2Connect`] | v4+ | `POST /zitadel.user.v2.UserService/<Method>` (JSON) |
//!
//! [`ZitadelClient`]'s passkey methods dispatch here, so everything above them (enrollment,
//! the CLI, the app) has one code path per operation. The generation is chosen by
//! [`ApiChoice`]: `auto` keeps the Auth API v1 while the instance answers it, else User
//! service v2 over Connect if it answers, else over REST. The choice is remembered per
//! instance (issuer) with the time it was learnt, in `api-generation.json` in the state
//! directory; a call answering "not found / unimplemented" for the route triggers one
//! re-detection and retry.
//!
//! On v2 the user's own id comes from the ID token's `sub` ([`crate::zitadel::AccessTokenSource::user_id`]),
//! and the client chooses the RP ID (`domain`): the issuer host unless an administrator set a
//! login domain ([`ApiSettings::rp_id`]). The Auth API v1 always lets the server choose.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::webauthn::CreationOptions;
use crate::zitadel::{Me, Passkey, RegistrationLink, ZitadelClient};

/// A ZITADEL API generation that serves self-service passkeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ApiGeneration {
    /// Auth API v1 (`/auth/v1/users/me/passwordless…`).
    V1,
    /// User service v2 on the REST gateway (`/v2/users/{userId}/passkeys…`).
    V2Rest,
    /// User service v2 over Connect (`/zitadel.user.v2.UserService/…`).
    V2Connect,
}

impl ApiGeneration {
    /// The wire form: `v1`, `v2-rest`, `v2-connect`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiGeneration::V1 => "v1",
            ApiGeneration::V2Rest => "v2-rest",
            ApiGeneration::V2Connect => "v2-connect",
        }
    }

    /// For people: "Auth API v1", "User service v2 (REST)", "User service v2 (Connect)".
    pub fn label(self) -> &'static str {
        match self {
            ApiGeneration::V1 => "Auth API v1",
            ApiGeneration::V2Rest => "User service v2 (REST)",
            ApiGeneration::V2Connect => "User service v2 (Connect)",
        }
    }

    /// False on User service v2: ListPasskeys returns READY passkeys only, so an unfinished
    /// registration cannot be seen (or cleaned up) there (G6). The Auth API v1 lists what
    /// ZITADEL's read model holds.
    pub fn lists_unfinished(self) -> bool {
        self == ApiGeneration::V1
    }
}

impl std::fmt::Display for ApiGeneration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which API generation to use: `auto` (the default), or one forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ApiChoice {
    /// v1 while it answers, else v2 Connect, else v2 REST; remembered per instance.
    #[default]
    Auto,
    /// The Auth API v1 only.
    V1,
    /// User service v2: Connect if it answers, else REST.
    V2,
    /// User service v2 on the REST gateway only.
    V2Rest,
    /// User service v2 over Connect only.
    V2Connect,
}

impl ApiChoice {
    /// The wire form (`auto`, `v1`, `v2`, `v2-rest`, `v2-connect`).
    pub fn as_str(self) -> &'static str {
        match self {
            ApiChoice::Auto => "auto",
            ApiChoice::V1 => "v1",
            ApiChoice::V2 => "v2",
            ApiChoice::V2Rest => "v2-rest",
            ApiChoice::V2Connect => "v2-connect",
        }
    }

    /// The generations tried, in order.
    fn candidates(self) -> &'static [ApiGeneration] {
        use ApiGeneration::*;
        match self {
            ApiChoice::Auto => &[V1, V2Connect, V2Rest],
            ApiChoice::V1 => &[V1],
            ApiChoice::V2 => &[V2Connect, V2Rest],
            ApiChoice::V2Rest => &[V2Rest],
            ApiChoice::V2Connect => &[V2Connect],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ApiChoice::Auto => {
                "any passkey API (Auth API v1, User service v2 over Connect or REST)"
            }
            ApiChoice::V1 => "the Auth API v1",
            ApiChoice::V2 => "User service v2 (neither over Connect nor REST)",
            ApiChoice::V2Rest => "User service v2 on its REST gateway",
            ApiChoice::V2Connect => "User service v2 over Connect",
        }
    }
}

impl std::str::FromStr for ApiChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => ApiChoice::Auto,
            "v1" => ApiChoice::V1,
            "v2" => ApiChoice::V2,
            "v2-rest" => ApiChoice::V2Rest,
            "v2-connect" => ApiChoice::V2Connect,
            other => {
                return Err(format!(
                    "unknown API {other:?}: use auto, v1, v2, v2-rest or v2-connect"
                ))
            }
        })
    }
}

impl std::fmt::Display for ApiChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the shells pass to [`ZitadelClient::with_api`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiSettings {
    /// Which generation.
    pub choice: ApiChoice,
    /// The RP ID (`domain`) new passkeys get on User service v2, when an administrator set a
    /// login domain; `None` = the issuer host. Checked with the rpId rule against the
    /// instance ([`crate::webauthn::check_rp_id`]). Ignored on the Auth API v1 (ZITADEL
    /// chooses there).
    pub rp_id: Option<String>,
}

/// Resolves the passkey API settings from flags, `PASSKEYS_API` / `PASSKEYS_RP_ID`, then the
/// config file. The RP ID is checked when the client is built
/// ([`crate::zitadel::ZitadelClient::with_api`]).
pub fn resolve_api(
    api: Option<ApiChoice>,
    rp_id: Option<&str>,
    file: &crate::config::ConfigFile,
) -> Result<ApiSettings> {
    let env = |name: &str| std::env::var(name).ok().filter(|s| !s.trim().is_empty());
    let choice = match api {
        Some(c) => c,
        None => match env("PASSKEYS_API") {
            Some(s) => s.parse().map_err(Error::Config)?,
            None => match &file.api {
                Some(s) => s.parse().map_err(Error::Config)?,
                None => ApiChoice::Auto,
            },
        },
    };
    let rp_id = rp_id
        .map(str::to_string)
        .or_else(|| env("PASSKEYS_RP_ID"))
        .or_else(|| file.rp_id.clone())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    Ok(ApiSettings { choice, rp_id })
}

/// How the generation in use was learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum ApiSource {
    /// Forced (`--api`, the profile's `api` setting).
    Forced,
    /// Probed now.
    Detected,
    /// Read from the remembered choice for this instance.
    Remembered,
}

/// Which generation is in use, for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ApiStatus {
    /// The generation.
    pub generation: ApiGeneration,
    /// How it was chosen.
    pub source: ApiSource,
    /// When it was learnt (Unix seconds), for a detected or remembered choice.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub learnt_at: Option<i64>,
    /// How many times this client detected again after a "not served" answer.
    pub redetections: u32,
}

impl ApiStatus {
    /// One line for people, e.g. "User service v2 (Connect), detected at 2026-12-02 05:10 UTC".
    pub fn describe(&self) -> String {
        let when = self
            .learnt_at
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .map(|t| {
                format!(
                    " at {:04}-{:02}-{:02} {:02}:{:02} UTC",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute()
                )
            })
            .unwrap_or_default();
        let how = match self.source {
            ApiSource::Forced => "forced",
            ApiSource::Detected => "detected",
            ApiSource::Remembered => "remembered",
        };
        let again = match self.redetections {
            0 => String::new(),
            n => format!(", detected again {n}×"),
        };
        format!("{}, {how}{when}{again}", self.generation.label())
    }
}

/// The per-client state of the port.
#[derive(Debug, Default)]
pub(crate) struct ApiState {
    pub(crate) settings: ApiSettings,
    /// The remembered choices (`api-generation.json`), if kept.
    pub(crate) memory: Option<PathBuf>,
    pub(crate) current: std::sync::Mutex<Option<ApiStatus>>,
    /// The `passkeyId` of the registration started on v2.
    pub(crate) pending: std::sync::Mutex<Option<String>>,
    pub(crate) user_id: tokio::sync::OnceCell<String>,
}

/// One remembered choice.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Remembered {
    generation: ApiGeneration,
    learnt_at: i64,
}

/// The file of remembered choices in `dir` (the state directory).
pub fn memory_path(dir: &std::path::Path) -> PathBuf {
    dir.join("api-generation.json")
}

/// The file of remembered choices in the person's state directory
/// ([`crate::files::state_dir`]), when there is one. For a real instance only: the demo keeps
/// its own in its temporary folder.
pub fn default_memory_path() -> Option<PathBuf> {
    crate::files::state_dir().ok().map(|d| memory_path(&d))
}

/// How many instances' choices are kept.
const MEMORY_ENTRIES: usize = 32;

fn read_memory(path: &std::path::Path) -> BTreeMap<String, Remembered> {
    match crate::files::read_private_file(path) {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!("ignoring {}: {e}", path.display());
            BTreeMap::new()
        }),
        Ok(None) => BTreeMap::new(),
        Err(e) => {
            tracing::warn!("cannot read {}: {e}", path.display());
            BTreeMap::new()
        }
    }
}

fn write_memory(path: &std::path::Path, issuer: &str, choice: Option<&Remembered>) {
    let mut all = read_memory(path);
    match choice {
        Some(c) => all.insert(issuer.to_string(), c.clone()),
        None => all.remove(issuer),
    };
    // At most MEMORY_ENTRIES instances, the most recently learnt. The demo keeps its own file
    // in its temporary folder, but the stand-alone sandbox picks a free port (a new issuer) by
    // default, and people point the CLI and the app at it with their real state directory.
    while all.len() > MEMORY_ENTRIES {
        let Some(oldest) = all
            .iter()
            .min_by_key(|(_, r)| r.learnt_at)
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        all.remove(&oldest);
    }
    let result = path
        .parent()
        .map_or(Ok(()), crate::files::create_private_dir)
        .and_then(|()| {
            crate::files::write_private_file(
                path,
                &serde_json::to_vec_pretty(&all).unwrap_or_default(),
            )
        });
    if let Err(e) = result {
        tracing::warn!("cannot remember the passkey API in {}: {e}", path.display());
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn not_served(e: &Error) -> bool {
    matches!(e, Error::Api(a) if a.is_not_served())
}

const UNAVAILABLE_FORCED: &str = "Use --api auto (or the instance's \"API\" setting \"Automatic\") to let Passkey Enroll choose, or check the issuer URL";
const UNAVAILABLE_AUTO: &str = "Check that the issuer URL is the ZITADEL instance's URL; ZITADEL v2.4x and later offer at least the Auth API v1";

/// An id as ZITADEL's validation accepts it in a path (1–200 characters, letters, digits,
/// `-`, `_`), so nothing else is ever put into a URL path.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn not_a_passkey_id(id: &str) -> Error {
    Error::Api(crate::error::ApiError {
        kind: crate::error::ApiErrorKind::NotFound,
        status: 404,
        grpc_code: None,
        id: None,
        server_message: format!("{id:?} is not a passkey id"),
    })
}

/// Runs `$body` with `$g` bound to the generation in use; when the instance answers that the
/// route is not served, detects once more and runs it again (not for a forced single
/// generation, which gets [`Error::PasskeyApiUnavailable`]).
macro_rules! on_api {
    ($self:ident, $g:ident => $body:expr) => {{
        let $g = $self.api_generation().await?;
        match $body {
            Err(e) if not_served(&e) => match $self.redetect($g).await? {
                None => Err($self.unavailable()),
                Some($g) => $body.map_err(|e| {
                    if not_served(&e) {
                        $self.unavailable()
                    } else {
                        e
                    }
                }),
            },
            r => r,
        }
    }};
}

const CONNECT: &str = "/zitadel.user.v2.UserService/";

impl ZitadelClient {
    /// Uses `settings` for the passkey operations (a new port state: nothing learnt yet).
    ///
    /// # Errors
    /// [`Error::Options`] (`rp_id_refused`) when the RP ID may not be claimed by the instance.
    pub fn with_api(mut self, settings: ApiSettings) -> Result<Self> {
        if let Some(rp) = &settings.rp_id {
            crate::webauthn::check_rp_id(rp, self.base())?;
            if settings.choice == ApiChoice::V1 {
                tracing::warn!(
                    rp_id = %rp,
                    "the RP ID setting is ignored on the Auth API v1: ZITADEL chooses the RP ID there"
                );
            }
        }
        let memory = self.api.memory.clone();
        self.api = std::sync::Arc::new(ApiState {
            settings,
            memory,
            ..ApiState::default()
        });
        Ok(self)
    }

    /// Remembers detected choices per instance in the file at `path` (and reads them back).
    pub fn with_memory(mut self, path: Option<PathBuf>) -> Self {
        let settings = self.api.settings.clone();
        self.api = std::sync::Arc::new(ApiState {
            settings,
            memory: path,
            ..ApiState::default()
        });
        self
    }

    /// The settings in use.
    pub fn api_settings(&self) -> &ApiSettings {
        &self.api.settings
    }

    /// The generation in use and how it was chosen, once known (after the first passkey call
    /// or [`ZitadelClient::api_generation`]).
    pub fn api_status(&self) -> Option<ApiStatus> {
        self.lock_current().clone()
    }

    /// The generation in use, detecting it first if needed.
    ///
    /// # Errors
    /// [`Error::PasskeyApiUnavailable`] when none of the allowed generations answers; API and
    /// network errors of the probe.
    pub async fn api_generation(&self) -> Result<ApiGeneration> {
        if let Some(s) = self.api_status() {
            return Ok(s.generation);
        }
        let choice = self.api.settings.choice;
        if choice == ApiChoice::Auto {
            if let Some(path) = &self.api.memory {
                if let Some(r) = read_memory(path).get(self.issuer_key()) {
                    tracing::debug!(
                        generation = %r.generation,
                        learnt_at = r.learnt_at,
                        "using the remembered passkey API"
                    );
                    self.set_current(r.generation, ApiSource::Remembered, Some(r.learnt_at));
                    return Ok(r.generation);
                }
            }
        }
        self.detect().await
    }

    /// The RP ID (`domain`) new passkeys get on User service v2.
    pub fn v2_rp_id(&self) -> String {
        self.api
            .settings
            .rp_id
            .clone()
            .unwrap_or_else(|| self.base().host_str().unwrap_or_default().to_string())
    }

    fn issuer_key(&self) -> &str {
        self.base().as_str().trim_end_matches('/')
    }

    fn lock_current(&self) -> std::sync::MutexGuard<'_, Option<ApiStatus>> {
        self.api.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_current(&self, generation: ApiGeneration, source: ApiSource, learnt_at: Option<i64>) {
        let mut cur = self.lock_current();
        let redetections = cur.as_ref().map_or(0, |c| c.redetections);
        *cur = Some(ApiStatus {
            generation,
            source,
            learnt_at,
            redetections,
        });
    }

    /// Probes the allowed generations in order with a ListPasskeys call (a forced one too, so
    /// that diagnostics never name an API the instance does not serve); the first that
    /// answers is used (and remembered under `auto`).
    async fn detect(&self) -> Result<ApiGeneration> {
        let choice = self.api.settings.choice;
        for &generation in choice.candidates() {
            match self.list_on(generation).await {
                Ok(_) => {
                    let at = now();
                    tracing::info!(
                        generation = %generation,
                        instance = self.issuer_key(),
                        "passkey API detected: {}",
                        generation.label()
                    );
                    let source = if choice.candidates().len() == 1 {
                        ApiSource::Forced
                    } else {
                        ApiSource::Detected
                    };
                    self.set_current(generation, source, Some(at));
                    if choice == ApiChoice::Auto {
                        if let Some(path) = &self.api.memory {
                            let r = Remembered {
                                generation,
                                learnt_at: at,
                            };
                            write_memory(path, self.issuer_key(), Some(&r));
                        }
                    }
                    return Ok(generation);
                }
                Err(e) if not_served(&e) => {
                    tracing::debug!(generation = %generation, "not served by this instance");
                }
                Err(e) => return Err(e),
            }
        }
        Err(self.unavailable())
    }

    fn unavailable(&self) -> Error {
        let choice = self.api.settings.choice;
        Error::PasskeyApiUnavailable {
            api: choice.describe().to_string(),
            advice: if choice == ApiChoice::Auto {
                UNAVAILABLE_AUTO
            } else {
                UNAVAILABLE_FORCED
            },
        }
    }

    /// Forgets `stale` and detects again; `None` when only one generation is allowed.
    async fn redetect(&self, stale: ApiGeneration) -> Result<Option<ApiGeneration>> {
        if self.api.settings.choice.candidates().len() == 1 {
            return Ok(None);
        }
        tracing::info!(
            stale = %stale,
            instance = self.issuer_key(),
            "the instance no longer answers {}: detecting the passkey API again",
            stale.label()
        );
        {
            let mut cur = self.lock_current();
            let redetections = cur.as_ref().map_or(0, |c| c.redetections) + 1;
            *cur = Some(ApiStatus {
                generation: stale,
                source: ApiSource::Detected,
                learnt_at: None,
                redetections,
            });
        }
        if let Some(path) = &self.api.memory {
            write_memory(path, self.issuer_key(), None);
        }
        self.detect().await.map(Some)
    }

    /// The signed-in user: GetMyUser (`GET /auth/v1/users/me`) while the Auth API v1 is in
    /// use or not yet chosen; on User service v2 (the generation in use, or v1 answering "not
    /// served") GetUserByID for the user's own id (`GET /v2/users/{userId}`, or
    /// `POST /zitadel.user.v2.UserService/GetUserByID`), which a user may call for themselves
    /// without any permission (ZITADEL `internal/query/user.go` `userCheckPermission`).
    pub async fn get_my_user(&self) -> Result<Me> {
        let known = match self.api.settings.choice {
            ApiChoice::Auto => self.api_status().map(|s| s.generation),
            _ => Some(self.api_generation().await?),
        };
        match known {
            Some(ApiGeneration::V1) | None => {}
            Some(g) => return self.get_my_user_v2(g).await,
        }
        match self.get_my_user_v1().await {
            Err(e) if not_served(&e) => match self.api_generation().await? {
                ApiGeneration::V1 => Err(e),
                g => self.get_my_user_v2(g).await,
            },
            r => r,
        }
    }

    async fn get_my_user_v2(&self, generation: ApiGeneration) -> Result<Me> {
        let uid = self.user_id().await?;
        if !valid_id(uid) {
            return Err(Self::shape_error(
                "the ID token",
                "sub is not a ZITADEL user id",
            ));
        }
        let (path, v) = if generation == ApiGeneration::V2Connect {
            let v = self
                .connect("GetUserByID", serde_json::json!({ "userId": uid }))
                .await?;
            ("GetUserByID".to_string(), v)
        } else {
            let path = format!("/v2/users/{uid}");
            let v = self.call(reqwest::Method::GET, &path, None).await?;
            (path, v)
        };
        Self::me_from(&path, &v["user"], "userId", "username")
    }

    async fn user_id(&self) -> Result<&str> {
        self.api
            .user_id
            .get_or_try_init(|| self.tokens().user_id())
            .await
            .map(String::as_str)
    }

    async fn connect(&self, method: &str, body: serde_json::Value) -> Result<serde_json::Value> {
        self.call_api(
            reqwest::Method::POST,
            &format!("{CONNECT}{method}"),
            Some(&body),
            true,
        )
        .await
    }

    fn result_list(path: &str, v: serde_json::Value) -> Result<Vec<Passkey>> {
        match v.get("result") {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(r) => Self::decode(path, r.clone()),
        }
    }

    /// ListPasskeys on `generation`.
    async fn list_on(&self, generation: ApiGeneration) -> Result<Vec<Passkey>> {
        match generation {
            ApiGeneration::V1 => self.list_passkeys_v1().await,
            g => {
                let uid = self.user_id().await?;
                self.v2_list(g, uid).await
            }
        }
    }

    /// The signed-in user's passkeys (ListMyPasswordless / ListPasskeys). On User service v2
    /// only READY passkeys are listed ([`ApiGeneration::lists_unfinished`]).
    pub async fn list_passkeys(&self) -> Result<Vec<Passkey>> {
        on_api!(self, g => self.list_on(g).await)
    }

    /// Starts a registration (AddMyPasswordless / RegisterPasskey with the RP ID of
    /// [`ZitadelClient::v2_rp_id`]), replacing any pending one, and returns the decoded
    /// creation options. On v2 the `passkeyId` is kept for [`ZitadelClient::verify_passkey`].
    pub async fn add_passkey(&self) -> Result<CreationOptions> {
        on_api!(self, g => self.start_on(g).await)
    }

    async fn start_on(&self, generation: ApiGeneration) -> Result<CreationOptions> {
        *self.api.pending.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if generation == ApiGeneration::V1 {
            return self.add_passkey_v1().await;
        }
        let uid = self.user_id().await?;
        let (passkey_id, options) = self
            .v2_register(
                generation,
                uid,
                "PASSKEY_AUTHENTICATOR_UNSPECIFIED",
                &self.v2_rp_id(),
            )
            .await?;
        *self.api.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(passkey_id);
        Ok(options)
    }

    /// User service v2 for the user `uid` over `generation`'s transport (Connect, else REST):
    /// the self-service port uses it with the signed-in user's id, the helpdesk with another
    /// user's. ListPasskeys (READY passkeys only).
    pub(crate) async fn v2_list(
        &self,
        generation: ApiGeneration,
        uid: &str,
    ) -> Result<Vec<Passkey>> {
        if generation == ApiGeneration::V2Connect {
            let v = self
                .connect("ListPasskeys", serde_json::json!({ "userId": uid }))
                .await?;
            return Self::result_list("ListPasskeys", v);
        }
        let path = format!("/v2/users/{uid}/passkeys/_search");
        let v = self
            .call(reqwest::Method::POST, &path, Some(&serde_json::json!({})))
            .await?;
        Self::result_list(&path, v)
    }

    /// [`Self::v2_list`]'s RegisterPasskey with `authenticator` (its wire name) and `domain`
    /// (the RP ID): the `passkeyId` and the decoded creation options (a JSON object with
    /// base64url members, a `google.protobuf.Struct`, not base64 bytes).
    pub(crate) async fn v2_register(
        &self,
        generation: ApiGeneration,
        uid: &str,
        authenticator: &str,
        domain: &str,
    ) -> Result<(String, CreationOptions)> {
        let v = if generation == ApiGeneration::V2Connect {
            let body = serde_json::json!({
                "userId": uid,
                "authenticator": authenticator,
                "domain": domain,
            });
            self.connect("RegisterPasskey", body).await?
        } else {
            let body = serde_json::json!({"authenticator": authenticator, "domain": domain});
            self.call(
                reqwest::Method::POST,
                &format!("/v2/users/{uid}/passkeys"),
                Some(&body),
            )
            .await?
        };
        let passkey_id = v["passkeyId"]
            .as_str()
            .filter(|s| valid_id(s))
            .ok_or_else(|| {
                Self::shape_error("RegisterPasskey", "passkeyId is missing or not an id")
            })?
            .to_string();
        // A JSON object with base64url members (a `google.protobuf.Struct`), not base64 bytes.
        let options = v
            .get("publicKeyCredentialCreationOptions")
            .filter(|o| o.is_object())
            .ok_or_else(|| {
                Error::Options(crate::webauthn::OptionsError::Malformed {
                    member: "publicKeyCredentialCreationOptions".into(),
                    reason: "is missing or not a JSON object".into(),
                })
            })?;
        let bytes = serde_json::to_vec(options)
            .map_err(|e| Self::shape_error("RegisterPasskey", &e.to_string()))?;
        Ok((passkey_id, CreationOptions::from_json(&bytes)?))
    }

    /// [`Self::v2_list`]'s VerifyPasskeyRegistration: the credential as a JSON object
    /// (PublicKeyCredential.toJSON(), not base64) and `passkeyName`.
    pub(crate) async fn v2_verify(
        &self,
        generation: ApiGeneration,
        uid: &str,
        passkey_id: &str,
        credential_json: &[u8],
        name: &str,
    ) -> Result<()> {
        let credential: serde_json::Value = serde_json::from_slice(credential_json)
            .map_err(|e| Error::Config(format!("the credential JSON is not valid: {e}")))?;
        if generation == ApiGeneration::V2Connect {
            let body = serde_json::json!({
                "userId": uid,
                "passkeyId": passkey_id,
                "publicKeyCredential": credential,
                "passkeyName": name,
            });
            self.connect("VerifyPasskeyRegistration", body).await?;
        } else {
            let body = serde_json::json!({"publicKeyCredential": credential, "passkeyName": name});
            self.call(
                reqwest::Method::POST,
                &format!("/v2/users/{uid}/passkeys/{passkey_id}"),
                Some(&body),
            )
            .await?;
        }
        Ok(())
    }

    /// [`Self::v2_list`]'s RemovePasskey.
    pub(crate) async fn v2_remove(
        &self,
        generation: ApiGeneration,
        uid: &str,
        id: &str,
    ) -> Result<()> {
        if generation == ApiGeneration::V2Connect {
            self.connect(
                "RemovePasskey",
                serde_json::json!({"userId": uid, "passkeyId": id}),
            )
            .await?;
        } else {
            self.call(
                reqwest::Method::DELETE,
                &format!("/v2/users/{uid}/passkeys/{id}"),
                None,
            )
            .await?;
        }
        Ok(())
    }

    /// Finishes the registration started by [`ZitadelClient::add_passkey`]
    /// (VerifyMyPasswordless / VerifyPasskeyRegistration) with the credential JSON and the
    /// name. Never retried, not even after a re-detection: the pending registration belongs
    /// to the API that started it.
    pub async fn verify_passkey(&self, credential_json: &[u8], token_name: &str) -> Result<()> {
        let generation = self.api_generation().await?;
        let result = self
            .verify_on(generation, credential_json, token_name)
            .await;
        if let Err(e) = &result {
            if not_served(e) {
                // The next call detects again.
                if let Some(path) = &self.api.memory {
                    write_memory(path, self.issuer_key(), None);
                }
                *self.lock_current() = None;
                return Err(self.unavailable());
            }
        }
        result
    }

    async fn verify_on(
        &self,
        generation: ApiGeneration,
        credential_json: &[u8],
        name: &str,
    ) -> Result<()> {
        if generation == ApiGeneration::V1 {
            return self.verify_passkey_v1(credential_json, name).await;
        }
        let uid = self.user_id().await?;
        let passkey_id = self
            .api
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                Error::Api(crate::error::ApiError {
                    kind: crate::error::ApiErrorKind::NoPendingRegistration,
                    status: 0,
                    grpc_code: None,
                    id: None,
                    server_message: "no registration was started by this client".into(),
                })
            })?;
        self.v2_verify(generation, uid, &passkey_id, credential_json, name)
            .await
    }

    /// The `passkeyId` of the registration this client started on User service v2.
    pub fn pending_passkey_id(&self) -> Option<String> {
        self.api
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Removes a passkey (or an unfinished registration on v1): RemoveMyPasswordless /
    /// RemovePasskey.
    pub async fn remove_passkey(&self, id: &str) -> Result<()> {
        if !valid_id(id) {
            return Err(not_a_passkey_id(id));
        }
        on_api!(self, g => self.remove_on(g, id).await)
    }

    async fn remove_on(&self, g: ApiGeneration, id: &str) -> Result<()> {
        match g {
            ApiGeneration::V1 => self.remove_passkey_v1(id).await,
            g => {
                let uid = self.user_id().await?;
                self.v2_remove(g, uid, id).await
            }
        }
    }

    /// A registration link for another device. Always the Auth API v1
    /// (AddMyPasswordlessLink): User service v2's CreatePasskeyRegistrationLink needs
    /// `user.passkey.write`, which users lack even for themselves (G5). When the instance
    /// does not serve v1: [`Error::SelfServiceLinksUnavailable`].
    pub async fn add_passkey_link(&self) -> Result<RegistrationLink> {
        match self.add_passkey_link_v1().await {
            Err(e) if not_served(&e) => {
                tracing::info!("the instance does not serve AddMyPasswordlessLink (Auth API v1)");
                Err(Error::SelfServiceLinksUnavailable)
            }
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_and_list_their_candidates_in_order() {
        use ApiGeneration::*;
        assert_eq!("auto".parse::<ApiChoice>().unwrap(), ApiChoice::Auto);
        assert_eq!("V2".parse::<ApiChoice>().unwrap(), ApiChoice::V2);
        assert_eq!(ApiChoice::Auto.candidates(), &[V1, V2Connect, V2Rest]);
        assert_eq!(ApiChoice::V2.candidates(), &[V2Connect, V2Rest]);
        assert!("v3"
            .parse::<ApiChoice>()
            .unwrap_err()
            .contains("v2-connect"));
        let c: ApiChoice = serde_json::from_str("\"v2-rest\"").unwrap();
        assert_eq!(c, ApiChoice::V2Rest);
        assert_eq!(serde_json::to_string(&V2Connect).unwrap(), "\"v2-connect\"");
        assert!(V1.lists_unfinished() && !V2Rest.lists_unfinished());
    }

    #[test]
    fn not_served_means_an_unknown_route_or_unimplemented_not_a_missing_passkey() {
        let e = |status, body: &str| crate::error::ApiError::from_response(status, body.as_bytes());
        assert!(e(404, r#"{"code":5,"message":"Not Found"}"#).is_not_served());
        assert!(e(
            501,
            r#"{"code":"unimplemented","message":"zitadel.user.v2.UserService.X is not implemented"}"#
        )
        .is_not_served());
        assert!(!e(
            404,
            r#"{"code":5,"message":"Errors.User.WebAuthN.NotFound (COMMAND-DAfb2)"}"#
        )
        .is_not_served());
        assert!(!e(404, r#"{"code":"not_found","message":"x (COMMAND-DAfb2)"}"#).is_not_served());
    }

    #[test]
    fn settings_come_from_flags_then_the_config_file() {
        let f: crate::config::ConfigFile =
            toml::from_str("api = \"v2-connect\"\nrp_id = \"login.example.com\"\n").unwrap();
        let s = resolve_api(None, None, &f).unwrap();
        assert_eq!(s.choice, ApiChoice::V2Connect);
        assert_eq!(s.rp_id.as_deref(), Some("login.example.com"));
        let s = resolve_api(Some(ApiChoice::V1), Some(" "), &f).unwrap();
        assert_eq!(s.choice, ApiChoice::V1);
        let bad: crate::config::ConfigFile = toml::from_str("api = \"v3\"").unwrap();
        assert_eq!(
            resolve_api(None, None, &bad).unwrap_err().code(),
            "config_error"
        );
    }

    /// The same ZITADEL error over the REST gateway (`{"code": <gRPC number>, …}`) and over
    /// Connect (`{"code": "<name>", "message": "<key> (<id>)", "details": [{type, value}]}`,
    /// fidelity G4) gives the same kind, stable code and id.
    #[test]
    fn connect_and_rest_errors_map_to_the_same_codes() {
        let pairs: &[(u16, &str, &str, &str)] = &[
            (
                403,
                r#"{"code":7,"message":"Errors.PermissionDenied (AUTH-5mWD2)","details":[{"@type":"type.googleapis.com/zitadel.v1.ErrorDetail","id":"AUTH-5mWD2","message":"Errors.PermissionDenied"}]}"#,
                r#"{"code":"permission_denied","message":"Errors.PermissionDenied (AUTH-5mWD2)","details":[{"type":"zitadel.v1.ErrorDetail","value":"CgpBVVRILTVtV0Qy"}]}"#,
                "permission_denied",
            ),
            (
                404,
                r#"{"code":5,"message":"Errors.User.WebAuthN.NotFound (COMMAND-DAfb2)"}"#,
                r#"{"code":"not_found","message":"Errors.User.WebAuthN.NotFound (COMMAND-DAfb2)"}"#,
                "not_found",
            ),
            (
                401,
                r#"{"code":16,"message":"Errors.Token.Invalid (AUTH-7fs1e)"}"#,
                r#"{"code":"unauthenticated","message":"Errors.Token.Invalid (AUTH-7fs1e)"}"#,
                "session_expired",
            ),
            (
                400,
                r#"{"code":3,"message":"invalid VerifyPasskeyRegistrationRequest.PasskeyName: value length must be at least 1 runes"}"#,
                r#"{"code":"invalid_argument","message":"invalid VerifyPasskeyRegistrationRequest.PasskeyName: value length must be at least 1 runes"}"#,
                "invalid_argument",
            ),
            (
                500,
                r#"{"code":13,"message":"Errors.User.WebAuthN.ValidateLoginFailed (WEBAU-3Vb9s)"}"#,
                r#"{"code":"internal","message":"Errors.User.WebAuthN.ValidateLoginFailed (WEBAU-3Vb9s)"}"#,
                "credential_rejected",
            ),
            (
                403,
                r#"{"code":7,"message":"mfa required (AUTHZ-Kl3p0)"}"#,
                r#"{"code":"permission_denied","message":"mfa required (AUTHZ-Kl3p0)"}"#,
                "mfa_required",
            ),
        ];
        for (status, rest, connect, code) in pairs {
            let r = crate::error::ApiError::from_response(*status, rest.as_bytes());
            let c = crate::error::ApiError::from_response(*status, connect.as_bytes());
            assert_eq!(r.kind, c.kind, "{connect}");
            assert_eq!(r.kind.code(), *code, "{rest}");
            assert_eq!(r.id, c.id, "{connect}");
            assert_eq!(r.grpc_code, c.grpc_code, "{connect}");
            assert_eq!(
                r.to_string(),
                c.to_string(),
                "errors read the same to a person"
            );
        }
    }

    #[test]
    fn status_lines_say_what_and_how() {
        let s = ApiStatus {
            generation: ApiGeneration::V2Connect,
            source: ApiSource::Detected,
            learnt_at: Some(0),
            redetections: 1,
        };
        assert_eq!(
            s.describe(),
            "User service v2 (Connect), detected at 1970-01-01 00:00 UTC, detected again 1×"
        );
    }

    #[test]
    fn memory_round_trips_per_issuer() {
        let dir = tempfile::tempdir().unwrap();
        let path = memory_path(dir.path());
        let r = Remembered {
            generation: ApiGeneration::V2Rest,
            learnt_at: 5,
        };
        write_memory(&path, "https://a.example", Some(&r));
        write_memory(
            &path,
            "https://b.example",
            Some(&Remembered {
                generation: ApiGeneration::V1,
                learnt_at: 6,
            }),
        );
        let m = read_memory(&path);
        assert_eq!(m["https://a.example"].generation, ApiGeneration::V2Rest);
        assert_eq!(m["https://b.example"].learnt_at, 6);
        write_memory(&path, "https://a.example", None);
        assert!(!read_memory(&path).contains_key("https://a.example"));
        for i in 0..40 {
            let r = Remembered {
                generation: ApiGeneration::V1,
                learnt_at: 100 + i,
            };
            write_memory(&path, &format!("http://localhost:{i}"), Some(&r));
        }
        let m = read_memory(&path);
        assert_eq!(m.len(), MEMORY_ENTRIES);
        assert!(m.contains_key("http://localhost:39") && !m.contains_key("https://b.example"));
    }
}
