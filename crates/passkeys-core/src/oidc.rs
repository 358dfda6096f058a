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
//! 6. validate the ID token (JWKS signature, `iss`, `aud`, `exp`, `nonce`).

use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, ProviderMetadata, RedirectUrl, RefreshToken, Scope,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::browser::Browser;
use crate::config::{require_secure, Issuer};
use crate::error::{Error, Result};
use crate::loopback::LoopbackListener;
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
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer.as_str)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// The person, from the validated ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedIn {
    /// `sub`.
    pub subject: String,
    /// `name` or `preferred_username`, if sent.
    pub name: Option<String>,
}

fn req_err<E: std::error::Error>(e: E) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s = format!("{s}: {x}");
        src = x.source();
    }
    s
}

fn token_error<RE: std::error::Error + 'static>(
    e: openidconnect::RequestTokenError<
        RE,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> Error {
    match e {
        openidconnect::RequestTokenError::ServerResponse(r) => {
            if matches!(
                r.error(),
                openidconnect::core::CoreErrorResponseType::InvalidGrant
            ) {
                Error::SessionExpired
            } else {
                Error::TokenRequest(format!(
                    "{}{}",
                    r.error(),
                    r.error_description()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ))
            }
        }
        other => Error::TokenRequest(req_err(other)),
    }
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

impl Oidc {
    /// Runs OIDC discovery (`/.well-known/openid-configuration` and the JWKS). The issuer in
    /// the document must equal the configured issuer exactly (OIDC Discovery §4.3), and every
    /// endpoint must be HTTPS (or loopback).
    pub async fn discover(issuer: &Issuer, client_id: &str, http: reqwest::Client) -> Result<Self> {
        let discovery = |reason: String| Error::Discovery {
            issuer: issuer.as_str.clone(),
            reason,
        };
        let issuer_url =
            IssuerUrl::new(issuer.as_str.clone()).map_err(|e| discovery(e.to_string()))?;
        let metadata = Metadata::discover_async(issuer_url, &http)
            .await
            .map_err(|e| match &e {
                openidconnect::DiscoveryError::Validation(v) => discovery(format!(
                    "{v} (the issuer in the document must equal the URL you gave)"
                )),
                _ => discovery(req_err(e)),
            })?;
        for endpoint in [
            Some(metadata.authorization_endpoint().url().clone()),
            metadata.token_endpoint().map(|t| t.url().clone()),
            Some(metadata.jwks_uri().url().clone()),
        ]
        .into_iter()
        .flatten()
        {
            require_secure(&endpoint)?;
        }
        if metadata.token_endpoint().is_none() {
            return Err(discovery("the document has no token_endpoint".into()));
        }
        Ok(Self {
            issuer: issuer.clone(),
            client_id: client_id.to_string(),
            metadata,
            http,
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
    /// the browser is opened, so the person can open it by hand.
    pub async fn sign_in(
        &self,
        browser: &dyn Browser,
        timeout: Duration,
        show_url: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<(TokenSet, SignedIn)> {
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
        let (url, state, nonce) = request.url();
        show_url(url.as_str());
        if let Err(e) = browser.open(url.as_str()).await {
            tracing::warn!("{e}");
        }
        let code = listener
            .wait_for_code(Secret::new(state.secret().clone()), timeout)
            .await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.expose().to_string()))
            .map_err(|e| Error::TokenRequest(e.to_string()))?
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| match token_error(e) {
                Error::SessionExpired => Error::TokenRequest(
                    "the server refused the sign-in code (invalid_grant)".into(),
                ),
                other => other,
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| Error::InvalidIdToken("the token response has no id_token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &nonce)
            .map_err(|e| Error::InvalidIdToken(req_err(e)))?;
        let signed_in = SignedIn {
            subject: claims.subject().to_string(),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string())
                .or_else(|| claims.preferred_username().map(|u| u.to_string())),
        };
        Ok((token_set(&response, None), signed_in))
    }

    /// Refreshes (RFC 6749 §6). ZITADEL rotates the refresh token: the one passed in is dead
    /// afterwards, so the caller must persist the result before anything else.
    ///
    /// # Errors
    /// [`Error::SessionExpired`] when the server answers `invalid_grant`.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenSet> {
        let client = CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.client_id.clone()),
            None,
        );
        let response = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.expose().to_string()))
            .map_err(|e| Error::TokenRequest(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
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

    #[test]
    fn scopes_carry_the_zitadel_api_audience_and_offline_access() {
        assert!(SCOPES.contains(&"openid"));
        assert!(SCOPES.contains(&"offline_access"));
        assert!(SCOPES.contains(&"urn:zitadel:iam:org:project:id:zitadel:aud"));
    }
}
