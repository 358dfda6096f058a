//! The software authenticator for the demo and tests, persisted to a file. It is **not**
//! hardware: its keys live in a file on disk.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use webauthn_authenticator_rs::softtoken::{SoftToken, AAGUID as SOFT_AAGUID};
use webauthn_authenticator_rs::AuthenticatorBackendHashedClientData;
use webauthn_rs_proto as proto;

use super::{
    Authenticator, AuthenticatorError, AuthenticatorInfo, AuthenticatorKind, GetAssertionRequest,
    GetAssertionResponse, MakeCredentialRequest, MakeCredentialResponse, UserVerification,
};

/// The software authenticator, built on webauthn-authenticator-rs's `SoftToken` (P-256,
/// packed attestation, non-discoverable credentials, reports UV).
///
/// With a path, its keys are saved to that file (0600, written atomically) after each
/// registration, so a passkey made in one run is still there in the next.
pub struct SoftAuthenticator {
    token: SoftToken,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The notice shown wherever the software authenticator is used.
pub const SOFT_NOTICE: &str =
    "This is a software authenticator for demos and tests, not a security key.";

/// The notice for one software authenticator: [`SOFT_NOTICE`] and where its private keys are.
fn soft_notice(path: Option<&Path>) -> String {
    match path {
        Some(p) => format!(
            "{SOFT_NOTICE} Its private keys are stored in the file {} on this computer: whoever can read that file can use its passkeys.",
            p.display()
        ),
        None => format!(
            "{SOFT_NOTICE} Its private keys live only in this program's memory and are gone when it ends."
        ),
    }
}

/// The loud flag that lets the software authenticator enroll with an issuer that is not on
/// this machine (issue 12 item 12).
pub const SOFT_REMOTE_FLAG: &str = "--dangerously-allow-soft-authenticator";

/// True when `issuer` is on this machine: exactly `localhost`, 127.0.0.0/8 or `[::1]`.
fn is_loopback_issuer(issuer: &url::Url) -> bool {
    match issuer.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The software authenticator claims user verification while its keys sit in a file, so a
/// policy that demands phishing-resistant MFA would be met by a file: it may enroll only with a
/// loopback issuer (the sandbox, the demo), unless the person passes [`SOFT_REMOTE_FLAG`].
pub fn check_soft_allowed(issuer: &url::Url, dangerously_allowed: bool) -> crate::Result<()> {
    if dangerously_allowed || is_loopback_issuer(issuer) {
        return Ok(());
    }
    Err(crate::Error::Config(format!(
        "the software authenticator (soft:PATH) keeps its private keys in a plain file and is only for the local sandbox and tests; refusing to enroll it with {}. Use a security key, or pass {SOFT_REMOTE_FLAG} if you really mean to put a file-based passkey on this instance",
        issuer.host_str().unwrap_or(issuer.as_str())
    )))
}

impl SoftAuthenticator {
    /// An authenticator that lives only in memory.
    pub fn ephemeral() -> Result<Self, AuthenticatorError> {
        let (token, _ca) =
            SoftToken::new(true).map_err(|e| AuthenticatorError::Device(format!("{e:?}")))?;
        Ok(Self { token, path: None })
    }

    /// Opens the authenticator saved at `path`, or creates a new one there.
    pub fn open_or_create(path: &Path) -> Result<Self, AuthenticatorError> {
        let storage = |reason: String| AuthenticatorError::Storage {
            path: path.to_path_buf(),
            reason,
        };
        let token = match crate::files::read_private_file(path) {
            Ok(Some(bytes)) => SoftToken::from_cbor(&bytes)
                .map_err(|e| storage(format!("it is not a software authenticator file ({e:?})")))?,
            Ok(None) => {
                let (token, _ca) = SoftToken::new(true).map_err(|e| storage(format!("{e:?}")))?;
                token
            }
            Err(e) => return Err(storage(e.to_string())),
        };
        let me = Self {
            token,
            path: Some(path.to_path_buf()),
        };
        me.save()?;
        Ok(me)
    }

    fn save(&self) -> Result<(), AuthenticatorError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let storage = |reason: String| AuthenticatorError::Storage {
            path: path.clone(),
            reason,
        };
        let bytes = self
            .token
            .to_cbor()
            .map_err(|e| storage(format!("{e:?}")))?;
        crate::files::write_private_file(path, &bytes).map_err(|e| storage(e.to_string()))
    }

    /// True when the token holds one of `ids` (a silent probe, like a CTAP pre-flight
    /// getAssertion with `up=false`).
    fn holds_any(&mut self, rp_id: &str, ids: &[Vec<u8>]) -> bool {
        if ids.is_empty() {
            return false;
        }
        let options = proto::PublicKeyCredentialRequestOptions {
            challenge: vec![0; 32],
            timeout: None,
            rp_id: rp_id.to_string(),
            allow_credentials: ids
                .iter()
                .map(|id| proto::AllowCredentials {
                    type_: "public-key".into(),
                    id: id.clone(),
                    transports: None,
                })
                .collect(),
            user_verification: proto::UserVerificationPolicy::Discouraged_DO_NOT_USE,
            hints: None,
            extensions: None,
        };
        AuthenticatorBackendHashedClientData::perform_auth(
            &mut self.token,
            vec![0; 32],
            options,
            1000,
        )
        .is_ok()
    }
}

#[async_trait]
impl Authenticator for SoftAuthenticator {
    fn info(&self) -> AuthenticatorInfo {
        AuthenticatorInfo {
            kind: AuthenticatorKind::Software,
            model: "Software authenticator".into(),
            aaguid: Some(SOFT_AAGUID.to_string()),
            hardware: false,
            notice: Some(soft_notice(self.path.as_deref())),
        }
    }

    async fn make_credential(
        &mut self,
        request: &MakeCredentialRequest,
    ) -> Result<MakeCredentialResponse, AuthenticatorError> {
        if request.resident_key {
            return Err(AuthenticatorError::NotSupported(
                "the software authenticator cannot store discoverable credentials".into(),
            ));
        }
        if self.holds_any(&request.rp_id, &request.exclude_credentials) {
            return Err(AuthenticatorError::CredentialExcluded);
        }
        let options = proto::PublicKeyCredentialCreationOptions {
            rp: proto::RelyingParty {
                name: request.rp_name.clone(),
                id: request.rp_id.clone(),
            },
            user: proto::User {
                id: request.user_id.clone(),
                name: request.user_name.clone(),
                display_name: request.user_display_name.clone(),
            },
            challenge: Vec::new(),
            pub_key_cred_params: request
                .algorithms
                .iter()
                .map(|alg| proto::PubKeyCredParams {
                    type_: "public-key".into(),
                    alg: *alg,
                })
                .collect(),
            timeout: None,
            exclude_credentials: None,
            authenticator_selection: Some(proto::AuthenticatorSelectionCriteria {
                authenticator_attachment: None,
                resident_key: None,
                require_resident_key: false,
                user_verification: match request.user_verification {
                    UserVerification::Required => proto::UserVerificationPolicy::Required,
                    UserVerification::Preferred => proto::UserVerificationPolicy::Preferred,
                    UserVerification::Discouraged => {
                        proto::UserVerificationPolicy::Discouraged_DO_NOT_USE
                    }
                },
            }),
            hints: None,
            attestation: None,
            attestation_formats: None,
            extensions: None,
        };
        if !request.algorithms.contains(&-7) {
            return Err(AuthenticatorError::NotSupported(
                "the software authenticator only supports ES256 (-7)".into(),
            ));
        }
        let timeout_ms = u32::try_from(request.timeout.as_millis()).unwrap_or(u32::MAX);
        let reply = AuthenticatorBackendHashedClientData::perform_register(
            &mut self.token,
            request.client_data_hash.to_vec(),
            options,
            timeout_ms,
        )
        .map_err(|e| AuthenticatorError::Device(format!("{e:?}")))?;
        self.save()?;
        Ok(MakeCredentialResponse {
            attestation_object: reply.response.attestation_object,
            transports: Vec::new(),
            attachment: None,
            discoverable: false,
        })
    }

    async fn get_assertion(
        &mut self,
        request: &GetAssertionRequest,
    ) -> Result<GetAssertionResponse, AuthenticatorError> {
        let options = proto::PublicKeyCredentialRequestOptions {
            challenge: Vec::new(),
            timeout: None,
            rp_id: request.rp_id.clone(),
            allow_credentials: request
                .allow_credentials
                .iter()
                .map(|id| proto::AllowCredentials {
                    type_: "public-key".into(),
                    id: id.clone(),
                    transports: None,
                })
                .collect(),
            user_verification: match request.user_verification {
                UserVerification::Required => proto::UserVerificationPolicy::Required,
                UserVerification::Preferred => proto::UserVerificationPolicy::Preferred,
                UserVerification::Discouraged => {
                    proto::UserVerificationPolicy::Discouraged_DO_NOT_USE
                }
            },
            hints: None,
            extensions: None,
        };
        if !self.holds_any(&request.rp_id, &request.allow_credentials) {
            return Err(AuthenticatorError::NotFound(
                "the software authenticator does not hold this passkey".into(),
            ));
        }
        let timeout_ms = u32::try_from(request.timeout.as_millis()).unwrap_or(u32::MAX);
        let reply = AuthenticatorBackendHashedClientData::perform_auth(
            &mut self.token,
            request.client_data_hash.to_vec(),
            options,
            timeout_ms,
        )
        .map_err(|e| AuthenticatorError::Device(format!("{e:?}")))?;
        // The signature counter moved.
        self.save()?;
        Ok(GetAssertionResponse {
            credential_id: Some(reply.raw_id),
            authenticator_data: reply.response.authenticator_data,
            signature: reply.response.signature,
        })
    }
}

#[cfg(test)]
mod soft_policy_tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn soft_authenticator_refused_for_a_remote_issuer() {
        for remote in [
            "https://my-instance.zitadel.cloud",
            "https://localhost.evil.example",
            "http://sub.localhost:8080",
            "https://10.0.0.1",
        ] {
            let e = check_soft_allowed(&url(remote), false).unwrap_err();
            assert!(e.to_string().contains(SOFT_REMOTE_FLAG), "{remote}: {e}");
        }
        assert!(check_soft_allowed(&url("https://my-instance.zitadel.cloud"), true).is_ok());
        for local in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
            "http://127.8.0.1",
        ] {
            assert!(check_soft_allowed(&url(local), false).is_ok(), "{local}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_says_where_the_private_keys_are() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("soft-key.json");
        let saved = SoftAuthenticator::open_or_create(&path).unwrap().info();
        let notice = saved.notice.unwrap();
        assert!(notice.contains(&path.display().to_string()), "{notice}");
        assert!(notice.contains("whoever can read that file"), "{notice}");

        let memory = SoftAuthenticator::ephemeral().unwrap().info();
        let notice = memory.notice.unwrap();
        assert!(notice.contains("only in this program's memory"), "{notice}");
        assert!(!notice.contains("file"), "{notice}");
    }
}
