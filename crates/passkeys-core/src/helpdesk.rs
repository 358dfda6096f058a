//! Helpdesk (on-behalf) enrollment through the ZITADEL User service v2 passkey API
//! (contract §5, §8.1 B1–B5).
//!
//! An administrator signs in with an account that holds `user.credential.write` (and
//! `user.passkey.write` for registration codes, `user.read` to look users up and list their
//! passkeys), picks a user, and enrolls an authenticator for them:
//!
//! 1. The user is found by id (`GET /v2/users/{id}`) or login name (`POST /v2/users` with a
//!    `loginNameQuery` / `userNameQuery`; outside contract §5, a subset of ZITADEL's ListUsers).
//! 2. RegisterPasskey (`POST /v2/users/{id}/passkeys`) with an explicit `domain`: the instance
//!    host, so the passkey is bound to the instance as in self-service enrollment.
//! 3. The options' rpId is checked against the instance (WebAuthn L3 §5.1.3) before the
//!    authenticator is touched; clientDataJSON is written for the instance origin.
//! 4. makeCredential, the reply checked (rpIdHash, UP, UV, algorithm) as in [`crate::enroll`].
//! 5. VerifyPasskeyRegistration with the credential as a JSON **object** (a `Struct`, not
//!    base64) and the passkey name; never retried (after a network failure the list is read).
//!
//! The passkey calls are the self-service port's User service v2 calls
//! ([`crate::passkey_api`]) with the target user's id, over the REST gateway.
//!
//! [`HelpdeskClient::create_registration_code`] (CreatePasskeyRegistrationLink with
//! `returnCode`) gives a one-time code the user redeems on their own device instead.

use serde::Serialize;

use crate::authenticator::{Authenticator, AuthenticatorInfo};
use crate::enroll::{
    check_name, default_name, register_with, EnrollEvent, EnrollObserver, EnrolledPasskey,
    Registrar,
};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::webauthn::{self, create_credential, CreatedCredential, CreationOptions};
use crate::zitadel::{ApiError, ApiErrorKind, Passkey, ZitadelClient};

/// The user a helpdesk enrollment is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetUser {
    /// ZITADEL user id.
    pub id: String,
    /// Preferred login name.
    pub login_name: String,
    /// Display name (or the user name).
    pub display_name: String,
    /// Organisation id (`details.resourceOwner`), if sent.
    pub org_id: Option<String>,
}

/// `PasskeyAuthenticator` of RegisterPasskey (contract §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasskeyAuthenticator {
    /// Any authenticator (no `authenticatorAttachment`).
    #[default]
    Unspecified,
    /// `platform`.
    Platform,
    /// `cross-platform` (security keys, phones).
    CrossPlatform,
}

impl PasskeyAuthenticator {
    fn wire(self) -> &'static str {
        match self {
            PasskeyAuthenticator::Unspecified => "PASSKEY_AUTHENTICATOR_UNSPECIFIED",
            PasskeyAuthenticator::Platform => "PASSKEY_AUTHENTICATOR_PLATFORM",
            PasskeyAuthenticator::CrossPlatform => "PASSKEY_AUTHENTICATOR_CROSS_PLATFORM",
        }
    }
}

/// A started v2 registration.
#[derive(Debug, Clone)]
pub struct Registration {
    /// `passkeyId` (ZITADEL validates it at verification but verifies the user's current
    /// pending registration, contract §5).
    pub passkey_id: String,
    /// The decoded creation options.
    pub options: CreationOptions,
}

/// A one-time registration code (CreatePasskeyRegistrationLink with `returnCode`). Not
/// `Serialize`: the code and the link are secrets for the user; read them on purpose.
#[derive(Debug, Clone)]
pub struct RegistrationCode {
    /// The user.
    pub user_id: String,
    /// Organisation id from the reply's `details.resourceOwner`, if any.
    pub org_id: Option<String>,
    /// Code id.
    pub code_id: String,
    /// The code. A secret for the user: shown once, never logged.
    pub code: Secret,
    /// The ZITADEL login page that redeems the code
    /// (`/ui/login/login/passwordless/init?userID&orgID&codeID&code`, contract §1.4); it
    /// carries the code.
    pub link: Secret,
}

/// What a helpdesk enrollment did, for the handover summary. Holds no PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelpdeskEnrollment {
    /// The user.
    pub user: TargetUser,
    /// The passkey.
    pub passkey: EnrolledPasskey,
}

/// Whether the key was made to ask its user for a new PIN at first use (forcePINChange).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum ForcePinChange {
    /// Set: the key refuses its PIN until the user has chosen a new one.
    Set,
    /// The key cannot (no CTAP 2.1 authenticatorConfig with setMinPINLength, or not a security
    /// key); `reason` says which.
    Unsupported {
        /// Why not, for people.
        reason: String,
    },
    /// The key offers it but refused or failed; `reason` says how.
    Failed {
        /// What went wrong, for people.
        reason: String,
    },
}

impl ForcePinChange {
    /// True when the key will make its user change the PIN.
    pub fn is_set(&self) -> bool {
        matches!(self, ForcePinChange::Set)
    }
}

/// After a helpdesk enrollment that set a random PIN: makes the key require a PIN change at
/// its next use (CTAP 2.1 authenticatorConfig setMinPINLength with forceChangePin), so the
/// user replaces the PIN the helpdesk knows. The key asks for its current PIN through the
/// authenticator's prompt (the helpdesk prompt answers with the PIN it just set). Never fails:
/// the outcome says whether it was set, and why not.
pub async fn force_pin_change(authenticator: &mut dyn Authenticator) -> ForcePinChange {
    match authenticator.force_pin_change().await {
        Ok(()) => {
            tracing::info!("forcePINChange set on the key");
            ForcePinChange::Set
        }
        Err(crate::authenticator::AuthenticatorError::NotSupported(reason)) => {
            tracing::info!("forcePINChange not set: {reason}");
            ForcePinChange::Unsupported { reason }
        }
        Err(e) => {
            tracing::warn!("forcePINChange could not be set ({}): {e}", e.code());
            ForcePinChange::Failed {
                reason: e.to_string(),
            }
        }
    }
}

/// User service v2 client for on-behalf operations. Uses the signed-in administrator's token.
#[derive(Debug, Clone)]
pub struct HelpdeskClient {
    api: ZitadelClient,
}

use crate::passkey_api::{valid_id, ApiGeneration};

/// The helpdesk's transport for User service v2: its REST gateway (v2.59 and later, v4 too).
const HELPDESK_V2: ApiGeneration = ApiGeneration::V2Rest;

fn not_found(what: String) -> Error {
    Error::Api(ApiError {
        kind: ApiErrorKind::NotFound,
        status: 404,
        grpc_code: None,
        id: None,
        server_message: what,
    })
}

fn target_from(v: &serde_json::Value) -> Option<TargetUser> {
    let id = v["userId"].as_str().filter(|s| !s.is_empty())?.to_string();
    let username = v["username"].as_str().unwrap_or_default();
    let login_name = v["preferredLoginName"]
        .as_str()
        .or_else(|| v["loginNames"].get(0).and_then(|x| x.as_str()))
        .unwrap_or(username)
        .to_string();
    let display_name = v["human"]["profile"]["displayName"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or(if username.is_empty() { &id } else { username })
        .to_string();
    let org_id = v["details"]["resourceOwner"].as_str().map(str::to_string);
    Some(TargetUser {
        id,
        login_name,
        display_name,
        org_id,
    })
}

impl HelpdeskClient {
    /// A client on top of the administrator's API client.
    pub fn new(api: ZitadelClient) -> Self {
        Self { api }
    }

    /// The underlying client.
    pub fn api(&self) -> &ZitadelClient {
        &self.api
    }

    /// Finds a user by login name (`name@domain`), user name or id. `id:NNN` means the user
    /// id only. An all-digit input is looked up both as a user id and as a user name (a user
    /// may be named like someone else's id, issue 12 item 9): when both find someone, and not
    /// the same person, the input is refused as ambiguous.
    ///
    /// # Errors
    /// `not_found` when there is no such user the administrator may see (ZITADEL filters
    /// ListUsers by `user.read`); ambiguous input; API errors.
    pub async fn find_user(&self, login_or_id: &str) -> Result<TargetUser> {
        let wanted = login_or_id.trim();
        if wanted.is_empty() {
            return Err(Error::Config("the user is empty".into()));
        }
        if let Some(id) = wanted.strip_prefix("id:") {
            return self
                .user_by_id(id.trim())
                .await?
                .ok_or_else(|| not_found(format!("ZITADEL has no user with id {:?}", id.trim())));
        }
        if wanted.chars().all(|c| c.is_ascii_digit()) {
            let by_id = self.user_by_id(wanted).await?;
            let by_name = self.users_by_name(wanted).await?;
            return match (by_id, by_name.as_slice()) {
                (Some(u), []) => Ok(u),
                (Some(u), [n]) if n.id == u.id => Ok(u),
                (None, [n]) => Ok(n.clone()),
                (None, []) => Err(Error::Config(format!(
                    "ZITADEL has no user with the id or user name {wanted:?} that your account may see (looking users up needs the user.read permission)"
                ))),
                (Some(u), _) => Err(Error::Config(format!(
                    "{wanted:?} is the id of {} ({}) and also the user name of another user; use id:{wanted} for the first or the full login name for the other",
                    crate::display::printable(&u.display_name),
                    crate::display::printable(&u.login_name)
                ))),
                (None, _) => Err(Error::Config(format!(
                    "{wanted:?} matches several users; use the full login name or id:USER_ID"
                ))),
            };
        }
        let found = self.users_by_name(wanted).await?;
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::Config(format!(
                "ZITADEL has no user {wanted:?} that your account may see (looking users up needs the user.read permission); check the login name, or give the user id"
            ))),
            _ => Err(Error::Config(format!(
                "{wanted:?} matches several users; use the full login name or the user id"
            ))),
        }
    }

    /// GetUserByID; `None` when there is no such user.
    async fn user_by_id(&self, id: &str) -> Result<Option<TargetUser>> {
        if !valid_id(id) {
            return Err(not_found(format!("{id:?} is not a user id")));
        }
        let path = format!("/v2/users/{id}");
        match self.api.call(reqwest::Method::GET, &path, None).await {
            Ok(v) => target_from(&v["user"])
                .map(Some)
                .ok_or_else(|| ZitadelClient::shape_error(&path, "user.userId is missing")),
            Err(Error::Api(e)) if e.kind == ApiErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// ListUsers by login name (with `@`) or user name, case-insensitively; at most two.
    async fn users_by_name(&self, wanted: &str) -> Result<Vec<TargetUser>> {
        let query = if wanted.contains('@') {
            serde_json::json!({"loginNameQuery": {"loginName": wanted, "method": "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE"}})
        } else {
            serde_json::json!({"userNameQuery": {"userName": wanted, "method": "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE"}})
        };
        let body = serde_json::json!({"query": {"limit": 2}, "queries": [query]});
        let v = self
            .api
            .call(reqwest::Method::POST, "/v2/users", Some(&body))
            .await?;
        Ok(v["result"]
            .as_array()
            .map(|a| a.iter().filter_map(target_from).collect())
            .unwrap_or_default())
    }

    /// RegisterPasskey: `POST /v2/users/{userId}/passkeys` with `domain` (the RP ID) and the
    /// authenticator attachment.
    ///
    /// # Errors
    /// 403 `permission_denied` without `user.credential.write` for another user; API errors;
    /// unusable options.
    pub async fn register_passkey(
        &self,
        user_id: &str,
        domain: &str,
        authenticator: PasskeyAuthenticator,
    ) -> Result<Registration> {
        if !valid_id(user_id) {
            return Err(not_found(format!("{user_id:?} is not a user id")));
        }
        let (passkey_id, options) = self
            .api
            .v2_register(HELPDESK_V2, user_id, authenticator.wire(), domain)
            .await?;
        Ok(Registration {
            passkey_id,
            options,
        })
    }

    /// VerifyPasskeyRegistration: `POST /v2/users/{userId}/passkeys/{passkeyId}` with
    /// `{"publicKeyCredential": <object>, "passkeyName": name}`.
    ///
    /// # Errors
    /// API errors (e.g. `credential_rejected`).
    pub async fn verify_passkey_registration(
        &self,
        user_id: &str,
        passkey_id: &str,
        credential_json: &[u8],
        name: &str,
    ) -> Result<()> {
        if !valid_id(user_id) || !valid_id(passkey_id) {
            return Err(not_found("not a user or passkey id".into()));
        }
        self.api
            .v2_verify(HELPDESK_V2, user_id, passkey_id, credential_json, name)
            .await
    }

    /// ListPasskeys: `POST /v2/users/{userId}/passkeys/_search` (READY passkeys only).
    ///
    /// # Errors
    /// 403 without `user.read` for another user; API errors.
    pub async fn list_passkeys(&self, user_id: &str) -> Result<Vec<Passkey>> {
        if !valid_id(user_id) {
            return Err(not_found(format!("{user_id:?} is not a user id")));
        }
        self.api.v2_list(HELPDESK_V2, user_id).await
    }

    /// RemovePasskey: `DELETE /v2/users/{userId}/passkeys/{passkeyId}`.
    ///
    /// # Errors
    /// 403 without `user.write` for another user; 404 for an unknown passkey.
    pub async fn remove_passkey(&self, user_id: &str, passkey_id: &str) -> Result<()> {
        if !valid_id(user_id) || !valid_id(passkey_id) {
            return Err(not_found("not a user or passkey id".into()));
        }
        self.api.v2_remove(HELPDESK_V2, user_id, passkey_id).await
    }

    /// CreatePasskeyRegistrationLink with `returnCode`: a one-time code (and the login-page
    /// link that redeems it) for the user to register a passkey on their own device.
    ///
    /// # Errors
    /// 403 `permission_denied` without `user.passkey.write` (needed even for oneself).
    pub async fn create_registration_code(&self, user: &TargetUser) -> Result<RegistrationCode> {
        if !valid_id(&user.id) {
            return Err(not_found(format!("{:?} is not a user id", user.id)));
        }
        let path = format!("/v2/users/{}/passkeys/registration_link", user.id);
        let v = self
            .api
            .call(
                reqwest::Method::POST,
                &path,
                Some(&serde_json::json!({"returnCode": {}})),
            )
            .await?;
        let code_id = v["code"]["id"].as_str().unwrap_or_default().to_string();
        let code = v["code"]["code"].as_str().unwrap_or_default().to_string();
        if code_id.is_empty() || code.is_empty() {
            return Err(ZitadelClient::shape_error(&path, "code is missing"));
        }
        let org_id = v["details"]["resourceOwner"]
            .as_str()
            .map(str::to_string)
            .or_else(|| user.org_id.clone());
        let mut link = self
            .api
            .base()
            .join("/ui/login/login/passwordless/init")
            .map_err(|e| Error::Config(format!("bad link: {e}")))?;
        {
            let mut q = link.query_pairs_mut();
            q.append_pair("userID", &user.id);
            if let Some(o) = &org_id {
                q.append_pair("orgID", o);
            }
            q.append_pair("codeID", &code_id);
            q.append_pair("code", &code);
        }
        Ok(RegistrationCode {
            user_id: user.id.clone(),
            org_id,
            code_id,
            code: Secret::new(code),
            link: Secret::new(link.to_string()),
        })
    }
}

/// Another user's passkeys (User service v2), for [`register_with`].
struct UserPasskeys<'a> {
    client: &'a HelpdeskClient,
    user_id: &'a str,
    passkey_id: &'a str,
}

#[async_trait::async_trait]
impl Registrar for UserPasskeys<'_> {
    async fn list(&self) -> Result<Vec<Passkey>> {
        self.client.list_passkeys(self.user_id).await
    }
    async fn verify(&self, credential_json: &[u8], name: &str) -> Result<()> {
        self.client
            .verify_passkey_registration(self.user_id, self.passkey_id, credential_json, name)
            .await
    }
    fn pending_id(&self) -> Option<&str> {
        Some(self.passkey_id)
    }
}

/// Enrolls `authenticator` for `user` (module docs, steps 2–5). The RP ID requested is the
/// instance host. `name` defaults to the authenticator model and date.
///
/// # Errors
/// Name, API (e.g. `permission_denied`), options, rpId and authenticator errors;
/// [`Error::NotRegistered`] when a credential was created but ZITADEL did not register it.
pub async fn enroll_for_user(
    client: &HelpdeskClient,
    user: &TargetUser,
    authenticator: &mut dyn Authenticator,
    attachment: PasskeyAuthenticator,
    name: Option<&str>,
    observer: &dyn EnrollObserver,
) -> Result<HelpdeskEnrollment> {
    let name = check_name(name)?;
    observer.on_event(&EnrollEvent::Starting);
    let base = client.api().base().clone();
    let before = client.list_passkeys(&user.id).await?;
    let info: AuthenticatorInfo = authenticator.info();
    let name = name.unwrap_or_else(|| default_name(&info, &before));
    let domain = base.host_str().unwrap_or_default().to_string();

    let registration = client
        .register_passkey(&user.id, &domain, attachment)
        .await?;
    let options = registration.options;
    // ZITADEL's user.id is the user id's ASCII bytes: options for anyone else would put the
    // passkey on another account (issue 12 item 9). Checked before the key is touched.
    if options.user_id != user.id.as_bytes() {
        return Err(Error::Options(webauthn::OptionsError::UserMismatch {
            expected: user.id.clone(),
            got: String::from_utf8_lossy(&options.user_id).into_owned(),
        }));
    }
    let created = create_credential(&options, &base, authenticator, &info, observer).await?;
    let found = register_with(
        &UserPasskeys {
            client,
            user_id: &user.id,
            passkey_id: &registration.passkey_id,
        },
        &before,
        &created,
        &name,
        observer,
    )
    .await?;
    let CreatedCredential {
        parsed,
        credential_id,
        reply,
        ..
    } = created;
    tracing::info!(user = %user.id, "helpdesk enrollment registered");
    Ok(HelpdeskEnrollment {
        user: user.clone(),
        passkey: EnrolledPasskey {
            id: found.id,
            name,
            state: found.state.label().to_string(),
            credential_id,
            aaguid: webauthn::aaguid_string(&parsed.aaguid),
            rp_id: options.rp_id,
            algorithm: parsed.alg,
            discoverable: reply.discoverable,
            authenticator: info,
        },
    })
}

/// A random numeric PIN of `len` digits (at least 6, at most CTAP's 63) for a fresh security
/// key: not all one digit and not a run such as 123456 (the kind of PINs keys and policies
/// refuse). `len` comes from the key (its minPINLength), so it is clamped: a key that claims a
/// huge minimum never makes this allocate by its word.
pub fn random_pin(len: usize) -> Secret {
    use rand::Rng as _;
    let len = len.clamp(6, crate::prompt::MAX_PIN_BYTES);
    let mut rng = rand::rngs::OsRng;
    loop {
        let digits: Vec<u8> = (0..len).map(|_| rng.gen_range(0..10u8)).collect();
        let same = digits.windows(2).all(|w| w[0] == w[1]);
        let up = digits.windows(2).all(|w| w[1] == (w[0] + 1) % 10);
        let down = digits.windows(2).all(|w| w[0] == (w[1] + 1) % 10);
        if !(same || up || down) {
            return Secret::new(
                digits
                    .iter()
                    .map(|d| char::from(b'0' + d))
                    .collect::<String>(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_pins_are_digits_and_not_trivial() {
        for _ in 0..200 {
            let p = random_pin(6);
            let s = p.expose();
            assert_eq!(s.len(), 6);
            assert!(s.chars().all(|c| c.is_ascii_digit()));
            assert_ne!(s, "123456");
        }
        assert_eq!(random_pin(2).expose().len(), 6);
    }

    /// Issue 12 item 10: the key's minPINLength sizes the random PIN; a hostile key must not
    /// make it allocate gigabytes.
    #[test]
    fn huge_min_pin_length_does_not_size_the_random_pin() {
        assert_eq!(random_pin(usize::MAX).expose().len(), 63);
        assert_eq!(random_pin(63).expose().len(), 63);
    }

    #[test]
    fn a_registration_code_debug_hides_the_code() {
        let c = RegistrationCode {
            user_id: "1".into(),
            org_id: None,
            code_id: "2".into(),
            code: Secret::new("kFfsO8OizZPS".to_string()),
            link: Secret::new("https://x/?code=kFfsO8OizZPS".to_string()),
        };
        assert!(!format!("{c:?}").contains("kFfsO8OizZPS"));
    }

    #[test]
    fn users_from_v2_shapes() {
        let v = serde_json::json!({"userId": "7", "username": "a", "loginNames": ["a@x"], "details": {"resourceOwner": "9"}});
        let t = target_from(&v).unwrap();
        assert_eq!(t.login_name, "a@x");
        assert_eq!(t.display_name, "a");
        assert_eq!(t.org_id.as_deref(), Some("9"));
        assert!(target_from(&serde_json::json!({})).is_none());
    }
}
