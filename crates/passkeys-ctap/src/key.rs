//! [`SecurityKey`]: a [`Device`] as the enrollment flow's [`Authenticator`].

use async_trait::async_trait;
use passkeys_core::authenticator::{
    Authenticator, AuthenticatorError, AuthenticatorInfo, AuthenticatorKind, GetAssertionRequest,
    GetAssertionResponse, MakeCredentialRequest, MakeCredentialResponse,
};
use webauthn_authenticator_rs::transport::Token;
use webauthn_rs_proto::AuthenticatorTransport;

use crate::device::Device;
use crate::plan::Discoverable;

/// A security key (USB, NFC or the virtual key) for `enroll::add_passkey`.
#[derive(Debug)]
pub struct SecurityKey<T: Token> {
    device: Device<T>,
    discoverable: Discoverable,
    only_algorithms: Option<Vec<i64>>,
}

impl<T: Token> SecurityKey<T> {
    /// Wraps an opened device; `discoverable` chooses whether passkeys are stored on the key.
    pub fn new(device: Device<T>, discoverable: Discoverable) -> Self {
        Self {
            device,
            discoverable,
            only_algorithms: None,
        }
    }

    /// Restricts the server's algorithms to `algorithms` (its order kept). For policies that
    /// demand e.g. ES256 only, and for keys that pick EdDSA whatever the server's order
    /// (Trussed-based firmware does) when the relying party cannot verify EdDSA.
    pub fn only_algorithms(mut self, algorithms: Vec<i64>) -> Self {
        self.only_algorithms = Some(algorithms);
        self
    }

    /// The device (PIN management, slots).
    pub fn device_mut(&mut self) -> &mut Device<T> {
        &mut self.device
    }

    /// The device.
    pub fn device(&self) -> &Device<T> {
        &self.device
    }
}

/// Describes a device for the UI: model from the AAGUID list, transport.
pub fn describe<T: Token>(device: &Device<T>) -> AuthenticatorInfo {
    let aaguid = device.info().aaguid_string();
    let kind = match device.transport() {
        AuthenticatorTransport::Nfc => AuthenticatorKind::Nfc,
        _ => AuthenticatorKind::Usb,
    };
    let notice = (aaguid == crate::aaguid::PRACTICE_AAGUID)
        .then(|| crate::aaguid::PRACTICE_NOTICE.to_string());
    let model = crate::aaguid::model_name(&aaguid)
        .map(str::to_string)
        .unwrap_or_else(|| match kind {
            AuthenticatorKind::Nfc => "NFC security key".to_string(),
            _ => "Security key".to_string(),
        });
    AuthenticatorInfo {
        kind,
        model,
        aaguid: Some(aaguid),
        hardware: true,
        notice,
    }
}

#[async_trait]
impl<T: Token> Authenticator for SecurityKey<T> {
    fn info(&self) -> AuthenticatorInfo {
        describe(&self.device)
    }

    async fn make_credential(
        &mut self,
        request: &MakeCredentialRequest,
    ) -> Result<MakeCredentialResponse, AuthenticatorError> {
        match &self.only_algorithms {
            None => {
                self.device
                    .make_credential(request, self.discoverable)
                    .await
            }
            Some(only) => {
                let mut request = request.clone();
                request.algorithms.retain(|a| only.contains(a));
                if request.algorithms.is_empty() {
                    return Err(AuthenticatorError::NotSupported(format!(
                        "the server accepts none of the algorithms allowed here ({only:?})"
                    )));
                }
                self.device
                    .make_credential(&request, self.discoverable)
                    .await
            }
        }
    }

    async fn get_assertion(
        &mut self,
        request: &GetAssertionRequest,
    ) -> Result<GetAssertionResponse, AuthenticatorError> {
        self.device.get_assertion(request).await
    }

    async fn force_pin_change(&mut self) -> Result<(), AuthenticatorError> {
        self.device.set_min_pin_length(None, true).await.map(|_| ())
    }
}
