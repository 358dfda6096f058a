//! [`ErrorCode`]: the closed list of machine-readable error codes.

/// Declares [`ErrorCode`] with its wire strings and [`ErrorCode::ALL`] from one list, so a new
/// code cannot be left out of `ALL` or `as_str`.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)+) => {
        /// A stable, machine-readable error code: what `--json` prints as `error.code`, what the
        /// app sends over IPC as `code` and `causeCode`, and what the UI looks up in
        /// `ui/strings.js` (`errors`). On the wire it is the snake_case string
        /// ([`ErrorCode::as_str`]); those strings never change meaning.
        ///
        /// Codes raised by the core come from [`crate::Error::code`] and the reason types'
        /// `code()`; the codes under "Raised by the shells" are the desktop app's and the CLI's
        /// own (they are listed here so that every code a person can meet is in one closed list).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The wire string, e.g. `"rp_id_refused"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }
        }
    };
}

error_codes! {
    // Configuration and sign-in.
    /// The issuer URL is not usable.
    InvalidIssuer = "invalid_issuer",
    /// Plain http for a host that is not loopback.
    InsecureUrl = "insecure_url",
    /// OIDC discovery failed.
    DiscoveryFailed = "discovery_failed",
    /// No client id was configured.
    MissingClientId = "missing_client_id",
    /// No issuer was configured.
    MissingIssuer = "missing_issuer",
    /// The browser sign-in did not finish in time.
    SignInTimedOut = "sign_in_timed_out",
    /// The server refused the sign-in (RFC 6749 §4.1.2.1).
    AuthorizationFailed = "authorization_failed",
    /// Exchanging the authorization code or refreshing failed.
    TokenRequestFailed = "token_request_failed",
    /// The ID token failed validation.
    InvalidIdToken = "invalid_id_token",
    /// There is no stored session.
    NotSignedIn = "not_signed_in",
    /// The session ended (refresh token refused, or the API no longer accepts the token).
    SessionExpired = "session_expired",
    /// The OS keychain failed.
    KeychainError = "keychain_error",
    /// A local file could not be read or written.
    FileError = "file_error",
    /// A local file holds data this version cannot read.
    CorruptFile = "corrupt_file",
    /// The network request failed before the server answered.
    NetworkError = "network_error",
    /// A server's reply was larger than this app reads from that endpoint.
    ResponseTooLarge = "response_too_large",
    /// A link from the server points outside the instance's site.
    UntrustedLink = "untrusted_link",
    /// The instance does not serve the passkey API asked for (or none).
    PasskeyApiUnavailable = "passkey_api_unavailable",
    /// The instance does not let users create registration links for themselves.
    SelfServiceLinksUnavailable = "self_service_links_unavailable",
    /// The system browser could not be opened.
    BrowserFailed = "browser_failed",
    /// The configuration is invalid.
    ConfigError = "config_error",
    /// The operation was cancelled.
    Cancelled = "cancelled",

    // The ZITADEL API (by ZITADEL error id and gRPC code).
    /// ZITADEL has no pending passkey registration (WEBAU-5M9so).
    NoPendingRegistration = "no_pending_registration",
    /// ZITADEL could not parse the credential (WEBAU-sEr8c).
    CredentialUnparsable = "credential_unparsable",
    /// ZITADEL rejected the credential (WEBAU-3Vb9s).
    CredentialRejected = "credential_rejected",
    /// No such passkey or user (404).
    NotFound = "not_found",
    /// The session was signed in without the second factor the account needs (AUTHZ-Kl3p0).
    MfaRequired = "mfa_required",
    /// The account may not do this (403).
    PermissionDenied = "permission_denied",
    /// ZITADEL refused the request as invalid (400).
    InvalidArgument = "invalid_argument",
    /// ZITADEL is busy or unavailable (429, 503, 504).
    ServerUnavailable = "server_unavailable",
    /// Any other ZITADEL error.
    ServerError = "server_error",

    // Enrollment and the WebAuthn client.
    /// The server's passkey creation options are unusable (malformed, for another user, no
    /// usable algorithm).
    InvalidCreationOptions = "invalid_creation_options",
    /// The options' rpId is not one the instance may claim (WebAuthn L3 §5.1.3 step 8).
    RpIdRefused = "rp_id_refused",
    /// The passkey name is not acceptable.
    InvalidName = "invalid_name",
    /// A credential was created on the authenticator but ZITADEL did not register it.
    NotRegistered = "not_registered",
    /// The passkey is not in this computer's inventory.
    NotInInventory = "not_in_inventory",

    // Authenticators (CTAP 2.1 statuses and device failures).
    /// The authenticator already holds a credential for this account (CREDENTIAL_EXCLUDED).
    CredentialExcluded = "credential_excluded",
    /// The authenticator cannot do what the server requires.
    AuthenticatorNotSupported = "authenticator_not_supported",
    /// The authenticator did not answer in time.
    AuthenticatorTimeout = "authenticator_timeout",
    /// The software authenticator's file is unusable.
    AuthenticatorStorage = "authenticator_storage",
    /// Any other device failure.
    AuthenticatorFailed = "authenticator_failed",
    /// The authenticator's reply does not check out.
    AuthenticatorInvalidResponse = "authenticator_invalid_response",
    /// No authenticator of the requested kind, or none holding the credential.
    AuthenticatorNotFound = "authenticator_not_found",
    /// The key was removed during the operation.
    AuthenticatorDisconnected = "authenticator_disconnected",
    /// A wrong PIN (PIN_INVALID).
    PinInvalid = "pin_invalid",
    /// Too many wrong PINs since the key was plugged in (PIN_AUTH_BLOCKED).
    PinAuthBlocked = "pin_auth_blocked",
    /// No PIN attempts left (PIN_BLOCKED).
    PinBlocked = "pin_blocked",
    /// A PIN is required but the key has none.
    PinNotSet = "pin_not_set",
    /// The key refused the new PIN (PIN_POLICY_VIOLATION).
    PinPolicy = "pin_policy",
    /// No room for another discoverable credential (KEY_STORE_FULL).
    KeyStoreFull = "key_store_full",

    // The passkey self-test.
    /// The authenticator could not sign in with the new passkey.
    SelfTestAuthenticator = "self_test_authenticator",
    /// The authenticator's assertion does not check out.
    SelfTestInvalid = "self_test_invalid",
    /// The passkey's algorithm cannot be checked here.
    SelfTestUnsupportedAlgorithm = "self_test_unsupported_algorithm",

    // Raised by the shells (the desktop app), not by the core.
    /// Another operation is still running.
    Busy = "busy",
    /// The app's own failure (a task panicked, its state is unusable).
    Internal = "internal",
    /// No instance is selected.
    NoInstance = "no_instance",
    /// There is no configuration directory to save instances in.
    NoConfigDir = "no_config_dir",
    /// The chosen authenticator or security key is not available.
    UnknownAuthenticator = "unknown_authenticator",
    /// An id from the page is not a valid credential or enrollment id.
    InvalidId = "invalid_id",
    /// A destructive action was not confirmed as asked.
    NotConfirmed = "not_confirmed",
    /// A different key model was inserted during a reset.
    DifferentKey = "different_key",
    /// A PIN was sent while none is being asked for.
    NoPinRequest = "no_pin_request",
    /// The QR code could not be drawn.
    QrFailed = "qr_failed",
    /// The demo's sandbox could not start.
    SandboxFailed = "sandbox_failed",
    /// The passkey cannot be checked (no inventory entry details, or no authenticator for it).
    CannotCheck = "cannot_check",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with a wire string, so `code == "not_found"` reads as the JSON does.
impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    /// Lists every variant by name; adding a variant breaks this match until it is listed, and
    /// then the count below checks it is in [`ErrorCode::ALL`].
    fn listed(code: ErrorCode) -> bool {
        use ErrorCode::*;
        match code {
            InvalidIssuer
            | InsecureUrl
            | DiscoveryFailed
            | MissingClientId
            | MissingIssuer
            | SignInTimedOut
            | AuthorizationFailed
            | TokenRequestFailed
            | InvalidIdToken
            | NotSignedIn
            | SessionExpired
            | KeychainError
            | FileError
            | CorruptFile
            | NetworkError
            | ResponseTooLarge
            | UntrustedLink
            | PasskeyApiUnavailable
            | SelfServiceLinksUnavailable
            | BrowserFailed
            | ConfigError
            | Cancelled
            | NoPendingRegistration
            | CredentialUnparsable
            | CredentialRejected
            | NotFound
            | MfaRequired
            | PermissionDenied
            | InvalidArgument
            | ServerUnavailable
            | ServerError
            | InvalidCreationOptions
            | RpIdRefused
            | InvalidName
            | NotRegistered
            | NotInInventory
            | CredentialExcluded
            | AuthenticatorNotSupported
            | AuthenticatorTimeout
            | AuthenticatorStorage
            | AuthenticatorFailed
            | AuthenticatorInvalidResponse
            | AuthenticatorNotFound
            | AuthenticatorDisconnected
            | PinInvalid
            | PinAuthBlocked
            | PinBlocked
            | PinNotSet
            | PinPolicy
            | KeyStoreFull
            | SelfTestAuthenticator
            | SelfTestInvalid
            | SelfTestUnsupportedAlgorithm
            | Busy
            | Internal
            | NoInstance
            | NoConfigDir
            | UnknownAuthenticator
            | InvalidId
            | NotConfirmed
            | DifferentKey
            | NoPinRequest
            | QrFailed
            | SandboxFailed
            | CannotCheck => true,
        }
    }
    const LISTED: usize = 65;

    #[test]
    fn all_is_complete_and_unique() {
        assert!(ErrorCode::ALL.iter().all(|c| listed(*c)));
        assert_eq!(ErrorCode::ALL.len(), LISTED, "a code is missing from ALL");
        let mut strings: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        strings.sort_unstable();
        strings.dedup();
        assert_eq!(
            strings.len(),
            ErrorCode::ALL.len(),
            "two codes share a string"
        );
    }

    #[test]
    fn as_str_is_the_serde_form() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(code.to_string(), code.as_str());
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *code);
        }
        assert_eq!(ErrorCode::RpIdRefused.as_str(), "rp_id_refused");
    }
}
