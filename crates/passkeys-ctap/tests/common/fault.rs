//! A scripted key: a `Token` whose answers a test decides, for what the virtual key cannot do
//! (PIN_AUTH_BLOCKED on the first try, PIN_BLOCKED, keepalive floods, unplugging mid-command,
//! garbage CBOR, blocked built-in UV, keys without getInfo `algorithms`, tight list limits).
//!
//! It speaks real CTAP2 CBOR, and the authenticator side of PIN/UV auth protocol 2 (ECDH,
//! HKDF, AES-CBC) so the engine's tokens decrypt, written here with p256/hkdf/aes directly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aes::cipher::{block_padding::NoPadding, BlockEncryptMut, KeyIvInit};
use async_trait::async_trait;
use ciborium::Value;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use sha2::{Digest, Sha256};
use webauthn_authenticator_rs::error::{CtapError, WebauthnCError};
use webauthn_authenticator_rs::transport::Token;
use webauthn_authenticator_rs::ui::UiCallback;
use webauthn_rs_proto::AuthenticatorTransport;

/// What the key does with one request.
pub enum Reply {
    /// Status 0 and this CBOR.
    Ok(Value),
    /// A CTAP error status.
    Status(u8),
    /// Status 0 and these bytes as the "CBOR" body.
    Raw(Vec<u8>),
    /// Keepalive "user presence needed" for ever, every 100 ms (what `USBToken` does).
    KeepAliveForever,
    /// `n` keepalives, then the reply.
    KeepAlive(u32, Box<Reply>),
    /// The device goes away.
    Disconnect,
    /// Behave like a well-behaved key.
    Standard,
}

/// One request as the key saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub cmd: u8,
    pub params: Value,
}

impl Seen {
    /// clientPIN subcommand.
    pub fn sub(&self) -> Option<i64> {
        get(&self.params, 2).and_then(as_i64)
    }
}

type Handler = Box<dyn FnMut(&Seen, &State) -> Reply + Send>;

/// The key's state, visible to handlers.
pub struct State {
    pub info: Value,
    pub pin_retries: u32,
    pub uv_retries: u32,
    secret: p256::SecretKey,
}

struct Inner {
    state: State,
    handler: Handler,
    log: Vec<Seen>,
    cancels: usize,
}

/// A scripted key. Clone for a handle that reads the log.
#[derive(Clone)]
pub struct ScriptKey(Arc<Mutex<Inner>>);

impl std::fmt::Debug for ScriptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScriptKey")
    }
}

/// getInfo of a CTAP 2.1 key with a PIN set (protocol 2), like a current YubiKey.
pub fn info_ctap21_pin() -> Value {
    map(vec![
        (1, Value::Array(vec![text("FIDO_2_0"), text("FIDO_2_1")])),
        (3, Value::Bytes(vec![0x11; 16])),
        (
            4,
            Value::Map(vec![
                (text("rk"), Value::Bool(true)),
                (text("up"), Value::Bool(true)),
                (text("clientPin"), Value::Bool(true)),
                (text("pinUvAuthToken"), Value::Bool(true)),
            ]),
        ),
        (5, int(1200)),
        (6, Value::Array(vec![int(2), int(1)])),
        (7, int(8)),
        (8, int(128)),
    ])
}

impl ScriptKey {
    /// A key with `info` whose every request goes to `handler`.
    pub fn new(info: Value, handler: impl FnMut(&Seen, &State) -> Reply + Send + 'static) -> Self {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        Self(Arc::new(Mutex::new(Inner {
            state: State {
                info,
                pin_retries: 8,
                uv_retries: 3,
                secret,
            },
            handler: Box::new(handler),
            log: Vec::new(),
            cancels: 0,
        })))
    }

    /// A well-behaved key with `info`.
    pub fn standard(info: Value) -> Self {
        Self::new(info, |_, _| Reply::Standard)
    }

    pub fn set_pin_retries(&self, n: u32) {
        self.0.lock().unwrap().state.pin_retries = n;
    }

    pub fn set_uv_retries(&self, n: u32) {
        self.0.lock().unwrap().state.uv_retries = n;
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Seen> {
        self.0.lock().unwrap().log.clone()
    }

    /// Requests with command `cmd`.
    pub fn sent(&self, cmd: u8) -> Vec<Seen> {
        self.log().into_iter().filter(|s| s.cmd == cmd).collect()
    }

    /// clientPIN requests with subcommand `sub`.
    pub fn pin_requests(&self, sub: i64) -> usize {
        self.sent(0x06)
            .iter()
            .filter(|s| s.sub() == Some(sub))
            .count()
    }

    /// How many times the transport's cancel was sent.
    pub fn cancels(&self) -> usize {
        self.0.lock().unwrap().cancels
    }

    pub fn token(&self) -> ScriptToken {
        ScriptToken(self.clone())
    }
}

/// The `Token`.
#[derive(Debug)]
pub struct ScriptToken(ScriptKey);

fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).unwrap();
    out
}

#[async_trait]
impl Token for ScriptToken {
    type Id = ();

    fn get_transport(&self) -> AuthenticatorTransport {
        AuthenticatorTransport::Usb
    }

    async fn transmit_raw<U: UiCallback>(
        &mut self,
        cbor: &[u8],
        ui: &U,
    ) -> Result<Vec<u8>, WebauthnCError> {
        let (cmd, rest) = cbor.split_first().unwrap();
        let params = if rest.is_empty() {
            Value::Null
        } else {
            ciborium::from_reader(rest).expect("the engine sent invalid CBOR")
        };
        let seen = Seen { cmd: *cmd, params };
        let reply = {
            let mut inner = self.0 .0.lock().unwrap();
            inner.log.push(seen.clone());
            let Inner { state, handler, .. } = &mut *inner;
            match handler(&seen, state) {
                Reply::Standard => standard(&seen, state),
                other => other,
            }
        };
        let mut reply = reply;
        loop {
            match reply {
                Reply::Ok(v) => return Ok(encode(&v)),
                Reply::Raw(b) => return Ok(b),
                Reply::Status(s) => return Err(WebauthnCError::Ctap(CtapError::from(s))),
                Reply::Disconnect => {
                    return Err(WebauthnCError::IoError(
                        "No such device (os error 19)".into(),
                    ))
                }
                Reply::KeepAliveForever => loop {
                    ui.request_touch();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                },
                Reply::KeepAlive(n, then) => {
                    for _ in 0..n {
                        ui.request_touch();
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    reply = *then;
                }
                Reply::Standard => {
                    let inner = self.0 .0.lock().unwrap();
                    reply = standard(&seen, &inner.state);
                }
            }
        }
    }

    async fn cancel(&mut self) -> Result<(), WebauthnCError> {
        self.0 .0.lock().unwrap().cancels += 1;
        Ok(())
    }

    async fn init(&mut self) -> Result<(), WebauthnCError> {
        Ok(())
    }

    async fn close(&mut self) -> Result<(), WebauthnCError> {
        Ok(())
    }
}

/// What a well-behaved key answers.
pub fn standard(seen: &Seen, state: &State) -> Reply {
    match seen.cmd {
        0x04 => Reply::Ok(state.info.clone()),
        0x06 => match seen.sub() {
            Some(1) => Reply::Ok(map(vec![(3, int(i64::from(state.pin_retries)))])),
            Some(7) => Reply::Ok(map(vec![(5, int(i64::from(state.uv_retries)))])),
            Some(2) => {
                let p = state.secret.public_key().to_encoded_point(false);
                Reply::Ok(map(vec![(
                    1,
                    Value::Map(vec![
                        (int(1), int(2)),
                        (int(3), int(-25)),
                        (int(-1), int(1)),
                        (int(-2), Value::Bytes(p.x().unwrap().to_vec())),
                        (int(-3), Value::Bytes(p.y().unwrap().to_vec())),
                    ]),
                )]))
            }
            Some(5 | 6 | 9) => Reply::Ok(map(vec![(2, Value::Bytes(issue_token(seen, state)))])),
            Some(3 | 4) => Reply::Ok(Value::Map(vec![])),
            _ => Reply::Status(0x3E),
        },
        0x01 => Reply::Ok(make_credential_reply(seen, state)),
        0x02 => Reply::Status(0x2E),
        0x0B => Reply::Ok(Value::Null),
        _ => Reply::Status(0x01),
    }
}

/// A 32-byte pinUvAuthToken encrypted for the platform (protocol 2).
fn issue_token(seen: &Seen, state: &State) -> Vec<u8> {
    let peer = get(&seen.params, 3).unwrap();
    let x: [u8; 32] = get(peer, -2)
        .unwrap()
        .as_bytes()
        .unwrap()
        .as_slice()
        .try_into()
        .unwrap();
    let y: [u8; 32] = get(peer, -3)
        .unwrap()
        .as_bytes()
        .unwrap()
        .as_slice()
        .try_into()
        .unwrap();
    let point = p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
    let peer = p256::PublicKey::from_encoded_point(&point).unwrap();
    let z = p256::ecdh::diffie_hellman(state.secret.to_nonzero_scalar(), peer.as_affine());
    let protocol = get(&seen.params, 1).and_then(as_i64);
    if protocol == Some(1) {
        // Protocol one: key SHA-256(Z), IV zero, no IV in the output.
        let aes_key = Sha256::digest(z.raw_secret_bytes().as_slice());
        return cbc::Encryptor::<aes::Aes256>::new_from_slices(&aes_key, &[0u8; 16])
            .unwrap()
            .encrypt_padded_vec_mut::<NoPadding>(&[0x42; 16]);
    }
    let hk = hkdf::Hkdf::<Sha256>::new(Some(&[0u8; 32]), z.raw_secret_bytes().as_slice());
    let mut aes_key = [0u8; 32];
    hk.expand(b"CTAP2 AES key", &mut aes_key).unwrap();
    let iv = [7u8; 16];
    let ct = cbc::Encryptor::<aes::Aes256>::new_from_slices(&aes_key, &iv)
        .unwrap()
        .encrypt_padded_vec_mut::<NoPadding>(&[0x42; 32]);
    [iv.as_slice(), &ct].concat()
}

/// A `none` attestation whose authData matches the request.
pub fn make_credential_reply(seen: &Seen, state: &State) -> Value {
    let rp_id = get(&seen.params, 2)
        .and_then(|rp| get_text(rp, "id"))
        .and_then(Value::as_text)
        .unwrap()
        .to_string();
    let uv = get(&seen.params, 8).is_some()
        || get(&seen.params, 7)
            .and_then(|o| get_text(o, "uv"))
            .and_then(Value::as_bool)
            == Some(true);
    let alg = get(&seen.params, 4)
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|p| get_text(p, "alg"))
        .and_then(as_i64)
        .unwrap();
    let p = state.secret.public_key().to_encoded_point(false);
    let cose = Value::Map(vec![
        (int(1), int(2)),
        (int(3), int(alg)),
        (int(-1), int(1)),
        (int(-2), Value::Bytes(p.x().unwrap().to_vec())),
        (int(-3), Value::Bytes(p.y().unwrap().to_vec())),
    ]);
    let cred_id = vec![0xC0; 48];
    let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
    auth_data.push(0x41 | if uv { 0x04 } else { 0 });
    auth_data.extend_from_slice(&1u32.to_be_bytes());
    auth_data.extend_from_slice(&[0x11; 16]);
    auth_data.extend_from_slice(&(cred_id.len() as u16).to_be_bytes());
    auth_data.extend_from_slice(&cred_id);
    auth_data.extend_from_slice(&encode(&cose));
    map(vec![
        (1, text("none")),
        (2, Value::Bytes(auth_data)),
        (3, Value::Map(vec![])),
    ])
}

pub fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}

pub fn map(entries: Vec<(i64, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (int(k), v)).collect())
}

pub fn get(v: &Value, key: i64) -> Option<&Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_integer().map(i128::from) == Some(i128::from(key)))
        .map(|(_, v)| v)
}

pub fn get_text<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

pub fn as_i64(v: &Value) -> Option<i64> {
    v.as_integer().and_then(|i| i64::try_from(i).ok())
}

/// The algorithms in a makeCredential request.
pub fn algorithms(seen: &Seen) -> Vec<i64> {
    get(&seen.params, 4)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| get_text(p, "alg").and_then(as_i64))
                .collect()
        })
        .unwrap_or_default()
}

/// The credential ids in a list parameter (exclude list 5 / allow list 3).
pub fn ids(seen: &Seen, key: i64) -> Vec<Vec<u8>> {
    get(&seen.params, key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|d| get_text(d, "id").and_then(Value::as_bytes).cloned())
                .collect()
        })
        .unwrap_or_default()
}

/// The encoded size of a request.
pub fn size(seen: &Seen) -> usize {
    1 + encode(&seen.params).len()
}
