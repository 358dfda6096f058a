//! Why the server's passkey creation options cannot be used.

/// Why the creation options from the server cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// A member could not be decoded; names the member.
    #[error("the server's passkey options are malformed: {member} {reason}. This is a server or proxy problem; report it to your ZITADEL administrator")]
    Malformed {
        /// JSON path of the member, e.g. `publicKey.challenge`.
        member: String,
        /// What is wrong.
        reason: String,
    },
    /// The rpId is not one the instance's origin may claim.
    #[error("refusing to create a passkey for {rp_id:?}: {reason}. The server at {host} may not ask for passkeys of another site")]
    RpIdRefused {
        /// The rpId in the options.
        rp_id: String,
        /// The instance host.
        host: String,
        /// Why.
        reason: String,
    },
    /// Helpdesk enrollment: the options are for another user than the one chosen (issue 12
    /// item 9); the passkey would end up on someone else's account.
    #[error("refusing the server's passkey options: they are for another user (user.id {got:?}) than the one you chose ({expected}). Nothing was created on the authenticator")]
    UserMismatch {
        /// The chosen user's id.
        expected: String,
        /// `publicKey.user.id` of the options, as text (lossy).
        got: String,
    },
    /// No algorithm in `pubKeyCredParams` is usable.
    #[error("the server offered no public-key algorithm this authenticator supports")]
    NoSupportedAlgorithm,
}

pub(crate) fn malformed(member: &str, reason: impl Into<String>) -> OptionsError {
    OptionsError::Malformed {
        member: member.to_string(),
        reason: reason.into(),
    }
}
