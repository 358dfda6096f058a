//! ZITADEL API client: the Auth API v1 calls (`/auth/v1/users/me/...`; ZITADEL contract §1, §8)
//! and, through [`crate::passkey_api`], the self-service passkey operations on whichever API
//! generation the instance serves.
//!
//! Requests go through [`ZitadelClient::call`], which adds the bearer token, refreshes once on
//! 401 and retries (a 401 means the server did nothing), and turns error bodies
//! `{code, message, details[{id}]}` (contract §4) into an [`ApiError`] keyed on the stable
//! ZITADEL error id.

pub mod passkey_api;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::webauthn::CreationOptions;

/// Gives the client a valid access token, and a new one after a 401.
#[async_trait]
pub trait AccessTokenSource: Send + Sync {
    /// A currently valid access token (refreshing first if it has expired).
    async fn access_token(&self) -> Result<Secret>;
    /// Called after the server answered 401 to `rejected`: refresh (once, even across
    /// processes) and return the new token.
    async fn refresh_after_unauthorized(&self, rejected: &Secret) -> Result<Secret>;
    /// The signed-in user's id (the ID token's `sub`), for User service v2 calls.
    async fn user_id(&self) -> Result<String> {
        Err(Error::Config(
            "this session does not know the user's id (no ID token); sign in again".into(),
        ))
    }
}

pub use crate::error::{ApiError, ApiErrorKind};

/// `AuthFactorState` (contract §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AuthFactorState {
    /// Unspecified.
    #[serde(rename = "AUTH_FACTOR_STATE_UNSPECIFIED")]
    Unspecified,
    /// Registration started, not verified.
    #[serde(rename = "AUTH_FACTOR_STATE_NOT_READY")]
    NotReady,
    /// Usable.
    #[serde(rename = "AUTH_FACTOR_STATE_READY")]
    Ready,
    /// Removed.
    #[serde(rename = "AUTH_FACTOR_STATE_REMOVED")]
    Removed,
    /// A state this version does not know.
    #[serde(other)]
    Unknown,
}

impl AuthFactorState {
    /// A short word for people and `--json`.
    pub fn label(self) -> &'static str {
        match self {
            AuthFactorState::Ready => "ready",
            AuthFactorState::NotReady => "not ready",
            AuthFactorState::Removed => "removed",
            AuthFactorState::Unspecified | AuthFactorState::Unknown => "unknown",
        }
    }
}

/// A passkey as ZITADEL lists it (`WebAuthNToken`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Passkey {
    /// Token id.
    pub id: String,
    /// State (omitted by the server when UNSPECIFIED).
    #[serde(default = "unspecified")]
    pub state: AuthFactorState,
    /// Name given at verification.
    #[serde(default)]
    pub name: String,
}

fn unspecified() -> AuthFactorState {
    AuthFactorState::Unspecified
}

/// The signed-in person (from GetMyUser).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// User id.
    pub id: String,
    /// Display name (or the user name).
    pub display_name: String,
    /// Preferred login name.
    pub login_name: String,
    /// E-mail, if any.
    pub email: Option<String>,
}

/// A registration link for another device (AddMyPasswordlessLink). Its `Debug` output hides
/// the query (which carries the one-time code): see [`redact_link`].
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationLink {
    /// The link. It carries a one-time code: show it only to the person it belongs to.
    pub link: String,
    /// Expiry as ZITADEL sends it (a Duration string such as `"3600s"`).
    pub expiration: Option<String>,
    /// Expiry in seconds, when parsable.
    pub expires_in_secs: Option<u64>,
}

/// A link with its query and fragment replaced by `?<redacted>`, for `Debug` output and logs:
/// ZITADEL's registration links carry the one-time code in the query.
pub fn redact_link(link: &str) -> String {
    match link.find(['?', '#']) {
        Some(i) => format!("{}?<redacted>", &link[..i]),
        None => link.to_string(),
    }
}

impl std::fmt::Debug for RegistrationLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationLink")
            .field("link", &redact_link(&self.link))
            .field("expiration", &self.expiration)
            .field("expires_in_secs", &self.expires_in_secs)
            .finish()
    }
}

/// ZITADEL API client. Clones share the passkey port's state (the API generation learnt, the
/// pending v2 registration).
#[derive(Clone)]
pub struct ZitadelClient {
    base: Url,
    http: reqwest::Client,
    tokens: Arc<dyn AccessTokenSource>,
    pub(crate) api: Arc<crate::passkey_api::ApiState>,
}

impl std::fmt::Debug for ZitadelClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZitadelClient")
            .field("base", &self.base.as_str())
            .finish()
    }
}

/// Overall timeout of one HTTP request, in seconds, unless `PASSKEYS_HTTP_TIMEOUT_SECS` says
/// otherwise.
pub const DEFAULT_HTTP_TIMEOUT_SECS: u64 = 60;

/// An HTTP client with redirects off (no token leaks to another host) and timeouts: 10 s to
/// connect, [`DEFAULT_HTTP_TIMEOUT_SECS`] (or `$PASSKEYS_HTTP_TIMEOUT_SECS`) per request.
pub fn http_client() -> Result<reqwest::Client> {
    let timeout = std::env::var("PASSKEYS_HTTP_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(DEFAULT_HTTP_TIMEOUT_SECS);
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(10.min(timeout)))
        .timeout(std::time::Duration::from_secs(timeout))
        .user_agent(concat!("passkey-enroll/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

fn network(url: &Url, e: &reqwest::Error) -> Error {
    let mut reason = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        reason = format!("{reason}: {s}");
        src = s.source();
    }
    Error::Network {
        url: url.to_string(),
        reason,
    }
}

impl ZitadelClient {
    /// A client for the instance at `base` (the issuer URL).
    pub fn new(base: Url, http: reqwest::Client, tokens: Arc<dyn AccessTokenSource>) -> Self {
        Self {
            base,
            http,
            tokens,
            api: Arc::default(),
        }
    }

    pub(crate) fn tokens(&self) -> &dyn AccessTokenSource {
        self.tokens.as_ref()
    }

    /// The instance URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .map_err(|e| Error::Config(format!("bad API path {path}: {e}")))
    }

    /// Sends one request with the bearer token; on 401 refreshes once and retries.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value> {
        self.call_api(method, path, body, false).await
    }

    /// [`ZitadelClient::call`]; with `connect`, as a Connect unary JSON call
    /// (`Connect-Protocol-Version: 1`; ZITADEL does not require it, the protocol asks for it).
    pub(crate) async fn call_api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        connect: bool,
    ) -> Result<serde_json::Value> {
        let url = self.url(path)?;
        let mut token = self.tokens.access_token().await?;
        for attempt in 0..2 {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header("Accept", "application/json")
                .bearer_auth(token.expose());
            if connect {
                req = req.header("Connect-Protocol-Version", "1");
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            tracing::debug!(%method, path, attempt, "ZITADEL API request");
            let resp = req.send().await.map_err(|e| network(&url, &e))?;
            let status = resp.status().as_u16();
            let bytes = crate::http::read_capped(resp, crate::http::API)
                .await
                .map_err(|e| e.into_error(url.as_str()))?;
            if (200..300).contains(&status) {
                if bytes.is_empty() {
                    return Ok(serde_json::json!({}));
                }
                return serde_json::from_slice(&bytes).map_err(|e| {
                    Error::Api(ApiError {
                        kind: ApiErrorKind::Other,
                        status,
                        grpc_code: None,
                        id: None,
                        server_message: format!("the reply to {path} is not JSON ({e})"),
                    })
                });
            }
            let err = ApiError::from_response(status, &bytes);
            tracing::debug!(status, id = ?err.id, message = %err.server_message, "ZITADEL API error");
            // 401, or 403 with a token message on instances before v2.60: refresh once and
            // retry (the server did nothing), then report.
            if err.kind == ApiErrorKind::Unauthenticated && attempt == 0 {
                token = self.tokens.refresh_after_unauthorized(&token).await?;
                continue;
            }
            if status == 401 {
                return Err(Error::SessionExpired);
            }
            return Err(Error::Api(err));
        }
        Err(Error::SessionExpired)
    }

    pub(crate) fn shape_error(path: &str, what: &str) -> Error {
        Error::Api(ApiError {
            kind: ApiErrorKind::Other,
            status: 200,
            grpc_code: None,
            id: None,
            server_message: format!("unexpected reply shape from {path}: {what}"),
        })
    }

    pub(crate) fn decode<T: serde::de::DeserializeOwned>(
        path: &str,
        value: serde_json::Value,
    ) -> Result<T> {
        serde_json::from_value(value).map_err(|e| Self::shape_error(path, &e.to_string()))
    }

    /// GetMyUser: `GET /auth/v1/users/me`.
    pub(crate) async fn get_my_user_v1(&self) -> Result<Me> {
        let path = "/auth/v1/users/me";
        let v = self.call(reqwest::Method::GET, path, None).await?;
        Self::me_from(path, &v["user"], "id", "userName")
    }

    /// A [`Me`] from a v1 `user` (`id`, `userName`) or a User service v2 `user` (`userId`,
    /// `username`); both have `preferredLoginName`, `loginNames` and
    /// `human.profile.displayName`, `human.email.email`.
    pub(crate) fn me_from(
        path: &str,
        user: &serde_json::Value,
        id_key: &str,
        user_name_key: &str,
    ) -> Result<Me> {
        let id = user[id_key].as_str().unwrap_or_default().to_string();
        if id.is_empty() {
            return Err(Self::shape_error(
                path,
                &format!("user.{id_key} is missing"),
            ));
        }
        let user_name = user[user_name_key].as_str().unwrap_or_default();
        let human = &user["human"];
        let display_name = human["profile"]["displayName"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or(user_name)
            .to_string();
        let login_name = user["preferredLoginName"]
            .as_str()
            .or_else(|| user["loginNames"].get(0).and_then(|v| v.as_str()))
            .unwrap_or(user_name)
            .to_string();
        let email = human["email"]["email"].as_str().map(str::to_string);
        Ok(Me {
            id,
            display_name,
            login_name,
            email,
        })
    }

    /// ListMyPasswordless: `POST /auth/v1/users/me/passwordless/_search`. ZITADEL lists READY
    /// passkeys only; an empty list comes back as `{}`.
    pub(crate) async fn list_passkeys_v1(&self) -> Result<Vec<Passkey>> {
        let path = "/auth/v1/users/me/passwordless/_search";
        let v = self
            .call(reqwest::Method::POST, path, Some(&serde_json::json!({})))
            .await?;
        match v.get("result") {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(r) => Self::decode(path, r.clone()),
        }
    }

    /// AddMyPasswordless: `POST /auth/v1/users/me/passwordless`. Starts a registration (replacing
    /// any pending one) and returns the decoded creation options.
    pub(crate) async fn add_passkey_v1(&self) -> Result<CreationOptions> {
        let path = "/auth/v1/users/me/passwordless";
        let v = self
            .call(reqwest::Method::POST, path, Some(&serde_json::json!({})))
            .await?;
        let pk = v["key"]["publicKey"].as_str().ok_or_else(|| {
            Error::Options(crate::webauthn::OptionsError::Malformed {
                member: "key.publicKey".into(),
                reason: "is missing from the AddMyPasswordless reply".into(),
            })
        })?;
        Ok(CreationOptions::from_add_response(pk)?)
    }

    /// VerifyMyPasswordless: `POST /auth/v1/users/me/passwordless/_verify` with
    /// `{"verification":{"publicKeyCredential": base64(credential JSON), "tokenName": name}}`.
    /// The reply carries no id.
    pub(crate) async fn verify_passkey_v1(
        &self,
        credential_json: &[u8],
        token_name: &str,
    ) -> Result<()> {
        let body = serde_json::json!({
            "verification": {
                "publicKeyCredential": crate::b64::std_padded(credential_json),
                "tokenName": token_name,
            }
        });
        self.call(
            reqwest::Method::POST,
            "/auth/v1/users/me/passwordless/_verify",
            Some(&body),
        )
        .await
        .map(|_| ())
    }

    /// RemoveMyPasswordless: `DELETE /auth/v1/users/me/passwordless/{tokenId}`.
    /// The id is checked by [`ZitadelClient::remove_passkey`].
    pub(crate) async fn remove_passkey_v1(&self, id: &str) -> Result<()> {
        self.call(
            reqwest::Method::DELETE,
            &format!("/auth/v1/users/me/passwordless/{id}"),
            None,
        )
        .await
        .map(|_| ())
    }

    /// AddMyPasswordlessLink: `POST /auth/v1/users/me/passwordless/_link`. The link must pass
    /// [`crate::links::check_server_link`] for this instance, or [`Error::UntrustedLink`].
    pub(crate) async fn add_passkey_link_v1(&self) -> Result<RegistrationLink> {
        let path = "/auth/v1/users/me/passwordless/_link";
        let v = self
            .call(reqwest::Method::POST, path, Some(&serde_json::json!({})))
            .await?;
        let link = v["link"].as_str().unwrap_or_default().to_string();
        if link.is_empty() {
            return Err(Self::shape_error(path, "link is missing"));
        }
        // Checked before anything shows or opens it (issue 12, item 1); only the re-serialised
        // form is kept.
        let link = crate::links::check_server_link(&link, &self.base)?.to_string();
        let expiration = v["expiration"].as_str().map(str::to_string);
        let expires_in_secs = expiration
            .as_deref()
            .and_then(|s| s.strip_suffix('s'))
            .and_then(|s| s.split('.').next())
            .and_then(|s| s.parse().ok());
        Ok(RegistrationLink {
            link,
            expiration,
            expires_in_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_map_to_kinds_by_stable_id() {
        let cases: &[(u16, &str, ApiErrorKind, Option<&str>)] = &[
            (
                500,
                r#"{"code":13,"message":"Error on create credentials (WEBAU-3Vb9s)","details":[{"@type":"type.googleapis.com/zitadel.v1.ErrorDetail","id":"WEBAU-3Vb9s","message":"Error on create credentials"}]}"#,
                ApiErrorKind::CredentialRejected,
                Some("WEBAU-3Vb9s"),
            ),
            (
                500,
                r#"{"code":13,"message":"Errors.User.WebAuthN.NotFound (WEBAU-5M9so)"}"#,
                ApiErrorKind::NoPendingRegistration,
                Some("WEBAU-5M9so"),
            ),
            (
                500,
                r#"{"code":13,"message":"x","details":[{"id":"WEBAU-sEr8c"}]}"#,
                ApiErrorKind::CredentialUnparsable,
                Some("WEBAU-sEr8c"),
            ),
            (
                401,
                r#"{"code":16,"message":"Errors.Token.Invalid (AUTH-7fs1e)"}"#,
                ApiErrorKind::Unauthenticated,
                Some("AUTH-7fs1e"),
            ),
            (
                401,
                r#"{"code":16,"message":"auth header missing"}"#,
                ApiErrorKind::Unauthenticated,
                None,
            ),
            (
                403,
                r#"{"code":7,"message":"mfa required (AUTHZ-Kl3p0)"}"#,
                ApiErrorKind::MfaRequired,
                Some("AUTHZ-Kl3p0"),
            ),
            // Before v2.60: an expired or superseded token is 403 (gRPC 7), refreshed like a 401.
            (
                403,
                r#"{"code":7,"message":"Errors.OIDCSession.Token.Expired (OIDCS-2nh3x)","details":[{"@type":"type.googleapis.com/zitadel.v1.ErrorDetail","id":"OIDCS-2nh3x","message":"Errors.OIDCSession.Token.Expired"}]}"#,
                ApiErrorKind::Unauthenticated,
                Some("OIDCS-2nh3x"),
            ),
            (
                403,
                r#"{"code":7,"message":"Errors.OIDCSession.Token.Invalid"}"#,
                ApiErrorKind::Unauthenticated,
                None,
            ),
            // A webview-originated call (never made by this app): not a token problem.
            (
                403,
                r#"{"code":7,"message":"Errors.OriginNotAllowed (AUTH-DZG21)"}"#,
                ApiErrorKind::PermissionDenied,
                Some("AUTH-DZG21"),
            ),
            // v3 relational errors carry a `slug` instead of an `id` (fidelity E7).
            (
                404,
                r#"{"code":5,"message":"user not found (user.not_found)","details":[{"@type":"type.googleapis.com/zitadel.error.v2.ErrorDetail","slug":"user.not_found","message":"user not found"}]}"#,
                ApiErrorKind::NotFound,
                None,
            ),
            (
                404,
                r#"{"code":5,"message":"Not Found"}"#,
                ApiErrorKind::NotFound,
                None,
            ),
            (
                400,
                r#"{"code":3,"message":"invalid VerifyMyPasswordlessRequest.Verification: embedded message failed validation | caused by: invalid WebAuthNVerification.TokenName: value length must be at least 1 runes"}"#,
                ApiErrorKind::InvalidArgument,
                None,
            ),
            (
                503,
                "<html>bad gateway</html>",
                ApiErrorKind::Unavailable,
                None,
            ),
            (500, "", ApiErrorKind::Other, None),
            (502, "{\"code\":\"oops\"}", ApiErrorKind::Other, None),
        ];
        for (status, body, kind, id) in cases {
            let e = ApiError::from_response(*status, body.as_bytes());
            assert_eq!(e.kind, *kind, "{body}");
            assert_eq!(e.id.as_deref(), *id, "{body}");
            let text = e.to_string();
            assert!(!text.contains("Errors."), "no raw i18n key in {text:?}");
        }
    }

    #[test]
    fn registration_link_debug_hides_the_one_time_code() {
        let link = RegistrationLink {
            link: "https://a.example/ui/login/login/passwordless/init?userID=1&codeID=2&code=SECRETCODE".into(),
            expiration: Some("3600s".into()),
            expires_in_secs: Some(3600),
        };
        let text = format!("{link:?}");
        assert!(!text.contains("SECRETCODE"), "{text}");
        assert!(text.contains("https://a.example/ui/login/login/passwordless/init?<redacted>"));
        assert_eq!(redact_link("https://a.example/x"), "https://a.example/x");
    }

    #[test]
    fn passkey_list_tolerates_omitted_zero_values_and_unknown_states() {
        let v: Vec<Passkey> = serde_json::from_str(
            r#"[{"id":"1","state":"AUTH_FACTOR_STATE_READY","name":"a"},{"id":"2"},{"id":"3","state":"AUTH_FACTOR_STATE_NEW"}]"#,
        )
        .unwrap();
        assert_eq!(v[0].state, AuthFactorState::Ready);
        assert_eq!(v[1].state, AuthFactorState::Unspecified);
        assert_eq!(v[1].name, "");
        assert_eq!(v[2].state, AuthFactorState::Unknown);
    }
}
