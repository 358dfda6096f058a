//! Sign-in: OAuth 2.0 authorization code flow with PKCE (RFC 7636, S256) for a native app
//! (RFC 8252), on top of OpenID Connect discovery and ID token validation from the
//! `openidconnect` crate.
//!
//! Steps of [`Oidc::sign_in`]:
//! 1. bind the loopback listener (RFC 8252 §7.3) and build `redirect_uri` from its port;
//! 2. build the authorization URL with `state`, `nonce` and `code_challenge`
//!    (`code_challenge_method=S256`), scopes [`SCOPES`];
//! 3. open it in the system browser (and show it, so the person can copy it);
//! 4. wait for the callback with the matching `state`;
//! 5. exchange the code with the `code_verifier` and the same `redirect_uri`;
//! 6. validate the ID token (JWKS signature, `iss`, `aud` + `azp`, `exp`, `nonce`; OIDC Core
//!    §3.1.3.7), re-reading the JWKS once when the token's `kid` is unknown (keys rotate);
//! 7. read the person's name from the userinfo endpoint (ZITADEL puts no names in the ID token
//!    unless the app's "User Info inside ID Token" setting is on);
//! 8. answer the browser tab with the outcome of the whole sign-in.
//!
//! ZITADEL's ID tokens list several audiences: every app of the project, the project id and,
//! with the `urn:zitadel:iam:org:project:id:zitadel:aud` scope, the ZITADEL project
//! (zitadel/zitadel#9200). The check here accepts any other audience when `aud` holds our client
//! id and `azp` equals it.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClient, CoreClientAuthMethod, CoreErrorResponseType, CoreGrantType, CoreIdToken,
    CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKey, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError, ClientId, CsrfToken,
    IssuerUrl, Nonce, NonceVerifier, OAuth2TokenResponse, PkceCodeChallenge, ProviderMetadata,
    RedirectUrl, RefreshToken, Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::browser::Browser;
use crate::config::{require_secure, Issuer};
use crate::error::{Error, Result};
use crate::http::{read_capped, CappedClient, ReadError};
use crate::loopback::{Expect, FinalPage, LoopbackListener};
use crate::secret::Secret;
use crate::tokens::TokenSet;

/// Scopes requested at sign-in. `offline_access` asks for a refresh token;
/// `urn:zitadel:iam:org:project:id:zitadel:aud` puts ZITADEL's API in the token's audience
/// (without it the Auth API answers 401; ZITADEL contract §6.6).
pub const SCOPES: [&str; 5] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "urn:zitadel:iam:org:project:id:zitadel:aud",
];

/// Discovery members that `openidconnect`'s core metadata does not model.
#[derive(Clone, Debug, Deserialize, Serialize, Default)]
pub struct ExtraMetadata {
    /// RFC 7009 revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// OIDC RP-initiated logout endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// RFC 7662 introspection endpoint (not used; checked like the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// RFC 8628 device authorization endpoint (not used; checked like the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// A discovered OpenID provider and our client at it.
#[derive(Clone)]
pub struct Oidc {
    issuer: Issuer,
    client_id: String,
    metadata: Metadata,
    http: reqwest::Client,
    /// The signing keys, re-read when an ID token names a key that is not in them.
    jwks: Arc<RwLock<CoreJsonWebKeySet>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer.as_str)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// The person, from the validated ID token and the userinfo endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedIn {
    /// `sub`.
    pub subject: String,
    /// `name`, else `preferred_username`, from the ID token when it carries them, else from
    /// userinfo (OIDC Core §5.3). `None` when neither has one (ZITADEL omits an empty display
    /// name).
    pub name: Option<String>,
}

/// How an existing sign-in session in the browser is treated (OIDC Core §3.1.2.1 `prompt`).
/// Without a prompt ZITADEL reuses a single active browser session silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SignInPrompt {
    /// `prompt=select_account`: let the person choose or add an account ("sign in as someone
    /// else").
    SelectAccount,
    /// `prompt=login`: ask for the credentials again (e.g. to sign in with a second factor).
    Login,
}

impl std::str::FromStr for SignInPrompt {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "select_account" | "select-account" => Ok(SignInPrompt::SelectAccount),
            "login" => Ok(SignInPrompt::Login),
            _ => Err(format!("unknown prompt {s:?}: use select_account or login")),
        }
    }
}

/// Options of one browser sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInOptions {
    /// Bound on the whole sign-in: waiting for the browser, the code exchange and the checks.
    pub timeout: Duration,
    /// `prompt`, if any.
    pub prompt: Option<SignInPrompt>,
}

impl SignInOptions {
    /// A sign-in bounded by `timeout`, reusing the browser session as the server sees fit.
    pub fn new(timeout: Duration) -> Self {
        SignInOptions {
            timeout,
            prompt: None,
        }
    }

    /// The same with `prompt`.
    pub fn with_prompt(mut self, prompt: Option<SignInPrompt>) -> Self {
        self.prompt = prompt;
        self
    }
}

/// What RP-initiated logout in the browser achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum BrowserLogout {
    /// The browser came back to the app after ZITADEL ended its session.
    Confirmed,
    /// The browser was sent to ZITADEL's logout but did not come back in time; the usual cause
    /// is a post-logout redirect URI that is not registered on the app.
    Unconfirmed,
    /// Nothing to do: the provider has no `end_session_endpoint`, or no ID token was kept.
    NotSupported,
    /// Not asked for.
    Skipped,
}

/// Refresh-grant errors that mean the session is over (RFC 6749 §5.2). ZITADEL answers a
/// reused, expired or revoked refresh token with `invalid_request`
/// (`Errors.OIDCSession.RefreshTokenInvalid`; zitadel/zitadel#11892), others with
/// `invalid_grant`; an app without the refresh-token grant answers `unauthorized_client`.
fn ends_session(error: &CoreErrorResponseType) -> bool {
    matches!(
        error,
        CoreErrorResponseType::InvalidGrant
            | CoreErrorResponseType::InvalidRequest
            | CoreErrorResponseType::UnauthorizedClient
    )
}

fn req_err<E: std::error::Error>(e: E) -> String {
    crate::http::chain(&e)
}

fn describe_server_error(
    r: &openidconnect::StandardErrorResponse<CoreErrorResponseType>,
) -> String {
    format!(
        "{}{}",
        r.error(),
        r.error_description()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default()
    )
}

type TokenError<RE> = openidconnect::RequestTokenError<
    RE,
    openidconnect::StandardErrorResponse<CoreErrorResponseType>,
>;

/// A reply from the token endpoint that was too large, as [`Error::ResponseTooLarge`].
fn token_too_large(e: TokenError<ReadError>) -> std::result::Result<Error, TokenError<ReadError>> {
    match e {
        openidconnect::RequestTokenError::Request(ReadError::TooLarge { limit, url }) => {
            Ok(Error::ResponseTooLarge {
                endpoint: limit.endpoint,
                url,
                limit: limit.bytes,
            })
        }
        other => Err(other),
    }
}

/// An error of the refresh grant: the end of the session, or a failure to report.
fn refresh_error<RE: std::error::Error + 'static>(e: TokenError<RE>) -> Error {
    match e {
        openidconnect::RequestTokenError::ServerResponse(r) if ends_session(r.error()) => {
            tracing::info!(
                "the refresh token was refused ({}): the session is over",
                describe_server_error(&r)
            );
            Error::SessionExpired
        }
        openidconnect::RequestTokenError::ServerResponse(r) => Error::TokenRequest(format!(
            "refreshing the session failed: {}",
            describe_server_error(&r)
        )),
        other => Error::TokenRequest(format!("refreshing the session failed: {}", req_err(other))),
    }
}

/// An error of the authorization-code exchange, with what the person or their ZITADEL
/// administrator can do.
fn code_exchange_error<RE: std::error::Error + 'static>(e: TokenError<RE>) -> Error {
    match e {
        openidconnect::RequestTokenError::ServerResponse(r) => {
            let advice = match r.error() {
                CoreErrorResponseType::InvalidClient => "ZITADEL does not know this client id: check it against the Client ID of the Native app in ZITADEL",
                CoreErrorResponseType::UnauthorizedClient => "the app in ZITADEL does not allow the Authorization Code grant: ask your ZITADEL administrator to enable it on the Native app",
                CoreErrorResponseType::InvalidGrant | CoreErrorResponseType::InvalidRequest => "the sign-in code was refused (expired, used twice, or sent back by another sign-in): sign in again",
                _ => "sign in again; if it keeps failing, give your ZITADEL administrator this message",
            };
            Error::TokenRequest(format!(
                "ZITADEL refused the sign-in code: {}; {advice}",
                describe_server_error(&r)
            ))
        }
        other => Error::TokenRequest(format!(
            "exchanging the sign-in code failed: {}",
            req_err(other)
        )),
    }
}

/// A refused ID token, with the reason and what to do (OIDC Core §3.1.3.7).
fn id_token_refused(e: &ClaimsVerificationError, client_id: &str) -> Error {
    let (reason, advice) = match e {
        ClaimsVerificationError::InvalidAudience(d) => (
            format!("it was not issued for this app (client id {client_id}): {d}"),
            "Check the client id: it must be the Client ID of the Native app in ZITADEL that this app signs in with",
        ),
        ClaimsVerificationError::InvalidIssuer(d) => (
            format!("it names another issuer: {d}"),
            "Check the issuer URL: use the instance URL exactly as ZITADEL reports it (scheme, host and port)",
        ),
        ClaimsVerificationError::Expired(d) => (
            format!("it has expired: {d}"),
            "Check this computer's date, time and time zone, then sign in again",
        ),
        ClaimsVerificationError::InvalidNonce(_) => (
            "its nonce does not belong to this sign-in".to_string(),
            "The reply belongs to another sign-in attempt (an old browser tab?). Sign in again",
        ),
        ClaimsVerificationError::SignatureVerification(s) => (
            format!("its signature does not verify with the instance's published keys ({s})"),
            "Sign in again; if it keeps failing, something between you and ZITADEL changes its replies, or the instance's signing keys are broken: tell your ZITADEL administrator",
        ),
        other => (
            other.to_string(),
            "Sign in again; if it keeps failing, give your ZITADEL administrator this message",
        ),
    };
    Error::InvalidIdToken { reason, advice }
}

/// The userinfo reply members this app reads.
#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    name: Option<String>,
    preferred_username: Option<String>,
}

/// The `sub` claim of an ID token this app received and checked earlier (kept in the token
/// store): the payload is read without checking the signature again. `None` when it is not
/// a JWT with a string `sub`.
pub fn id_token_subject(id_token: &Secret) -> Option<String> {
    let payload = id_token.expose().split('.').nth(1)?;
    let bytes = crate::b64::decode_lenient(payload).ok()?;
    #[derive(Deserialize)]
    struct Claims {
        sub: String,
    }
    serde_json::from_slice::<Claims>(&bytes)
        .ok()
        .map(|c| c.sub)
        .filter(|s| !s.is_empty())
}

/// Checks an ID token against `jwks` (signature, `iss`, `aud`, `exp`, nonce) and then `azp`:
/// `aud` must hold `client_id`, in any position, among any other values; with more than one
/// audience `azp` must be present, and when present it must equal `client_id` (OIDC Core
/// §3.1.3.7 items 3–5; `openidconnect` leaves items 4–5 to the client).
///
/// `algs` are the signing algorithms the provider advertises
/// (`id_token_signing_alg_values_supported`; ZITADEL v4 lists EdDSA, RS256–512 and ES256–512);
/// symmetric algorithms and `none` are never accepted from a public client.
pub fn verify_id_token<N: NonceVerifier>(
    id_token: &CoreIdToken,
    client_id: &str,
    issuer: &IssuerUrl,
    jwks: CoreJsonWebKeySet,
    algs: &[CoreJwsSigningAlgorithm],
    nonce: N,
) -> std::result::Result<CoreIdTokenClaims, ClaimsVerificationError> {
    let algs: Vec<CoreJwsSigningAlgorithm> = algs
        .iter()
        .filter(|a| {
            !matches!(
                a,
                CoreJwsSigningAlgorithm::HmacSha256
                    | CoreJwsSigningAlgorithm::HmacSha384
                    | CoreJwsSigningAlgorithm::HmacSha512
                    | CoreJwsSigningAlgorithm::None
            )
        })
        .cloned()
        .collect();
    let mut verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client_id.to_string()),
        issuer.clone(),
        jwks,
    )
    .set_other_audience_verifier_fn(|_| true);
    if !algs.is_empty() {
        verifier = verifier.set_allowed_algs(algs);
    }
    let claims = id_token.claims(&verifier, nonce)?.clone();
    match claims.authorized_party() {
        Some(azp) if azp.as_str() != client_id => Err(ClaimsVerificationError::InvalidAudience(
            format!("the authorized party (azp) is {azp:?}, not this app"),
        )),
        None if claims.audiences().len() > 1 => Err(ClaimsVerificationError::InvalidAudience(
            "several audiences but no authorized party (azp)".into(),
        )),
        _ => Ok(claims),
    }
}

fn is_unknown_key(e: &ClaimsVerificationError) -> bool {
    matches!(
        e,
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)
    )
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn token_set(
    resp: &openidconnect::core::CoreTokenResponse,
    previous_refresh: Option<&Secret>,
) -> TokenSet {
    TokenSet {
        access_token: Secret::new(resp.access_token().secret().clone()),
        refresh_token: resp
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone()))
            .or_else(|| previous_refresh.cloned()),
        id_token: resp.id_token().map(|t| Secret::new(t.to_string())),
        expires_at: resp
            .expires_in()
            .map(|d| now() + i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)),
        scope: resp
            .scopes()
            .map(|s| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" ")),
    }
}

/// Parses a discovery document for `issuer` and checks it: the issuer in it must equal the
/// configured one exactly (OIDC Discovery §4.3), every endpoint must be on the issuer's origin
/// ([`check_endpoints`]), and there must be a token endpoint. The reason for a refusal names the
/// member at fault.
fn parse_metadata(body: &[u8], issuer: &Issuer) -> std::result::Result<Metadata, String> {
    let metadata: Metadata =
        serde_json::from_slice(body).map_err(|e| format!("it is not usable ({e})"))?;
    if metadata.issuer().as_str() != issuer.as_str {
        return Err(format!(
            "unexpected issuer URI `{}` (expected `{}`) (the issuer in the document must equal the URL you gave)",
            metadata.issuer().as_str(),
            issuer.as_str
        ));
    }
    check_endpoints(&metadata, &issuer.url)?;
    if metadata.token_endpoint().is_none() {
        return Err("the document has no token_endpoint".into());
    }
    Ok(metadata)
}

/// Checks a discovery document for `issuer` as [`Oidc::discover`] does before it reads or
/// sends anything else (for the fuzz target and tests).
///
/// # Errors
/// [`Error::Discovery`] naming the member at fault.
pub fn check_discovery_document(body: &[u8], issuer: &Issuer) -> Result<()> {
    parse_metadata(body, issuer)
        .map(|_| ())
        .map_err(|reason| Error::Discovery {
            issuer: issuer.as_str.clone(),
            reason,
        })
}

/// Checks that every endpoint of the discovery document is on the issuer's origin (scheme,
/// host and port; issue 12, item 5): ZITADEL serves all of them there, so an endpoint elsewhere
/// means a tampered or foreign document, and would send tokens (revocation, userinfo), codes
/// (token) or the person (authorization, end_session) to another server. Each must also be
/// `https`, or `http` on a loopback issuer ([`require_secure`]). The error names the endpoint.
fn check_endpoints(metadata: &Metadata, issuer: &Url) -> std::result::Result<(), String> {
    let extra = metadata.additional_metadata();
    let list: [(&str, Option<String>); 9] = [
        (
            "authorization_endpoint",
            Some(metadata.authorization_endpoint().as_str().to_string()),
        ),
        (
            "token_endpoint",
            metadata.token_endpoint().map(|u| u.as_str().to_string()),
        ),
        (
            "userinfo_endpoint",
            metadata.userinfo_endpoint().map(|u| u.as_str().to_string()),
        ),
        ("jwks_uri", Some(metadata.jwks_uri().as_str().to_string())),
        ("revocation_endpoint", extra.revocation_endpoint.clone()),
        ("end_session_endpoint", extra.end_session_endpoint.clone()),
        (
            "introspection_endpoint",
            extra.introspection_endpoint.clone(),
        ),
        (
            "device_authorization_endpoint",
            extra.device_authorization_endpoint.clone(),
        ),
        (
            "registration_endpoint",
            metadata
                .registration_endpoint()
                .map(|u| u.as_str().to_string()),
        ),
    ];
    for (name, value) in list {
        let Some(value) = value else { continue };
        check_endpoint(name, &value, issuer)?;
    }
    Ok(())
}

/// One endpoint of a discovery document (see [`check_discovery_document`]): on the issuer's
/// origin, without credentials, https or loopback http.
pub fn check_endpoint(name: &str, value: &str, issuer: &Url) -> std::result::Result<(), String> {
    let url = Url::parse(value).map_err(|e| format!("its {name} is not a URL ({e})"))?;
    if url.origin() != issuer.origin() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "its {name} points to {}, not to the issuer's own site {}; ZITADEL serves every endpoint there, so the document was refused",
            crate::links::describe(&url),
            issuer.origin().ascii_serialization()
        ));
    }
    require_secure(&url).map_err(|e| format!("its {name}: {e}"))
}

impl Oidc {
    /// Runs OIDC discovery (`/.well-known/openid-configuration` and the JWKS). The issuer in
    /// the document must equal the configured issuer exactly (OIDC Discovery §4.3), and every
    /// endpoint must be on the issuer's origin (see [`check_discovery_document`]) before anything else is
    /// read or sent. Both replies are read with a limit ([`crate::http::DISCOVERY`],
    /// [`crate::http::JWKS`]).
    pub async fn discover(issuer: &Issuer, client_id: &str, http: reqwest::Client) -> Result<Self> {
        let discovery = |reason: String| Error::Discovery {
            issuer: issuer.as_str.clone(),
            reason,
        };
        let issuer_url =
            IssuerUrl::new(issuer.as_str.clone()).map_err(|e| discovery(e.to_string()))?;
        let doc_url = issuer_url
            .join(".well-known/openid-configuration")
            .map_err(|e| discovery(e.to_string()))?;
        let resp = http
            .get(doc_url.clone())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| discovery(format!("{doc_url}: {}", req_err(e))))?;
        let status = resp.status();
        let body = read_capped(resp, crate::http::DISCOVERY)
            .await
            .map_err(|e| match e {
                e @ ReadError::TooLarge { .. } => e.into_error(doc_url.as_str()),
                e => discovery(format!("{doc_url}: {e}")),
            })?;
        if status != reqwest::StatusCode::OK {
            return Err(discovery(format!("HTTP status code {status} at {doc_url}")));
        }
        let mut metadata = parse_metadata(&body, issuer).map_err(|reason| {
            discovery(format!("the document at {doc_url} was refused: {reason}"))
        })?;
        let keys = CoreJsonWebKeySet::fetch_async(
            metadata.jwks_uri(),
            &CappedClient::new(&http, crate::http::JWKS),
        )
        .await
        .map_err(|e| match e {
            openidconnect::DiscoveryError::Request(e @ ReadError::TooLarge { .. }) => {
                e.into_error(metadata.jwks_uri().as_str())
            }
            e => discovery(format!(
                "the signing keys at {} could not be read: {}",
                metadata.jwks_uri().as_str(),
                req_err(e)
            )),
        })?;
        metadata = metadata.set_jwks(keys);
        let jwks = Arc::new(RwLock::new(metadata.jwks().clone()));
        Ok(Self {
            issuer: issuer.clone(),
            client_id: client_id.to_string(),
            metadata,
            http,
            jwks,
        })
    }

    /// The issuer.
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Signs in through the browser. `show_url` is called with the authorization URL before
    /// the browser is opened, so the person can open it by hand. The browser tab is answered
    /// with the outcome once the code is exchanged and the ID token checked.
    pub async fn sign_in(
        &self,
        browser: &dyn Browser,
        options: &SignInOptions,
        show_url: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<(TokenSet, SignedIn)> {
        let started = std::time::Instant::now();
        let listener = LoopbackListener::bind().await?;
        let redirect_uri = listener.redirect_uri().to_string();
        let client = CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.client_id.clone()),
            None,
        )
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.clone()).map_err(|e| Error::Config(e.to_string()))?,
        );
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for s in SCOPES.iter().skip(1) {
            request = request.add_scope(Scope::new((*s).to_string()));
        }
        match options.prompt {
            Some(SignInPrompt::SelectAccount) => {
                request = request.add_prompt(CoreAuthPrompt::SelectAccount)
            }
            Some(SignInPrompt::Login) => request = request.add_prompt(CoreAuthPrompt::Login),
            None => {}
        }
        let (url, state, nonce) = request.url();
        show_url(url.as_str());
        if let Err(e) = browser.open(url.as_str()).await {
            tracing::warn!("{e}");
        }
        let (code, reply) = listener
            .wait_for_code(Secret::new(state.secret().clone()), options.timeout)
            .await?;
        let remaining = options.timeout.saturating_sub(started.elapsed());
        let finish = async {
            let response = client
                .exchange_code(AuthorizationCode::new(code.expose().to_string()))
                .map_err(|e| Error::TokenRequest(e.to_string()))?
                .set_pkce_verifier(verifier)
                .request_async(&CappedClient::new(&self.http, crate::http::TOKEN))
                .await
                .map_err(|e| token_too_large(e).unwrap_or_else(code_exchange_error))?;
            let id_token = response.id_token().ok_or_else(|| Error::InvalidIdToken {
                reason: "the token response has no id_token".into(),
                advice: "The sign-in must include the openid scope; check that the issuer is an OpenID Connect provider",
            })?;
            let claims = self.check_id_token(id_token, &nonce).await?;
            let tokens = token_set(&response, None);
            let from_token = claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string())
                .or_else(|| claims.preferred_username().map(|u| u.to_string()));
            let name = match from_token {
                Some(n) => Some(n),
                None => self
                    .userinfo_name(&tokens.access_token, claims.subject().as_str())
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!("could not read the name from userinfo: {e}");
                        None
                    }),
            };
            let signed_in = SignedIn {
                subject: claims.subject().to_string(),
                name,
            };
            Ok::<_, Error>((tokens, signed_in))
        };
        let result = match tokio::time::timeout(remaining, finish).await {
            Ok(r) => r,
            Err(_) => Err(Error::SignInTimedOut {
                seconds: options.timeout.as_secs(),
            }),
        };
        reply
            .finish(if result.is_ok() {
                FinalPage::SignedIn
            } else {
                FinalPage::Failed
            })
            .await;
        result
    }

    /// Checks an ID token from this provider (see [`verify_id_token`]). When its `kid` is not in
    /// the keys read so far, the JWKS is read again once (ZITADEL rotates signing keys; the app
    /// stays open for hours) before the token is refused.
    pub async fn check_id_token(
        &self,
        id_token: &CoreIdToken,
        nonce: &Nonce,
    ) -> Result<CoreIdTokenClaims> {
        let issuer = self.metadata.issuer().clone();
        let algs = self
            .metadata
            .id_token_signing_alg_values_supported()
            .clone();
        let jwks = self
            .jwks
            .read()
            .map(|k| k.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        match verify_id_token(id_token, &self.client_id, &issuer, jwks, &algs, nonce) {
            Ok(c) => Ok(c),
            Err(e) if is_unknown_key(&e) => {
                tracing::info!(
                    "the ID token is signed with a key not seen yet: re-reading the JWKS"
                );
                let fresh = CoreJsonWebKeySet::fetch_async(
                    self.metadata.jwks_uri(),
                    &CappedClient::new(&self.http, crate::http::JWKS),
                )
                .await
                .map_err(|e| match e {
                    openidconnect::DiscoveryError::Request(e @ ReadError::TooLarge { .. }) => {
                        e.into_error(self.metadata.jwks_uri().as_str())
                    }
                    e => Error::InvalidIdToken {
                        reason: format!(
                            "its signing key is unknown and the keys could not be read again ({})",
                            req_err(e)
                        ),
                        advice: "Check your network and sign in again",
                    },
                })?;
                if let Ok(mut k) = self.jwks.write() {
                    *k = fresh.clone();
                }
                verify_id_token(id_token, &self.client_id, &issuer, fresh, &algs, nonce)
                    .map_err(|e| id_token_refused(&e, &self.client_id))
            }
            Err(e) => Err(id_token_refused(&e, &self.client_id)),
        }
    }

    /// The signed-in user's `sub` from the userinfo endpoint (OIDC Core §5.3).
    ///
    /// # Errors
    /// [`Error::Config`] when the instance has no userinfo endpoint; network errors.
    pub async fn userinfo_subject(&self, access_token: &Secret) -> Result<String> {
        let info = self.userinfo(access_token).await?.ok_or_else(|| {
            Error::Config("the instance has no userinfo endpoint to tell the user id".into())
        })?;
        Ok(info.sub)
    }

    /// The person's name from the userinfo endpoint (OIDC Core §5.3): `name`, else
    /// `preferred_username`. The reply's `sub` must be the ID token's (§5.3.4).
    async fn userinfo_name(&self, access_token: &Secret, subject: &str) -> Result<Option<String>> {
        let Some(info) = self.userinfo(access_token).await? else {
            return Ok(None);
        };
        if info.sub != subject {
            return Err(Error::Network {
                url: self
                    .metadata
                    .userinfo_endpoint()
                    .map(|e| e.url().to_string())
                    .unwrap_or_default(),
                reason: "the userinfo reply is about another user (sub)".into(),
            });
        }
        Ok(info
            .name
            .filter(|n| !n.trim().is_empty())
            .or(info.preferred_username.filter(|n| !n.trim().is_empty())))
    }

    async fn userinfo(&self, access_token: &Secret) -> Result<Option<UserInfo>> {
        let Some(endpoint) = self.metadata.userinfo_endpoint() else {
            return Ok(None);
        };
        let url = endpoint.url().clone();
        require_secure(&url)?;
        let network = |reason: String| Error::Network {
            url: url.to_string(),
            reason,
        };
        let resp = self
            .http
            .get(url.clone())
            .header("Accept", "application/json")
            .bearer_auth(access_token.expose())
            .send()
            .await
            .map_err(|e| network(req_err(e)))?;
        if !resp.status().is_success() {
            return Err(network(format!(
                "userinfo answered HTTP {}",
                resp.status().as_u16()
            )));
        }
        let body = read_capped(resp, crate::http::USERINFO)
            .await
            .map_err(|e| e.into_error(url.as_str()))?;
        let info: UserInfo = serde_json::from_slice(&body)
            .map_err(|e| network(format!("the userinfo reply is not usable ({e})")))?;
        Ok(Some(info))
    }

    /// Ends the person's sign-in session in the browser (OpenID Connect RP-Initiated Logout 1.0
    /// §2–3): opens `end_session_endpoint` with `id_token_hint`, `client_id`,
    /// `post_logout_redirect_uri` (the loopback listener, `http://127.0.0.1:PORT/callback`) and
    /// `state`, and waits at most `timeout` for the browser to come back. ZITADEL redirects back
    /// only when that URI is registered as a Post Logout URI on the app; otherwise it shows its
    /// own logout page, and the result is [`BrowserLogout::Unconfirmed`].
    pub async fn end_browser_session(
        &self,
        id_token: Option<&Secret>,
        browser: &dyn Browser,
        timeout: Duration,
    ) -> Result<BrowserLogout> {
        let (Some(endpoint), Some(hint)) = (
            self.metadata
                .additional_metadata()
                .end_session_endpoint
                .as_deref(),
            id_token,
        ) else {
            return Ok(BrowserLogout::NotSupported);
        };
        let mut url = Url::parse(endpoint)
            .map_err(|e| Error::Config(format!("bad end_session_endpoint: {e}")))?;
        require_secure(&url)?;
        let mut listener = LoopbackListener::bind().await?;
        let state = CsrfToken::new_random();
        url.query_pairs_mut()
            .append_pair("id_token_hint", hint.expose())
            .append_pair("client_id", &self.client_id)
            .append_pair("post_logout_redirect_uri", listener.redirect_uri())
            .append_pair("state", state.secret());
        // The browser is started on a local address that forwards to the logout URL: the ID
        // token must not be in the browser's command line (the process list).
        let start = listener.start_url(Secret::new(url.as_str()));
        if let Err(e) = browser.open(&start).await {
            tracing::warn!("{e}");
            return Ok(BrowserLogout::Unconfirmed);
        }
        match listener
            .wait_for(
                Secret::new(state.secret().clone()),
                Expect::StateOnly,
                timeout,
            )
            .await
        {
            Ok((_, reply)) => {
                reply.finish(FinalPage::SignedOut).await;
                Ok(BrowserLogout::Confirmed)
            }
            Err(Error::SignInTimedOut { .. }) => Ok(BrowserLogout::Unconfirmed),
            Err(e) => Err(e),
        }
    }

    /// Refreshes (RFC 6749 §6). ZITADEL rotates the refresh token: the one passed in is dead
    /// afterwards, so the caller must persist the result before anything else.
    ///
    /// # Errors
    /// [`Error::SessionExpired`] when the server says the refresh token is dead: `invalid_grant`,
    /// or `invalid_request` as ZITADEL answers (`Errors.OIDCSession.RefreshTokenInvalid`), or
    /// `unauthorized_client` (the app no longer has the refresh-token grant).
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenSet> {
        let client = CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.client_id.clone()),
            None,
        );
        let response = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.expose().to_string()))
            .map_err(|e| Error::TokenRequest(e.to_string()))?
            .request_async(&CappedClient::new(&self.http, crate::http::TOKEN))
            .await
            .map_err(|e| token_too_large(e).unwrap_or_else(refresh_error))?;
        Ok(token_set(&response, Some(refresh_token)))
    }

    /// Revokes the refresh token (which ends the session) and the access token (RFC 7009 §2.1:
    /// a form POST of `token`, `token_type_hint` and, for a public client, `client_id`).
    /// Does nothing when the provider has no revocation endpoint.
    ///
    /// This is a plain form POST rather than `oauth2`'s `revoke_token`, because `oauth2` 5
    /// refuses non-HTTPS revocation endpoints and the loopback sandbox serves plain HTTP; the
    /// endpoint still has to pass [`require_secure`].
    pub async fn revoke(&self, tokens: &TokenSet) -> Result<()> {
        let Some(endpoint) = self
            .metadata
            .additional_metadata()
            .revocation_endpoint
            .clone()
        else {
            return Ok(());
        };
        let url = Url::parse(&endpoint)
            .map_err(|e| Error::Config(format!("bad revocation_endpoint: {e}")))?;
        require_secure(&url)?;
        let mut list = Vec::new();
        if let Some(r) = &tokens.refresh_token {
            list.push((r, "refresh_token"));
        }
        list.push((&tokens.access_token, "access_token"));
        for (token, hint) in list {
            let form = [
                ("token", token.expose()),
                ("token_type_hint", hint),
                ("client_id", self.client_id.as_str()),
            ];
            let resp = self
                .http
                .post(url.clone())
                .form(&form)
                .send()
                .await
                .map_err(|e| Error::Network {
                    url: url.to_string(),
                    reason: req_err(e),
                })?;
            if !resp.status().is_success() {
                return Err(Error::TokenRequest(format!(
                    "the revocation endpoint answered HTTP {}",
                    resp.status().as_u16()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C09: &str = include_str!("../tests/fixtures/cases/C09-loopback-redirect-and-pkce.json");

    /// C09 / RFC 7636 Appendix B: the challenge is unpadded base64url of SHA-256 over the ASCII
    /// verifier, and none of the known-wrong encodings can come out of the library we use.
    #[test]
    fn c09_pkce_vector_and_wrong_variants() {
        let case: serde_json::Value = serde_json::from_str(C09).unwrap();
        let pkce = &case["pkce"];
        let verifier = openidconnect::PkceCodeVerifier::new(
            pkce["code_verifier"].as_str().unwrap().to_string(),
        );
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        assert_eq!(
            challenge.as_str(),
            pkce["correct_code_challenge"].as_str().unwrap()
        );
        assert_eq!(challenge.method().as_str(), "S256");
        for wrong in pkce["wrongVariants"].as_array().unwrap() {
            assert_ne!(
                challenge.as_str(),
                wrong["code_challenge"].as_str().unwrap(),
                "{}",
                wrong["name"]
            );
        }
        // Fresh pairs have the same shape: 43 characters, URL alphabet, no padding.
        let (c, v) = PkceCodeChallenge::new_random_sha256();
        assert_eq!(c.as_str().len(), 43);
        assert!(c
            .as_str()
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'));
        assert_eq!(
            PkceCodeChallenge::from_code_verifier_sha256(&v).as_str(),
            c.as_str()
        );
    }

    /// ID tokens signed here with a fixed Ed25519 test key (ZITADEL v4 web keys may be EdDSA).
    mod id_tokens {
        use super::super::*;
        use openidconnect::core::{
            CoreEdDsaPrivateSigningKey, CoreGenderClaim, CoreJwsSigningAlgorithm,
        };
        use openidconnect::{
            Audience, EmptyAdditionalClaims, JsonWebKeyId, StandardClaims, SubjectIdentifier,
        };

        const CLIENT: &str = "312345678901234567";
        const ISS: &str = "https://acme-x1y2z3.us1.zitadel.cloud";

        fn key(seed: u8, kid: &str) -> (CoreEdDsaPrivateSigningKey, serde_json::Value) {
            use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey};
            let signing = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
            let pem = signing.to_pkcs8_pem(LineEnding::LF).unwrap();
            let jwk = serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
                "x": base64::Engine::encode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    signing.verifying_key().as_bytes()
                ),
            });
            let key = CoreEdDsaPrivateSigningKey::from_ed25519_pem(
                &pem,
                Some(JsonWebKeyId::new(kid.to_string())),
            )
            .unwrap();
            (key, jwk)
        }

        fn jwks(keys: &[serde_json::Value]) -> CoreJsonWebKeySet {
            serde_json::from_value(serde_json::json!({ "keys": keys })).unwrap()
        }

        fn token(
            signer: &CoreEdDsaPrivateSigningKey,
            aud: &[&str],
            azp: Option<&str>,
            nonce: &str,
        ) -> CoreIdToken {
            let at = |secs: i64| chrono::DateTime::from_timestamp(now() + secs, 0).unwrap();
            let claims = CoreIdTokenClaims::new(
                IssuerUrl::new(ISS.into()).unwrap(),
                aud.iter().map(|a| Audience::new(a.to_string())).collect(),
                at(12 * 3600),
                at(-5),
                StandardClaims::<CoreGenderClaim>::new(SubjectIdentifier::new(
                    "312345678901234500".into(),
                )),
                EmptyAdditionalClaims {},
            )
            .set_nonce(Some(Nonce::new(nonce.into())))
            .set_authorized_party(azp.map(|a| ClientId::new(a.into())));
            CoreIdToken::new(claims, signer, CoreJwsSigningAlgorithm::EdDsa, None, None).unwrap()
        }

        fn check(t: &CoreIdToken, keys: CoreJsonWebKeySet) -> Result<(), ClaimsVerificationError> {
            verify_id_token(
                t,
                CLIENT,
                &IssuerUrl::new(ISS.into()).unwrap(),
                keys,
                &[
                    CoreJwsSigningAlgorithm::EdDsa,
                    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                ],
                &Nonce::new("n-1".into()),
            )
            .map(|_| ())
        }

        /// zitadel/zitadel#9200: a sibling app, our app, the project, the ZITADEL project.
        #[test]
        fn zitadel_multi_audience_with_azp_is_accepted_in_any_position() {
            let (k, jwk) = key(1, "318114136414260984");
            let keys = || jwks(std::slice::from_ref(&jwk));
            let aud = [
                "312345678901234999",
                CLIENT,
                "312345678901230001",
                "312345678901200002",
            ];
            check(&token(&k, &aud, Some(CLIENT), "n-1"), keys()).unwrap();
            let mut last = aud;
            last.swap(1, 3);
            check(&token(&k, &last, Some(CLIENT), "n-1"), keys()).unwrap();
            // An audience added later (a new sibling app) needs no change here.
            check(
                &token(&k, &["new-app@org2p", CLIENT], Some(CLIENT), "n-1"),
                keys(),
            )
            .unwrap();
            check(&token(&k, &[CLIENT], None, "n-1"), keys()).unwrap();
            check(&token(&k, &[CLIENT], Some(CLIENT), "n-1"), keys()).unwrap();
        }

        #[test]
        fn audience_without_our_client_or_a_wrong_azp_is_refused() {
            let (k, jwk) = key(1, "1");
            let keys = || jwks(std::slice::from_ref(&jwk));
            for (aud, azp) in [
                (&["other", "project"][..], Some("other")),
                (&["other"][..], None),
                (&["other", CLIENT][..], None),
                (&["other", CLIENT][..], Some("other")),
                (&[CLIENT][..], Some("other")),
            ] {
                let e = check(&token(&k, aud, azp, "n-1"), keys()).unwrap_err();
                assert!(
                    matches!(e, ClaimsVerificationError::InvalidAudience(_)),
                    "{aud:?} {azp:?}: {e:?}"
                );
                let shown = id_token_refused(&e, CLIENT).to_string();
                assert!(shown.contains("client id"), "{shown}");
            }
        }

        #[test]
        fn bad_signature_wrong_nonce_and_unknown_key_are_refused() {
            let (k, jwk) = key(1, "1");
            let (forger, _) = key(2, "1");
            let e = check(
                &token(&forger, &[CLIENT], None, "n-1"),
                jwks(std::slice::from_ref(&jwk)),
            )
            .unwrap_err();
            assert!(
                matches!(e, ClaimsVerificationError::SignatureVerification(_)),
                "{e:?}"
            );
            assert!(!is_unknown_key(&e));
            let e = check(
                &token(&k, &[CLIENT], None, "n-2"),
                jwks(std::slice::from_ref(&jwk)),
            )
            .unwrap_err();
            assert!(
                matches!(e, ClaimsVerificationError::InvalidNonce(_)),
                "{e:?}"
            );
            // Signed with a key that is not in the JWKS read so far (after a rotation).
            let (rotated, next) = key(3, "2");
            let e = check(
                &token(&rotated, &[CLIENT], None, "n-1"),
                jwks(std::slice::from_ref(&jwk)),
            )
            .unwrap_err();
            assert!(is_unknown_key(&e), "{e:?}");
            check(&token(&rotated, &[CLIENT], None, "n-1"), jwks(&[jwk, next])).unwrap();
        }
    }

    #[test]
    fn dead_refresh_tokens_end_the_session_whatever_error_code_zitadel_uses() {
        for (code, ends) in [
            ("invalid_request", true),
            ("invalid_grant", true),
            ("unauthorized_client", true),
            ("invalid_client", false),
            ("invalid_scope", false),
        ] {
            let body = format!(
                r#"{{"error":"{code}","error_description":"Errors.OIDCSession.RefreshTokenInvalid"}}"#
            );
            let r: openidconnect::StandardErrorResponse<CoreErrorResponseType> =
                serde_json::from_str(&body).unwrap();
            assert_eq!(ends_session(r.error()), ends, "{code}");
            let e = refresh_error::<std::io::Error>(
                openidconnect::RequestTokenError::ServerResponse(r),
            );
            assert_eq!(e.code() == "session_expired", ends, "{code}: {e}");
        }
    }

    fn zitadel_document(iss: &str) -> serde_json::Value {
        serde_json::json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/oauth/v2/authorize"),
            "token_endpoint": format!("{iss}/oauth/v2/token"),
            "introspection_endpoint": format!("{iss}/oauth/v2/introspect"),
            "userinfo_endpoint": format!("{iss}/oidc/v1/userinfo"),
            "revocation_endpoint": format!("{iss}/oauth/v2/revoke"),
            "end_session_endpoint": format!("{iss}/oidc/v1/end_session"),
            "device_authorization_endpoint": format!("{iss}/oauth/v2/device_authorization"),
            "jwks_uri": format!("{iss}/oauth/v2/keys"),
            "response_types_supported": ["code", "id_token", "id_token token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["EdDSA", "RS256"],
        })
    }

    /// Issue 12, item 5: every endpoint on the issuer's origin, or the document is refused
    /// naming the endpoint.
    #[test]
    fn discovery_endpoints_off_the_issuer_origin_are_refused_by_name() {
        let iss = "https://acme-x1y2z3.us1.zitadel.cloud";
        let issuer = crate::config::parse_issuer(iss).unwrap();
        let check =
            |doc: &serde_json::Value| check_discovery_document(doc.to_string().as_bytes(), &issuer);
        check(&zitadel_document(iss)).unwrap();
        let local = crate::config::parse_issuer("http://localhost:8080").unwrap();
        check_discovery_document(
            zitadel_document("http://localhost:8080")
                .to_string()
                .as_bytes(),
            &local,
        )
        .unwrap();
        for member in [
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "revocation_endpoint",
            "end_session_endpoint",
            "jwks_uri",
            "device_authorization_endpoint",
            "introspection_endpoint",
        ] {
            for elsewhere in [
                "https://evil.example/x",
                "https://acme-x1y2z3.us1.zitadel.cloud:8443/x",
                "http://acme-x1y2z3.us1.zitadel.cloud/x",
                "https://evil-a1.us1.zitadel.cloud/x",
                "https://acme-x1y2z3.us1.zitadel.cloud.evil.example/x",
                "https://u:p@acme-x1y2z3.us1.zitadel.cloud/x",
                "file:///etc/passwd",
            ] {
                let mut doc = zitadel_document(iss);
                doc[member] = serde_json::json!(elsewhere);
                let e = check(&doc).unwrap_err();
                assert_eq!(e.code(), "discovery_failed", "{member} {elsewhere}");
                assert!(e.to_string().contains(member), "{member} {elsewhere}: {e}");
            }
        }
        // Another issuer in the document.
        let mut doc = zitadel_document(iss);
        doc["issuer"] = serde_json::json!("https://evil.example");
        assert!(check(&doc).unwrap_err().to_string().contains("issuer"));
    }

    #[test]
    fn scopes_carry_the_zitadel_api_audience_and_offline_access() {
        assert!(SCOPES.contains(&"openid"));
        assert!(SCOPES.contains(&"offline_access"));
        assert!(SCOPES.contains(&"urn:zitadel:iam:org:project:id:zitadel:aud"));
    }
}
