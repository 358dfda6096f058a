//! The ID-token signing key (RS256) and the JWKS (contract §6.1 `/oauth/v2/keys`).
//!
//! A fresh RSA-2048 key is generated with the `rsa` crate at start; signing goes through
//! openidconnect's `CoreRsaPrivateSigningKey` / `CoreIdToken::new`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openidconnect::core::{
    CoreGenderClaim, CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    AccessToken, Audience, EmptyAdditionalClaims, EndUserEmail, EndUserFamilyName,
    EndUserGivenName, EndUserName, EndUserUsername, IssuerUrl, JsonWebKeyId, Nonce, StandardClaims,
    SubjectIdentifier,
};
use rsa::pkcs1::{EncodeRsaPrivateKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;

/// What goes into an ID token besides the fixed user claims.
pub(crate) struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub subject: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub issued_at: i64,
    pub expires_at: i64,
    pub access_token: &'a str,
    pub profile: bool,
    pub email: bool,
    /// The signed-in user (profile and e-mail claims).
    pub user: &'a crate::users::SandboxUser,
}

pub(crate) struct SigningKey {
    key: CoreRsaPrivateSigningKey,
    jwks: serde_json::Value,
}

impl SigningKey {
    /// Generates a fresh RSA-2048 key (blocking; run it on a blocking thread).
    pub fn generate() -> Result<SigningKey, String> {
        let mut rng = rand::rngs::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|e| e.to_string())?;
        let public = private.to_public_key();
        let kid = crate::state::random_token(12);
        let jwks = serde_json::json!({
            "keys": [{
                "use": "sig",
                "kty": "RSA",
                "kid": kid,
                "alg": "RS256",
                "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            }]
        });
        let pem = private
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?;
        let key = CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid.clone())))?;
        Ok(SigningKey { key, jwks })
    }

    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// Signs an ID token for `input.user` (RS256, `kid` in the header, `at_hash` set).
    pub fn id_token(&self, input: &IdTokenInput<'_>) -> Result<String, String> {
        let issuer = IssuerUrl::new(input.issuer.to_string()).map_err(|e| e.to_string())?;
        let ts = |secs: i64| {
            chrono::DateTime::from_timestamp(secs, 0).ok_or_else(|| "bad timestamp".to_string())
        };
        let mut standard =
            StandardClaims::<CoreGenderClaim>::new(SubjectIdentifier::new(input.subject.into()));
        if input.profile {
            standard = standard
                .set_name(Some(EndUserName::new(input.user.display_name()).into()))
                .set_given_name(Some(
                    EndUserGivenName::new(input.user.first_name.clone()).into(),
                ))
                .set_family_name(Some(
                    EndUserFamilyName::new(input.user.last_name.clone()).into(),
                ))
                .set_preferred_username(Some(EndUserUsername::new(input.user.login_name())));
        }
        if input.email {
            standard = standard
                .set_email(Some(EndUserEmail::new(input.user.email())))
                .set_email_verified(Some(true));
        }
        let claims = CoreIdTokenClaims::new(
            issuer,
            vec![Audience::new(input.client_id.to_string())],
            ts(input.expires_at)?,
            ts(input.issued_at)?,
            standard,
            EmptyAdditionalClaims {},
        )
        .set_auth_time(Some(ts(input.auth_time)?))
        .set_nonce(input.nonce.map(|n| Nonce::new(n.to_string())))
        .set_authorized_party(Some(openidconnect::ClientId::new(
            input.client_id.to_string(),
        )));
        let token = CoreIdToken::new(
            claims,
            &self.key,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            Some(&AccessToken::new(input.access_token.to_string())),
            None,
        )
        .map_err(|e| e.to_string())?;
        Ok(token.to_string())
    }
}
