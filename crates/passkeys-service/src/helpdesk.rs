//! The helpdesk ceremony: enroll a security key for another user (User service v2, on behalf),
//! setting a random PIN on a key without one, then making the key ask the user for their own PIN
//! at first use (forcePINChange). The PIN handover (show it once, or a 0600 file) is the
//! shell's.
//!
//! The random PIN goes through the normal enrollment flow: when the key asks for a first PIN,
//! [`RandomPinPrompt`] answers with a random one instead of asking the operator, and answers the
//! key's next PIN request (for forcePINChange) with the same one. It is never logged.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use passkeys_core::authenticator::Authenticator;
use passkeys_core::enroll::EnrollObserver;
use passkeys_core::helpdesk::{
    enroll_for_user, force_pin_change, random_pin, ForcePinChange, HelpdeskClient,
    HelpdeskEnrollment, PasskeyAuthenticator, TargetUser,
};
use passkeys_core::prompt::{PinRequest, Prompt, PromptNotice};
use passkeys_core::{Result, Secret};

use crate::choose::AuthenticatorChoice;

/// Answers a first-PIN request with a random PIN (when `random`), and the next PIN request with
/// that PIN; everything else goes to the shell's prompt.
pub struct RandomPinPrompt {
    inner: Arc<dyn Prompt>,
    random: bool,
    on_random_pin: Arc<dyn Fn() + Send + Sync>,
    set: Mutex<Option<Secret>>,
    offered: Mutex<bool>,
}

impl std::fmt::Debug for RandomPinPrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomPinPrompt")
            .field("random", &self.random)
            .finish_non_exhaustive()
    }
}

impl RandomPinPrompt {
    /// Over the shell's `inner` prompt; `on_random_pin` is called when a random PIN is set (the
    /// shell says so).
    pub fn new(
        inner: Arc<dyn Prompt>,
        random: bool,
        on_random_pin: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            inner,
            random,
            on_random_pin,
            set: Mutex::new(None),
            offered: Mutex::new(false),
        }
    }

    fn has_set_pin(&self) -> bool {
        self.set.lock().map(|s| s.is_some()).unwrap_or(false)
    }

    /// Takes the random PIN set on the key, if one was.
    pub fn take_set_pin(&self) -> Option<Secret> {
        self.set.lock().ok().and_then(|mut s| s.take())
    }

    /// Whether the key asked for a PIN at all.
    pub fn was_offered(&self) -> bool {
        self.offered.lock().map(|o| *o).unwrap_or(false)
    }
}

#[async_trait]
impl Prompt for RandomPinPrompt {
    async fn request_pin(&self, request: &PinRequest) -> Option<Secret> {
        if let Ok(mut o) = self.offered.lock() {
            *o = true;
        }
        match request {
            PinRequest::SetNew { min_length, .. } if self.random => {
                let pin = random_pin(*min_length);
                if let Ok(mut s) = self.set.lock() {
                    *s = Some(pin.clone());
                }
                (self.on_random_pin)();
                Some(pin)
            }
            PinRequest::Enter {
                after_wrong_pin: false,
                ..
            } => {
                let just_set = self.set.lock().ok().and_then(|s| s.clone());
                match just_set {
                    Some(pin) => Some(pin),
                    None => self.inner.request_pin(request).await,
                }
            }
            _ => self.inner.request_pin(request).await,
        }
    }

    fn touch(&self) {
        self.inner.touch();
    }

    fn notice(&self, notice: &PromptNotice) {
        self.inner.notice(notice);
    }
}

/// The `authenticatorAttachment` to ask ZITADEL for: cross-platform for a security key.
pub fn attachment_for(choice: &AuthenticatorChoice) -> PasskeyAuthenticator {
    match choice {
        AuthenticatorChoice::Key(_) => PasskeyAuthenticator::CrossPlatform,
        _ => PasskeyAuthenticator::Unspecified,
    }
}

/// What the ceremony did. The random PIN, when one was set, is here even if the registration
/// failed (it stays set on the key): hand it over regardless.
#[derive(Debug)]
pub struct HelpdeskOutcome {
    /// The registration.
    pub enrollment: Result<HelpdeskEnrollment>,
    /// The random PIN set on the key, if any.
    pub random_pin: Option<Secret>,
    /// forcePINChange, tried when a random PIN was set and the passkey registered.
    pub force_pin_change: Option<ForcePinChange>,
}

/// Enrolls `authenticator` (opened with `prompt`) for `user`: creates and registers the
/// passkey, and when `prompt` set a random PIN and the registration succeeded, sets
/// forcePINChange on the key.
pub async fn enroll(
    client: &HelpdeskClient,
    user: &TargetUser,
    authenticator: &mut dyn Authenticator,
    prompt: &RandomPinPrompt,
    attachment: PasskeyAuthenticator,
    name: Option<&str>,
    observer: &dyn EnrollObserver,
) -> HelpdeskOutcome {
    let enrollment = enroll_for_user(client, user, authenticator, attachment, name, observer).await;
    // A random PIN and a registered passkey: make the key ask the user for their own PIN at
    // first use. The key asks for its PIN first; the prompt answers with the one it just set.
    let forced = match (&enrollment, prompt.has_set_pin()) {
        (Ok(_), true) => Some(force_pin_change(authenticator).await),
        _ => None,
    };
    HelpdeskOutcome {
        enrollment,
        random_pin: prompt.take_set_pin(),
        force_pin_change: forced,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn the_random_pin_answers_the_first_pin_request_and_then_the_pin_prompt() {
        let p = RandomPinPrompt::new(
            Arc::new(passkeys_core::prompt::NoPrompt),
            true,
            Arc::new(|| {}),
        );
        let set = p
            .request_pin(&PinRequest::SetNew {
                min_length: 4,
                max_bytes: 63,
            })
            .await
            .unwrap();
        assert_eq!(set.expose().len(), 6);
        let again = p
            .request_pin(&PinRequest::Enter {
                attempts_left: Some(8),
                after_wrong_pin: false,
            })
            .await
            .unwrap();
        assert_eq!(again, set);
        assert_eq!(p.take_set_pin(), Some(set));
        assert!(p.was_offered());
    }
}
