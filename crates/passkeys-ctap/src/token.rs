//! [`KeyToken`]: the token of every key the engine finds, so one [`crate::Device`] type covers
//! USB and NFC keys (webauthn-authenticator-rs's `AnyToken`) and the practice key.

use async_trait::async_trait;
use webauthn_authenticator_rs::error::WebauthnCError;
use webauthn_authenticator_rs::transport::{AnyToken, Token};
use webauthn_authenticator_rs::ui::UiCallback;
use webauthn_rs_proto::AuthenticatorTransport;

/// A key's transport: attached over USB or NFC, or the practice (simulated) key.
#[derive(Debug)]
pub enum KeyToken {
    /// A key found on USB or NFC.
    Attached(AnyToken),
    /// The practice security key (simulated, in-process).
    #[cfg(feature = "practice")]
    Practice(crate::practice::PracticeToken),
}

impl KeyToken {
    /// Whether this is the practice key.
    pub fn is_practice(&self) -> bool {
        match self {
            KeyToken::Attached(_) => false,
            #[cfg(feature = "practice")]
            KeyToken::Practice(_) => true,
        }
    }
}

impl From<AnyToken> for KeyToken {
    fn from(t: AnyToken) -> Self {
        KeyToken::Attached(t)
    }
}

#[cfg(feature = "practice")]
impl From<crate::practice::PracticeToken> for KeyToken {
    fn from(t: crate::practice::PracticeToken) -> Self {
        KeyToken::Practice(t)
    }
}

#[async_trait]
impl Token for KeyToken {
    type Id = ();

    fn has_button(&self) -> bool {
        match self {
            KeyToken::Attached(t) => t.has_button(),
            #[cfg(feature = "practice")]
            KeyToken::Practice(t) => t.has_button(),
        }
    }

    fn get_transport(&self) -> AuthenticatorTransport {
        match self {
            KeyToken::Attached(t) => t.get_transport(),
            #[cfg(feature = "practice")]
            KeyToken::Practice(t) => t.get_transport(),
        }
    }

    async fn transmit_raw<U: UiCallback>(
        &mut self,
        cbor: &[u8],
        ui: &U,
    ) -> Result<Vec<u8>, WebauthnCError> {
        match self {
            KeyToken::Attached(t) => t.transmit_raw(cbor, ui).await,
            #[cfg(feature = "practice")]
            KeyToken::Practice(t) => t.transmit_raw(cbor, ui).await,
        }
    }

    async fn cancel(&mut self) -> Result<(), WebauthnCError> {
        match self {
            KeyToken::Attached(t) => t.cancel().await,
            #[cfg(feature = "practice")]
            KeyToken::Practice(t) => t.cancel().await,
        }
    }

    async fn init(&mut self) -> Result<(), WebauthnCError> {
        match self {
            KeyToken::Attached(t) => t.init().await,
            #[cfg(feature = "practice")]
            KeyToken::Practice(t) => t.init().await,
        }
    }

    async fn close(&mut self) -> Result<(), WebauthnCError> {
        match self {
            KeyToken::Attached(t) => t.close().await,
            #[cfg(feature = "practice")]
            KeyToken::Practice(t) => t.close().await,
        }
    }
}
