//! The core's error type.
//!
//! Every variant says what went wrong and what the person can do about it, and has a stable
//! machine-readable [`Error::code`] that the CLI (`--json`) and the desktop app switch on.
//! No variant ever carries a token, code or PIN.

mod api;
mod authenticator;
mod code;
pub(crate) mod options;
mod selftest;

pub use api::{ApiError, ApiErrorKind};
pub use authenticator::AuthenticatorError;
pub use code::ErrorCode;
pub use options::OptionsError;
pub use selftest::SelfTestError;

/// Result alias for the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in sign-in, the ZITADEL API, or enrollment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The issuer URL is not usable.
    #[error("the issuer URL {url:?} is not valid: {reason}. Use the instance URL, e.g. https://my-instance.zitadel.cloud")]
    InvalidIssuer {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A non-HTTPS URL for a host that is not loopback.
    #[error("refusing {url}: HTTPS is required (plain http is allowed only for loopback hosts such as localhost and 127.0.0.1)")]
    InsecureUrl {
        /// The refused URL.
        url: String,
    },
    /// OIDC discovery failed.
    #[error("could not read the OpenID configuration of {issuer}: {reason}. Check the issuer URL and your network")]
    Discovery {
        /// The issuer URL.
        issuer: String,
        /// What went wrong.
        reason: String,
    },
    /// No client id was configured.
    #[error("no client id: set PASSKEYS_CLIENT_ID or put client_id in the config file. Create a Native app in ZITADEL (auth method none, redirect http://127.0.0.1/callback) to get one")]
    MissingClientId,
    /// No issuer was configured.
    #[error("no issuer: set PASSKEYS_ISSUER or put issuer in the config file")]
    MissingIssuer,
    /// The browser sign-in did not finish in time.
    #[error("sign-in timed out after {seconds} s without a reply from the browser. Run the command again and finish signing in within that time")]
    SignInTimedOut {
        /// The timeout in seconds.
        seconds: u64,
    },
    /// The authorization server answered the redirect with an error (RFC 6749 §4.1.2.1).
    #[error("sign-in was refused by the server: {error}{}. {hint}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    AuthorizationFailed {
        /// The OAuth error code.
        error: String,
        /// The server's description, if any.
        description: Option<String>,
        /// What to do.
        hint: &'static str,
    },
    /// Exchanging the authorization code or refreshing failed.
    #[error("the token request failed: {0}")]
    TokenRequest(String),
    /// The ID token failed validation (signature, issuer, audience/azp, expiry or nonce; OIDC
    /// Core §3.1.3.7).
    #[error("sign-in was stopped: the server's ID token was refused because {reason}. {advice}")]
    InvalidIdToken {
        /// What is wrong with it.
        reason: String,
        /// What the person or their ZITADEL administrator can do.
        advice: &'static str,
    },
    /// There is no stored session.
    #[error("you are not signed in: sign in first")]
    NotSignedIn,
    /// The stored session can no longer be used: the refresh token was refused (expired,
    /// revoked, reused or the session ended), so the stored tokens were forgotten.
    #[error("your session ended (it expired, was revoked or ended elsewhere): sign in again")]
    SessionExpired,
    /// The OS keychain failed.
    #[error("the OS keychain could not be used ({0}). On machines without a keychain, keep the tokens in a file instead")]
    Keychain(String),
    /// Reading or writing a local file failed.
    #[error("could not use {path}: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A local file holds data this version cannot read.
    #[error("{path} is damaged or from another version ({reason}); remove it and try again")]
    CorruptFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The network request failed before ZITADEL answered.
    #[error("could not reach {url}: {reason}. Check your network and the issuer URL")]
    Network {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A server's reply was larger than this app reads from that endpoint (issue 12): the rest
    /// was not read.
    #[error("the {endpoint} at {url} sent a reply larger than {} KiB, far more than a ZITADEL instance sends there, so it was not read. The server is misbehaving or is not a ZITADEL instance: check the issuer URL", limit / 1024)]
    ResponseTooLarge {
        /// Which endpoint ("token endpoint").
        endpoint: &'static str,
        /// The URL that answered.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// A link from the server is not one this app opens or shows (issue 12): not an absolute
    /// `https` URL on the instance's own site. The link itself (it may carry a one-time code) is
    /// not repeated.
    #[error("refusing the link the server sent: {reason}; it points to {target}. Only an https link on the instance's own site ({expected}) is opened or shown. The server may be compromised: tell your ZITADEL administrator")]
    UntrustedLink {
        /// Where the link points: its host, or its scheme when it has none.
        target: String,
        /// What is wrong with it.
        reason: String,
        /// The instance's origin.
        expected: String,
    },
    /// The instance does not serve the passkey API that was asked for (`--api`, a profile's
    /// `api` setting), or none of the three (docs/zitadel-fidelity.md G1–G3).
    #[error("the instance does not offer {api} for passkeys (it answered that the route does not exist). {advice}")]
    PasskeyApiUnavailable {
        /// Which API, for people ("the Auth API v1").
        api: String,
        /// What to do.
        advice: &'static str,
    },
    /// Self-service registration links need the Auth API v1 (AddMyPasswordlessLink); on User
    /// service v2 they need the `user.passkey.write` permission, which users lack.
    #[error("this ZITADEL instance does not let users create passkey registration links for themselves (it no longer offers the Auth API v1, and its User service v2 needs an administrator's permission for links). Add the passkey here directly with a security key instead, or ask your ZITADEL administrator for a registration link")]
    SelfServiceLinksUnavailable,
    /// ZITADEL answered with an error.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The server's passkey creation options are unusable.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// The authenticator failed.
    #[error(transparent)]
    Authenticator(#[from] AuthenticatorError),
    /// The token name is not acceptable.
    #[error("invalid passkey name: {0}")]
    InvalidName(String),
    /// A passkey was created on the authenticator but ZITADEL did not register it.
    #[error("the passkey was created on the authenticator but ZITADEL did not register it: {source}. {cleanup}")]
    NotRegistered {
        /// Credential id (base64url) of the unregistered credential.
        credential_id: String,
        /// What the person can do about the credential left on the authenticator.
        cleanup: String,
        /// Why registration failed.
        #[source]
        source: Box<Error>,
    },
    /// Opening the browser failed.
    #[error("could not open a browser ({0}); open the URL printed above yourself")]
    Browser(String),
    /// Configuration is invalid.
    #[error("configuration error: {0}")]
    Config(String),
    /// The operation was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The passkey is not in this computer's inventory (issue 8).
    #[error("passkey {id} is not in this computer's inventory: it was added on another computer, in a browser or by an older version of this app, so it is not known which authenticator holds it")]
    NotInInventory {
        /// The ZITADEL token id.
        id: String,
    },
    /// The passkey self-test failed (issue 8).
    #[error("{} {}", .0, .0.advice())]
    SelfTest(#[from] SelfTestError),
}

impl Error {
    /// A stable, machine-readable code for this error (used by `--json` and the app).
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidIssuer { .. } => ErrorCode::InvalidIssuer,
            Error::InsecureUrl { .. } => ErrorCode::InsecureUrl,
            Error::Discovery { .. } => ErrorCode::DiscoveryFailed,
            Error::MissingClientId => ErrorCode::MissingClientId,
            Error::MissingIssuer => ErrorCode::MissingIssuer,
            Error::SignInTimedOut { .. } => ErrorCode::SignInTimedOut,
            Error::AuthorizationFailed { .. } => ErrorCode::AuthorizationFailed,
            Error::TokenRequest(_) => ErrorCode::TokenRequestFailed,
            Error::InvalidIdToken { .. } => ErrorCode::InvalidIdToken,
            Error::NotSignedIn => ErrorCode::NotSignedIn,
            Error::SessionExpired => ErrorCode::SessionExpired,
            Error::Keychain(_) => ErrorCode::KeychainError,
            Error::File { .. } => ErrorCode::FileError,
            Error::CorruptFile { .. } => ErrorCode::CorruptFile,
            Error::Network { .. } => ErrorCode::NetworkError,
            Error::ResponseTooLarge { .. } => ErrorCode::ResponseTooLarge,
            Error::UntrustedLink { .. } => ErrorCode::UntrustedLink,
            Error::PasskeyApiUnavailable { .. } => ErrorCode::PasskeyApiUnavailable,
            Error::SelfServiceLinksUnavailable => ErrorCode::SelfServiceLinksUnavailable,
            Error::Api(e) => e.kind.code(),
            Error::Options(OptionsError::RpIdRefused { .. }) => ErrorCode::RpIdRefused,
            Error::Options(_) => ErrorCode::InvalidCreationOptions,
            Error::Authenticator(e) => e.code(),
            Error::InvalidName(_) => ErrorCode::InvalidName,
            Error::NotRegistered { .. } => ErrorCode::NotRegistered,
            Error::Browser(_) => ErrorCode::BrowserFailed,
            Error::Config(_) => ErrorCode::ConfigError,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::NotInInventory { .. } => ErrorCode::NotInInventory,
            Error::SelfTest(e) => e.code(),
        }
    }

    pub(crate) fn file(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        Error::File {
            path: path.into(),
            source,
        }
    }
}
