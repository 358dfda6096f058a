//! The platform side of the PIN/UV auth protocols (CTAP 2.1 §6.5.6 protocol one, §6.5.7 protocol
//! two): ECDH key agreement on P-256, the shared secret, encrypt/decrypt and authenticate.
//! Primitives come from RustCrypto (p256, hkdf, aes + cbc, hmac, sha2).

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use ciborium::Value;
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::{EncodedPoint, PublicKey};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::cbor;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// A PIN/UV auth protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Protocol one (CTAP 2.0 keys).
    One = 1,
    /// Protocol two (CTAP 2.1).
    Two = 2,
}

impl Protocol {
    /// The protocol to use with a key: two when it offers it, else one.
    pub fn choose(offered: &[u64]) -> Option<Protocol> {
        if offered.contains(&2) {
            Some(Protocol::Two)
        } else if offered.contains(&1) || offered.is_empty() {
            // CTAP 2.0 keys that support clientPin without listing protocols use protocol one.
            Some(Protocol::One)
        } else {
            None
        }
    }

    /// The number sent on the wire.
    pub fn number(self) -> i64 {
        self as i64
    }

    /// `authenticate(key, message)`: HMAC-SHA-256, truncated to 16 bytes for protocol one.
    pub fn authenticate(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        let key = match self {
            Protocol::One => key,
            // Protocol two uses the first 32 bytes (the HMAC key) of a shared secret, and the
            // whole of a 32-byte pinUvAuthToken.
            Protocol::Two => &key[..key.len().min(32)],
        };
        let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
            Ok(m) => m,
            Err(_) => return Vec::new(), // HMAC takes keys of any length.
        };
        mac.update(message);
        let tag = mac.finalize().into_bytes().to_vec();
        match self {
            Protocol::One => tag[..16].to_vec(),
            Protocol::Two => tag,
        }
    }
}

/// The secret shared with the key after a key agreement.
pub struct SharedSecret {
    protocol: Protocol,
    /// Protocol one: SHA-256(Z). Protocol two: HMAC key ‖ AES key (64 bytes).
    secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSecret")
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// Our half of a key agreement: the COSE key to send and the shared secret.
#[derive(Debug)]
pub struct Agreement {
    /// `keyAgreement` for the request (COSE_Key, kty EC2, alg -25 ECDH-ES+HKDF-256, crv P-256).
    pub platform_key: Value,
    /// The shared secret.
    pub shared: SharedSecret,
}

/// Completes a key agreement with the key's `keyAgreement` (from clientPIN getKeyAgreement).
///
/// # Errors
/// When the key's public key is not a valid P-256 point.
pub fn agree(protocol: Protocol, peer: &Value) -> Result<Agreement, String> {
    let coord = |label: i64| -> Result<[u8; 32], String> {
        let b = cbor::get(peer, label)
            .and_then(Value::as_bytes)
            .ok_or("the key agreement key lacks a coordinate")?;
        <[u8; 32]>::try_from(b.as_slice())
            .map_err(|_| "a key agreement coordinate is not 32 bytes".to_string())
    };
    let (x, y) = (coord(-2)?, coord(-3)?);
    let point = EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
    let peer_key = Option::<PublicKey>::from(PublicKey::from_encoded_point(&point))
        .ok_or("the key agreement key is not a P-256 point")?;

    let ours = p256::ecdh::EphemeralSecret::random(&mut rand::rngs::OsRng);
    let our_point = ours.public_key().to_encoded_point(false);
    let (Some(ox), Some(oy)) = (our_point.x(), our_point.y()) else {
        return Err("could not encode our key agreement key".into());
    };
    let platform_key = Value::Map(vec![
        (cbor::int(1), cbor::int(2)),   // kty: EC2
        (cbor::int(3), cbor::int(-25)), // alg: ECDH-ES + HKDF-256
        (cbor::int(-1), cbor::int(1)),  // crv: P-256
        (cbor::int(-2), cbor::bytes(ox)),
        (cbor::int(-3), cbor::bytes(oy)),
    ]);
    let z = ours.diffie_hellman(&peer_key);
    let z = z.raw_secret_bytes();
    let secret = match protocol {
        Protocol::One => Zeroizing::new(Sha256::digest(z.as_slice()).to_vec()),
        Protocol::Two => {
            let hk = hkdf::Hkdf::<Sha256>::new(Some(&[0u8; 32]), z.as_slice());
            let mut out = Zeroizing::new(vec![0u8; 64]);
            let (hmac_key, aes_key) = out.split_at_mut(32);
            hk.expand(b"CTAP2 HMAC key", hmac_key)
                .and_then(|()| hk.expand(b"CTAP2 AES key", aes_key))
                .map_err(|_| "HKDF failed".to_string())?;
            out
        }
    };
    Ok(Agreement {
        platform_key,
        shared: SharedSecret { protocol, secret },
    })
}

impl SharedSecret {
    /// The protocol this secret belongs to.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    fn aes_key(&self) -> &[u8] {
        match self.protocol {
            Protocol::One => &self.secret,
            Protocol::Two => &self.secret[32..],
        }
    }

    /// `encrypt(sharedSecret, plaintext)`; the plaintext must be a multiple of 16 bytes.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, String> {
        if !plaintext.len().is_multiple_of(16) {
            return Err("plaintext is not a whole number of AES blocks".into());
        }
        let mut iv = [0u8; 16];
        if self.protocol == Protocol::Two {
            rand::rngs::OsRng.fill_bytes(&mut iv);
        }
        let enc = Aes256CbcEnc::new_from_slices(self.aes_key(), &iv)
            .map_err(|_| "bad AES key".to_string())?;
        let ct = enc.encrypt_padded_vec_mut::<NoPadding>(plaintext);
        Ok(match self.protocol {
            Protocol::One => ct,
            Protocol::Two => [iv.as_slice(), &ct].concat(),
        })
    }

    /// `decrypt(sharedSecret, ciphertext)`.
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
        let (iv, ct) = match self.protocol {
            Protocol::One => ([0u8; 16].to_vec(), ciphertext),
            Protocol::Two => {
                if ciphertext.len() < 16 {
                    return Err("ciphertext shorter than its IV".into());
                }
                let (iv, ct) = ciphertext.split_at(16);
                (iv.to_vec(), ct)
            }
        };
        if ct.is_empty() || !ct.len().is_multiple_of(16) {
            return Err("ciphertext is not a whole number of AES blocks".into());
        }
        let dec = Aes256CbcDec::new_from_slices(self.aes_key(), &iv)
            .map_err(|_| "bad AES key".to_string())?;
        dec.decrypt_padded_vec_mut::<NoPadding>(ct)
            .map(Zeroizing::new)
            .map_err(|_| "could not decrypt".to_string())
    }

    /// `authenticate(sharedSecret, message)`.
    pub fn authenticate(&self, message: &[u8]) -> Vec<u8> {
        self.protocol.authenticate(&self.secret, message)
    }
}

/// `LEFT(SHA-256(pin), 16)`.
pub fn pin_hash(pin: &str) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(Sha256::digest(pin.as_bytes())[..16].to_vec())
}

/// The PIN padded with zeros to 64 bytes (`newPinEnc`'s plaintext).
pub fn padded_pin(pin: &str) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(vec![0u8; 64]);
    let b = pin.as_bytes();
    let n = b.len().min(64);
    out[..n].copy_from_slice(&b[..n]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both sides of a key agreement derive the same secret; encrypt/decrypt round-trips.
    #[test]
    fn agreement_round_trip() {
        for protocol in [Protocol::One, Protocol::Two] {
            // The "authenticator" side: a P-256 key whose public half we send as COSE.
            let auth = p256::ecdh::EphemeralSecret::random(&mut rand::rngs::OsRng);
            let p = auth.public_key().to_encoded_point(false);
            let peer = Value::Map(vec![
                (cbor::int(1), cbor::int(2)),
                (cbor::int(3), cbor::int(-25)),
                (cbor::int(-1), cbor::int(1)),
                (cbor::int(-2), cbor::bytes(p.x().unwrap())),
                (cbor::int(-3), cbor::bytes(p.y().unwrap())),
            ]);
            let a = agree(protocol, &peer).unwrap();
            let ct = a.shared.encrypt(&padded_pin("1234")).unwrap();
            let expected_len = if protocol == Protocol::Two { 80 } else { 64 };
            assert_eq!(ct.len(), expected_len);
            assert_eq!(&a.shared.decrypt(&ct).unwrap()[..4], b"1234");
            let tag_len = if protocol == Protocol::Two { 32 } else { 16 };
            assert_eq!(a.shared.authenticate(b"m").len(), tag_len);
            assert!(a.shared.encrypt(&[0; 15]).is_err());
            assert!(a.shared.decrypt(&[0; 5]).is_err());
        }
    }

    #[test]
    fn bad_peer_key_is_an_error() {
        let peer = Value::Map(vec![
            (cbor::int(-2), cbor::bytes(&[1; 32])),
            (cbor::int(-3), cbor::bytes(&[2; 32])),
        ]);
        assert!(agree(Protocol::Two, &peer).is_err());
        assert!(agree(Protocol::Two, &cbor::int(1)).is_err());
    }

    #[test]
    fn protocol_choice() {
        assert_eq!(Protocol::choose(&[2, 1]), Some(Protocol::Two));
        assert_eq!(Protocol::choose(&[1]), Some(Protocol::One));
        assert_eq!(Protocol::choose(&[]), Some(Protocol::One));
        assert_eq!(Protocol::choose(&[3]), None);
    }
}
