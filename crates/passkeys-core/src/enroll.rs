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

use async_trait::async_trait;
use serde::Serialize;

use crate::authenticator::{Authenticator, AuthenticatorInfo};
use crate::error::{Error, Result};
use crate::inventory::{Inventory, InventoryEntry};
use crate::selftest::{self_test, SelfTestOutcome, SelfTestTarget};
use crate::webauthn::{self, create_credential, CreatedCredential, UserVerification};
use crate::zitadel::{AuthFactorState, Passkey, ZitadelClient};

pub use crate::progress::{EnrollEvent, EnrollObserver};

/// A passkey this run enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
struct Registered {
    passkey: EnrolledPasskey,
    public_key: Vec<u8>,
    user_verification: UserVerification,
    transports: Vec<String>,
}

/// Self-service enrollment (module docs, steps 1–8) through the passkey port (Auth API v1 or
/// User service v2, [`crate::passkey_api`]).
async fn register(
    api: &ZitadelClient,
    authenticator: &mut dyn Authenticator,
    name: Option<&str>,
    observer: &dyn EnrollObserver,
) -> Result<Registered> {
    let name = check_name(name)?;
    observer.on_event(&EnrollEvent::Starting);
    let before = api.list_passkeys().await?;
    let info = authenticator.info();
    let name = name.unwrap_or_else(|| default_name(&info, &before));

    let options = api.add_passkey().await?;
    let created = create_credential(&options, api.base(), authenticator, &info, observer).await?;
    let registrar = MyPasskeys {
        api,
        pending: api.pending_passkey_id(),
    };
    let found = register_with(&registrar, &before, &created, &name, observer).await?;

    let CreatedCredential {
        parsed,
        credential_id,
        reply,
        ..
    } = created;
    let passkey = EnrolledPasskey {
        id: found.id,
        name,
        state: found.state.label().to_string(),
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

/// Step 1: the name is checked before any server call.
pub(crate) fn check_name(name: Option<&str>) -> Result<Option<String>> {
    name.map(|n| webauthn::validate_token_name(n).map_err(Error::InvalidName))
        .transpose()
}

/// Where a checked credential is registered: the signed-in user's own passkeys (Auth API v1,
/// [`crate::enroll`]) or another user's (User service v2, [`crate::helpdesk`]).
#[async_trait]
pub trait Registrar: Send + Sync {
    /// The user's passkeys as the server lists them now.
    async fn list(&self) -> Result<Vec<Passkey>>;
    /// The verify call with the credential JSON and the name. [`register_with`] never retries
    /// it.
    async fn verify(&self, credential_json: &[u8], name: &str) -> Result<()>;
    /// The id the server gave the pending registration, when it said (v2 RegisterPasskey);
    /// used when the new passkey cannot be told by its name.
    fn pending_id(&self) -> Option<&str> {
        None
    }
}

/// The signed-in user's passkeys (the self-service port, [`crate::passkey_api`]).
struct MyPasskeys<'a> {
    api: &'a ZitadelClient,
    /// The v2 `passkeyId` of the started registration (none on the Auth API v1).
    pending: Option<String>,
}

#[async_trait]
impl Registrar for MyPasskeys<'_> {
    async fn list(&self) -> Result<Vec<Passkey>> {
        self.api.list_passkeys().await
    }
    async fn verify(&self, credential_json: &[u8], name: &str) -> Result<()> {
        self.api.verify_passkey(credential_json, name).await
    }
    fn pending_id(&self) -> Option<&str> {
        self.pending.as_deref()
    }
}

/// The registered passkey as the server lists it after [`register_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredPasskey {
    /// The server's id of the new passkey, when it could be found.
    pub id: Option<String>,
    /// Its state ([`AuthFactorState::Ready`] when it could not be found).
    pub state: AuthFactorState,
}

/// Steps 7 and 8, the same for self-service and helpdesk enrollment: the verify call is
/// **never retried**; after a network failure the list is read again and the passkey counts
/// as registered only if a new one with `name` is there. Then the list is read once more and
/// the new passkey is the one that was not in `before` with this name, else the one with the
/// server's pending id, else (when the server gave none) the only new one.
///
/// # Errors
/// [`Error::NotRegistered`] (with what to do about the credential on the authenticator) when
/// ZITADEL did not register it; after a network failure whose outcome cannot be read, its
/// source is the network error.
pub async fn register_with(
    registrar: &dyn Registrar,
    before: &[Passkey],
    created: &CreatedCredential,
    name: &str,
    observer: &dyn EnrollObserver,
) -> Result<RegisteredPasskey> {
    observer.on_event(&EnrollEvent::Registering {
        name: name.to_string(),
    });
    let is_new = |p: &Passkey| !before.iter().any(|b| b.id == p.id);
    match registrar.verify(&created.credential_json, name).await {
        Ok(()) => {}
        Err(e @ Error::Network { .. }) => {
            // The server may have registered it before the connection failed: look, don't retry.
            tracing::warn!("verify failed on the network ({e}); checking whether ZITADEL registered the passkey");
            let after = match registrar.list().await {
                Ok(after) => after,
                Err(_) => return Err(not_registered(created, e)),
            };
            if !after.iter().any(|p| p.name == name && is_new(p)) {
                return Err(not_registered(created, e));
            }
        }
        Err(e) => return Err(not_registered(created, e)),
    }
    let after = registrar.list().await.unwrap_or_default();
    let pending = registrar.pending_id();
    let found = after
        .iter()
        .find(|p| is_new(p) && p.name == name)
        .or_else(|| match pending {
            Some(id) => after.iter().find(|p| p.id == id),
            None => after.iter().find(|p| is_new(p)),
        });
    Ok(RegisteredPasskey {
        id: found.map(|p| p.id.clone()).or(pending.map(str::to_string)),
        state: found.map(|p| p.state).unwrap_or(AuthFactorState::Ready),
    })
}

/// [`Error::NotRegistered`] for `created`, with what to do about what is left on the
/// authenticator.
fn not_registered(created: &CreatedCredential, source: Error) -> Error {
    Error::NotRegistered {
        credential_id: created.credential_id.clone(),
        cleanup: if created.reply.discoverable {
            format!(
                "The credential {} is stored on the authenticator; delete it from the security key's stored passkeys so it does not take a slot",
                created.credential_id
            )
        } else {
            "Nothing was stored on the authenticator (the passkey is not discoverable), so there is nothing to clean up there; ZITADEL drops the unfinished registration when the next passkey is added. Try again".to_string()
        },
        source: Box::new(source),
    }
}

/// Options of [`add_passkey_with`].
#[derive(Debug, Clone, Default)]
pub struct EnrollOptions {
    /// Sign in once with the new passkey right after it is registered.
    pub self_test: bool,
    /// Record the new passkey in the inventory at this path.
    pub inventory: Option<std::path::PathBuf>,
}

impl EnrollOptions {
    /// What the CLI and the app do by default: self-test on, the inventory at its default
    /// path (none when that cannot be found).
    pub fn standard() -> Self {
        Self {
            self_test: true,
            inventory: crate::inventory::default_path().ok(),
        }
    }
}

/// A passkey enrolled by [`add_passkey_with`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Enrollment {
    /// The passkey.
    #[serde(flatten)]
    pub passkey: EnrolledPasskey,
    /// The self-test's outcome; `None` when it was skipped.
    pub self_test: Option<SelfTestOutcome>,
}

/// [`add_passkey`], then the self-test (a failure is reported in the result,
/// not as an error: the passkey is registered) and the inventory record (a failure to write it
/// is logged, never an error).
///
/// # Errors
/// As [`add_passkey`].
pub async fn add_passkey_with(
    api: &ZitadelClient,
    authenticator: &mut dyn Authenticator,
    name: Option<&str>,
    observer: &dyn EnrollObserver,
    options: &EnrollOptions,
) -> Result<Enrollment> {
    let registered = register(api, authenticator, name, observer).await?;
    let passkey = &registered.passkey;
    let credential_id = crate::b64::decode_lenient(&passkey.credential_id).unwrap_or_default();
    let instance = api.base().as_str().trim_end_matches('/').to_string();
    if let Some(path) = &options.inventory {
        let mut entry = InventoryEntry::new(
            passkey.id.clone(),
            passkey.name.clone(),
            passkey.credential_id.clone(),
            passkey.aaguid.clone(),
            passkey.authenticator.model.clone(),
            passkey.authenticator.kind,
            instance,
            passkey.rp_id.clone(),
        );
        entry.transports = registered.transports.clone();
        entry.discoverable = passkey.discoverable;
        entry.algorithm = passkey.algorithm;
        entry.public_key = Some(crate::b64::url_nopad(&registered.public_key));
        entry.user_verification = Some(registered.user_verification);
        let mut inventory = Inventory::load(path);
        if let Err(e) = inventory.record(entry) {
            tracing::warn!("the new passkey could not be added to the local inventory: {e}");
        }
    }
    let self_test = if options.self_test {
        observer.on_event(&EnrollEvent::SelfTesting);
        let origin = webauthn::origin_of(api.base());
        let target = SelfTestTarget {
            rp_id: &passkey.rp_id,
            origin: &origin,
            credential_id: &credential_id,
            public_key: &registered.public_key,
            user_verification: registered.user_verification,
        };
        let result = self_test(authenticator, &target).await;
        if let Err(e) = &result {
            tracing::warn!("self-test of passkey {}: {e}", passkey.credential_id);
        }
        Some(result.into())
    } else {
        None
    };
    Ok(Enrollment {
        passkey: registered.passkey,
        self_test,
    })
}
