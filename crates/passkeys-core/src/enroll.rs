//! The enrollment flow: add a passkey to the signed-in ZITADEL user.
//!
//! 1. Check the token name (before any server call) and list the current passkeys.
//! 2. AddMyPasswordless → creation options (WebAuthn L3 §5.4).
//! 3. Refuse an rpId the instance may not claim (WebAuthn L3 §5.1.3 step 8), before touching the
//!    authenticator.
//! 4. Build clientDataJSON for the instance origin and hash it (WebAuthn L3 §5.8.1).
//! 5. authenticatorMakeCredential (CTAP 2.1 §6.1) on the chosen [`Authenticator`].
//! 6. Check the reply (rpIdHash, UP, UV, algorithm) and take the credential id from authData.
//! 7. VerifyMyPasswordless with the credential JSON and the name. It is never retried: after a
//!    network failure the list is read again to see whether ZITADEL registered it.
//! 8. List again; the new id is the one that was not there before.
//!
//! A credential created but not registered is reported ([`Error::NotRegistered`]) with what to
//! do about it; it is never dropped silently.

use serde::Serialize;

use url::Url;

use crate::authenticator::{
    Authenticator, AuthenticatorError, AuthenticatorInfo, MakeCredentialRequest,
    MakeCredentialResponse,
};
use crate::error::{Error, Result};
use crate::webauthn::{self, CreationOptions, UserVerification};
use crate::zitadel::{AuthFactorState, Passkey, ZitadelClient};

/// Progress of an enrollment, for live prompts in the CLI and the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "step", rename_all = "camelCase")]
#[non_exhaustive]
pub enum EnrollEvent {
    /// Asking ZITADEL to start a registration.
    Starting,
    /// The options were checked; `rp_id` is the site the passkey will be for.
    OptionsChecked {
        /// The rpId.
        rp_id: String,
    },
    /// Waiting for the authenticator (touch it / verify).
    WaitingForAuthenticator {
        /// Authenticator description.
        authenticator: AuthenticatorInfo,
    },
    /// The authenticator created the credential.
    Created {
        /// base64url credential id.
        credential_id: String,
    },
    /// Registering with ZITADEL under `name`.
    Registering {
        /// Token name.
        name: String,
    },
    /// Registered; now signing in once with the new passkey to check it works (touch the key
    /// again, maybe the PIN).
    SelfTesting,
}

/// Receives [`EnrollEvent`]s.
pub trait EnrollObserver: Send + Sync {
    /// Called for each event, in order.
    fn on_event(&self, event: &EnrollEvent);
}

impl<F: Fn(&EnrollEvent) + Send + Sync> EnrollObserver for F {
    fn on_event(&self, event: &EnrollEvent) {
        self(event)
    }
}

/// A passkey this run enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct EnrolledPasskey {
    /// ZITADEL token id (found by comparing the list before and after).
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// State in ZITADEL.
    pub state: String,
    /// base64url credential id.
    pub credential_id: String,
    /// AAGUID of the authenticator model.
    pub aaguid: String,
    /// The rpId the passkey is bound to.
    pub rp_id: String,
    /// COSE algorithm of the credential key.
    pub algorithm: Option<i64>,
    /// Whether the credential is stored on the authenticator.
    pub discoverable: bool,
    /// The authenticator.
    pub authenticator: AuthenticatorInfo,
}

/// A default name: the authenticator model and today's date, made unique among `existing`.
pub fn default_name(info: &AuthenticatorInfo, existing: &[Passkey]) -> String {
    let date = time::OffsetDateTime::now_utc().date();
    let base = format!("{} {date}", info.model);
    let taken = |n: &str| existing.iter().any(|p| p.name == n);
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|i| format!("{base} ({i})"))
        .find(|n| !taken(n))
        .unwrap_or(base)
}

/// Default and bounds for the authenticator deadline when the options give none or an odd one.
const DEFAULT_TIMEOUT_MS: u64 = 300_000;
const MIN_TIMEOUT_MS: u64 = 30_000;
const MAX_TIMEOUT_MS: u64 = 600_000;

/// Adds a passkey. See the module docs for the steps.
///
/// # Errors
/// Name, API, options, rpId and authenticator errors as they come; [`Error::NotRegistered`]
/// when a credential was created but ZITADEL did not register it.
pub async fn add_passkey(
    api: &ZitadelClient,
    authenticator: &mut dyn Authenticator,
    name: Option<&str>,
    observer: &dyn EnrollObserver,
) -> Result<EnrolledPasskey> {
    Ok(register(api, authenticator, name, observer).await?.passkey)
}

/// What [`register`] learnt beyond the [`EnrolledPasskey`], for the self-test and inventory.
pub(crate) struct Registered {
    pub(crate) passkey: EnrolledPasskey,
    pub(crate) public_key: Vec<u8>,
    pub(crate) user_verification: UserVerification,
    pub(crate) transports: Vec<String>,
}

pub(crate) async fn register(
    api: &ZitadelClient,
    authenticator: &mut dyn Authenticator,
    name: Option<&str>,
    observer: &dyn EnrollObserver,
) -> Result<Registered> {
    let name = match name {
        Some(n) => Some(webauthn::validate_token_name(n).map_err(Error::InvalidName)?),
        None => None,
    };
    observer.on_event(&EnrollEvent::Starting);
    let before = api.list_passkeys().await?;
    let info = authenticator.info();
    let name = name.unwrap_or_else(|| default_name(&info, &before));

    let options = api.add_passkey().await?;
    let created = create_credential(&options, api.base(), authenticator, &info, observer).await?;
    observer.on_event(&EnrollEvent::Registering { name: name.clone() });
    let not_registered = |source: Error| created.not_registered(source);
    match api.verify_passkey(&created.credential_json, &name).await {
        Ok(()) => {}
        Err(e @ Error::Network { .. }) => {
            // The server may have registered it before the connection failed: look, don't retry.
            tracing::warn!("verify failed on the network ({e}); checking whether ZITADEL registered the passkey");
            let after = api
                .list_passkeys()
                .await
                .map_err(|_| not_registered(e.clone_for_report()))?;
            if !after
                .iter()
                .any(|p| p.name == name && !before.iter().any(|b| b.id == p.id))
            {
                return Err(not_registered(e));
            }
        }
        Err(e) => return Err(not_registered(e)),
    }

    let Created {
        parsed,
        credential_id,
        reply,
        ..
    } = created;
    let after = api.list_passkeys().await.unwrap_or_default();
    let new: Vec<&Passkey> = after
        .iter()
        .filter(|p| !before.iter().any(|b| b.id == p.id))
        .collect();
    let found = new
        .iter()
        .find(|p| p.name == name)
        .or_else(|| new.first())
        .copied();
    let passkey = EnrolledPasskey {
        id: found.map(|p| p.id.clone()),
        name,
        state: found
            .map(|p| p.state)
            .unwrap_or(AuthFactorState::Ready)
            .label()
            .to_string(),
        credential_id,
        aaguid: webauthn::aaguid_string(&parsed.aaguid),
        rp_id: options.rp_id,
        algorithm: parsed.alg,
        discoverable: reply.discoverable,
        authenticator: info,
    };
    Ok(Registered {
        passkey,
        public_key: parsed.public_key,
        user_verification: options.user_verification,
        transports: reply.transports,
    })
}

/// A credential the authenticator created and the client checked, ready for the verify call.
pub(crate) struct Created {
    /// The parsed attestation (credential id, AAGUID, algorithm, public key).
    pub(crate) parsed: webauthn::ParsedAttestation,
    /// base64url credential id.
    pub(crate) credential_id: String,
    /// The `PublicKeyCredential` JSON to send.
    pub(crate) credential_json: Vec<u8>,
    /// The authenticator's reply.
    pub(crate) reply: MakeCredentialResponse,
}

impl Created {
    /// [`Error::NotRegistered`] for this credential, with what to do about what is left on the
    /// authenticator.
    pub(crate) fn not_registered(&self, source: Error) -> Error {
        Error::NotRegistered {
            credential_id: self.credential_id.clone(),
            cleanup: if self.reply.discoverable {
                format!(
                    "The credential {} is stored on the authenticator; delete it with `passkeys key credentials delete` (or from the app's Security keys page) so it does not take a slot",
                    self.credential_id
                )
            } else {
                "Nothing was stored on the authenticator (the passkey is not discoverable), so there is nothing to clean up there; ZITADEL drops the unfinished registration when the next passkey is added. Try again".to_string()
            },
            source: Box::new(source),
        }
    }
}

/// Steps 3 to 6 of the flow, shared by self-service ([`add_passkey`]) and helpdesk
/// enrollment: the rpId rule, clientDataJSON for the instance origin, authenticatorMakeCredential,
/// and the checks of the reply (rpIdHash, UP, UV, algorithm), with the credential id taken
/// from authData.
pub(crate) async fn create_credential(
    options: &CreationOptions,
    instance: &Url,
    authenticator: &mut dyn Authenticator,
    info: &AuthenticatorInfo,
    observer: &dyn EnrollObserver,
) -> Result<Created> {
    webauthn::check_rp_id(&options.rp_id, instance)?;
    observer.on_event(&EnrollEvent::OptionsChecked {
        rp_id: options.rp_id.clone(),
    });
    let client_data =
        webauthn::client_data_json(&options.challenge, &webauthn::origin_of(instance));
    let timeout_ms = options
        .timeout_ms
        .unwrap_or(DEFAULT_TIMEOUT_MS)
        .clamp(MIN_TIMEOUT_MS, MAX_TIMEOUT_MS);
    let request = MakeCredentialRequest {
        client_data_hash: webauthn::sha256(&client_data),
        rp_id: options.rp_id.clone(),
        rp_name: options.rp_name.clone(),
        user_id: options.user_id.clone(),
        user_name: options.user_name.clone(),
        user_display_name: options.user_display_name.clone(),
        algorithms: options.algorithms.clone(),
        exclude_credentials: options.exclude_credentials.clone(),
        user_verification: options.user_verification,
        resident_key: options.resident_key == webauthn::ResidentKey::Required,
        timeout: std::time::Duration::from_millis(timeout_ms),
    };
    observer.on_event(&EnrollEvent::WaitingForAuthenticator {
        authenticator: info.clone(),
    });
    let reply = authenticator.make_credential(&request).await?;

    let parsed = webauthn::parse_attestation_object(&reply.attestation_object)
        .map_err(|e| AuthenticatorError::InvalidResponse(e.0))?;
    let invalid =
        |what: &str| Error::Authenticator(AuthenticatorError::InvalidResponse(what.to_string()));
    if parsed.rp_id_hash != webauthn::sha256(options.rp_id.as_bytes()) {
        return Err(invalid("the rpIdHash does not match the requested rpId"));
    }
    if !parsed.flags.user_present() {
        return Err(invalid("user presence (UP) is not set"));
    }
    if options.user_verification == UserVerification::Required && !parsed.flags.user_verified() {
        return Err(invalid(
            "user verification (UV) is required but was not performed",
        ));
    }
    if let Some(alg) = parsed.alg {
        if !options.algorithms.contains(&alg) {
            return Err(invalid(&format!(
                "the key uses algorithm {alg}, which was not requested"
            )));
        }
    }
    let credential_id = crate::b64::url_nopad(&parsed.credential_id);
    observer.on_event(&EnrollEvent::Created {
        credential_id: credential_id.clone(),
    });
    let credential_json = webauthn::credential_json(
        &parsed.credential_id,
        &client_data,
        &reply.attestation_object,
        &reply.transports,
        reply.attachment.as_deref(),
    );
    Ok(Created {
        parsed,
        credential_id,
        credential_json,
        reply,
    })
}

pub use crate::selftest::{add_passkey_with, EnrollOptions, Enrollment};

impl Error {
    /// A copy of a network error for reporting (other variants are summarised).
    fn clone_for_report(&self) -> Error {
        match self {
            Error::Network { url, reason } => Error::Network {
                url: url.clone(),
                reason: reason.clone(),
            },
            other => Error::Config(other.to_string()),
        }
    }
}
