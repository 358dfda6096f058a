//! Base64 helpers for the encodings that meet in this protocol.
//!
//! - Protobuf `bytes` in proto-JSON: standard alphabet with padding on output; standard or
//!   URL-safe, padded or not, on input (ZITADEL contract §1.1).
//! - WebAuthn binary members (`challenge`, `user.id`, credential ids, `clientDataJSON`,
//!   `attestationObject`): base64url without padding (WebAuthn L3 §5.1, go-webauthn
//!   `URLEncodedBase64`).
//!
//! Decoding is lenient (either alphabet, padding optional) but never guesses between alphabets
//! when both appear in one value.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, Engine, GeneralPurpose, GeneralPurposeConfig};

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Why a base64 value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base64Error {
    /// The value mixes the standard (`+`, `/`) and URL-safe (`-`, `_`) alphabets.
    #[error("it mixes the standard and URL-safe base64 alphabets")]
    MixedAlphabets,
    /// Not base64 at all.
    #[error("it is not valid base64 ({0})")]
    Invalid(String),
}

/// Decodes standard or URL-safe base64, padded or unpadded.
pub fn decode_lenient(value: &str) -> Result<Vec<u8>, Base64Error> {
    let trimmed = value.trim();
    let std_chars = trimmed.contains(['+', '/']);
    let url_chars = trimmed.contains(['-', '_']);
    let engine = match (std_chars, url_chars) {
        (true, true) => return Err(Base64Error::MixedAlphabets),
        (false, true) => &URL_LENIENT,
        _ => &STD_LENIENT,
    };
    engine
        .decode(trimmed)
        .map_err(|e| Base64Error::Invalid(e.to_string()))
}

/// Encodes base64url without padding (WebAuthn's encoding for binary members).
pub fn url_nopad(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Encodes standard base64 with padding (proto-JSON `bytes`).
pub fn std_padded(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_alphabet_and_padding() {
        let bytes = [0xfbu8, 0xff, 0xfe, 0x01];
        for s in ["+//+AQ==", "+//+AQ", "-__-AQ==", "-__-AQ"] {
            assert_eq!(decode_lenient(s).unwrap(), bytes, "{s}");
        }
    }

    #[test]
    fn refuses_mixed_alphabets_and_garbage() {
        assert_eq!(decode_lenient("+_"), Err(Base64Error::MixedAlphabets));
        assert!(matches!(
            decode_lenient("a!b"),
            Err(Base64Error::Invalid(_))
        ));
    }

    #[test]
    fn encoders_use_the_right_alphabet() {
        assert_eq!(url_nopad(&[0xfb, 0xff]), "-_8");
        assert_eq!(std_padded(&[0xfb, 0xff]), "+/8=");
    }
}
