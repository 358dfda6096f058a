//! Progress of an enrollment, reported step by step to the CLI and the app. Shared by the
//! WebAuthn client steps ([`crate::webauthn::create_credential`]) and the enrollment flows
//! ([`crate::enroll`], [`crate::helpdesk`]).

use serde::Serialize;

use crate::authenticator::AuthenticatorInfo;

/// Progress of an enrollment, for live prompts in the CLI and the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
