//! `authenticatorGetInfo` (CTAP 2.1 §6.4), parsed tolerantly: unknown members are ignored and a
//! member of the wrong type counts as absent.

use std::collections::BTreeMap;

use ciborium::Value;
use serde::Serialize;

use crate::cbor;

/// The longest PIN CTAP 2.1 allows, in UTF-8 bytes (§6.5.5.7): no minPINLength above it makes
/// sense.
pub const MAX_PIN_BYTES: u64 = 63;
/// The largest message a key can take: ISO 7816-4 extended APDUs carry at most 65535 bytes
/// (CTAPHID's own limit is 7609); CTAP's default and floor is 1024.
pub const MSG_SIZE_RANGE: (u64, u64) = (1024, 65535);
/// WebAuthn caps credential ids at 1023 bytes.
pub const MAX_CREDENTIAL_ID_LENGTH: u64 = 1023;
/// More credential ids in one list than any key takes (real keys say 8 to 64).
pub const MAX_CREDENTIAL_COUNT_IN_LIST: u64 = 1024;
/// More discoverable credentials than any key stores (real keys: 25 to a few thousand).
pub const MAX_STORED_CREDENTIALS: u64 = 65535;

/// What a key says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    /// 0x01 versions (`FIDO_2_0`, `FIDO_2_1`, `U2F_V2`, …).
    pub versions: Vec<String>,
    /// 0x02 extensions.
    pub extensions: Vec<String>,
    /// 0x03 AAGUID.
    #[serde(skip)]
    pub aaguid: [u8; 16],
    /// 0x04 options.
    pub options: BTreeMap<String, bool>,
    /// 0x05 maxMsgSize.
    pub max_msg_size: Option<u64>,
    /// 0x06 pinUvAuthProtocols, in the key's order of preference.
    pub pin_protocols: Vec<u64>,
    /// 0x07 maxCredentialCountInList.
    pub max_credential_count_in_list: Option<u64>,
    /// 0x08 maxCredentialIdLength.
    pub max_credential_id_length: Option<u64>,
    /// 0x09 transports.
    pub transports: Vec<String>,
    /// 0x0A algorithms (type, alg); `None` when the key does not say (CTAP 2.0).
    pub algorithms: Option<Vec<(String, i64)>>,
    /// 0x0C forcePINChange.
    pub force_pin_change: bool,
    /// 0x0D minPINLength.
    pub min_pin_length: Option<u64>,
    /// 0x0E firmwareVersion.
    pub firmware_version: Option<u64>,
    /// 0x14 remainingDiscoverableCredentials.
    pub remaining_discoverable_credentials: Option<u64>,
}

impl DeviceInfo {
    /// Parses a getInfo reply body.
    ///
    /// # Errors
    /// When the reply is not a CBOR map.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        Self::from_value(&cbor::decode(body)?)
    }

    /// Reads a decoded getInfo reply.
    ///
    /// # Errors
    /// When the reply is not a CBOR map.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        if v.as_map().is_none() {
            return Err("the getInfo reply is not a map".into());
        }
        let strings = |key: i64| -> Vec<String> {
            cbor::get(v, key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_text().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let number = |key: i64| cbor::get(v, key).and_then(cbor::as_u64);
        let mut aaguid = [0u8; 16];
        if let Some(b) = cbor::get(v, 0x03).and_then(Value::as_bytes) {
            if b.len() == 16 {
                aaguid.copy_from_slice(b);
            }
        }
        let options = cbor::get(v, 0x04)
            .and_then(Value::as_map)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_text()?.to_string(), v.as_bool()?)))
                    .collect()
            })
            .unwrap_or_default();
        let algorithms = cbor::get(v, 0x0A).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|p| {
                    Some((
                        cbor::get_text(p, "type")?.as_text()?.to_string(),
                        cbor::as_i64(cbor::get_text(p, "alg")?)?,
                    ))
                })
                .collect()
        });
        // Device-supplied sizes are clamped to CTAP 2.1's limits, so nothing downstream sizes a
        // buffer or a loop by a key's word; a minPINLength no PIN can meet is refused outright.
        let min_pin_length = number(0x0D);
        if let Some(n) = min_pin_length.filter(|n| *n > MAX_PIN_BYTES) {
            return Err(format!(
                "the key says its PINs need at least {n} characters, but a CTAP PIN has at most {MAX_PIN_BYTES} bytes; this key's firmware is faulty or not a real security key"
            ));
        }
        let positive_at_most =
            |key: i64, max: u64| number(key).filter(|n| *n > 0).map(|n| n.min(max));
        Ok(Self {
            versions: strings(0x01),
            extensions: strings(0x02),
            aaguid,
            options,
            max_msg_size: number(0x05).map(|n| n.clamp(MSG_SIZE_RANGE.0, MSG_SIZE_RANGE.1)),
            pin_protocols: cbor::get(v, 0x06)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(cbor::as_u64).collect())
                .unwrap_or_default(),
            max_credential_count_in_list: positive_at_most(0x07, MAX_CREDENTIAL_COUNT_IN_LIST),
            max_credential_id_length: positive_at_most(0x08, MAX_CREDENTIAL_ID_LENGTH),
            transports: strings(0x09),
            algorithms,
            force_pin_change: cbor::get(v, 0x0C).and_then(Value::as_bool).unwrap_or(false),
            min_pin_length,
            firmware_version: number(0x0E),
            remaining_discoverable_credentials: number(0x14).map(|n| n.min(MAX_STORED_CREDENTIALS)),
        })
    }

    /// An option's value; `None` when the key does not list it.
    pub fn option(&self, name: &str) -> Option<bool> {
        self.options.get(name).copied()
    }

    /// Speaks CTAP 2.1 (or a later 2.x).
    pub fn is_ctap21(&self) -> bool {
        self.versions
            .iter()
            .any(|v| v == "FIDO_2_1" || v == "FIDO_2_2" || v == "FIDO_2_3")
    }

    /// `clientPin`: `Some(true)` a PIN is set, `Some(false)` supported but not set.
    pub fn client_pin(&self) -> Option<bool> {
        self.option("clientPin")
    }

    /// Built-in user verification (fingerprint) is configured.
    pub fn builtin_uv_ready(&self) -> bool {
        self.option("uv") == Some(true)
    }

    /// Supports pinUvAuthToken (getPinUvAuthTokenUsing…WithPermissions).
    pub fn pin_uv_auth_token(&self) -> bool {
        self.option("pinUvAuthToken") == Some(true)
    }

    /// Can store discoverable credentials.
    pub fn rk(&self) -> bool {
        self.option("rk") == Some(true)
    }

    /// Supports credential management (CTAP 2.1 `credMgmt`, or the 2.1-PRE preview).
    pub fn cred_mgmt(&self) -> bool {
        self.option("credMgmt") == Some(true) || self.option("credentialMgmtPreview") == Some(true)
    }

    /// The minimum PIN length in code points (4 when the key does not say; never above 63).
    pub fn min_pin_len(&self) -> usize {
        self.min_pin_length
            .map(|n| n.min(MAX_PIN_BYTES))
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(passkeys_core::prompt::DEFAULT_MIN_PIN_LENGTH)
            .max(passkeys_core::prompt::DEFAULT_MIN_PIN_LENGTH)
    }

    /// maxMsgSize, with CTAP's default of 1024 bytes when absent (never above 65535).
    pub fn msg_size(&self) -> usize {
        self.max_msg_size
            .map(|n| n.clamp(MSG_SIZE_RANGE.0, MSG_SIZE_RANGE.1))
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(1024)
    }

    /// The AAGUID as a UUID string.
    pub fn aaguid_string(&self) -> String {
        passkeys_core::webauthn::aaguid_string(&self.aaguid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_members_and_ignores_odd_ones() {
        let body = cbor::encode(&Value::Map(vec![
            (cbor::int(1), Value::Array(vec![cbor::text("FIDO_2_1")])),
            (cbor::int(3), cbor::bytes(&[7; 16])),
            (
                cbor::int(4),
                Value::Map(vec![
                    (cbor::text("rk"), Value::Bool(true)),
                    (cbor::text("clientPin"), Value::Bool(false)),
                    (cbor::text("odd"), cbor::int(3)),
                ]),
            ),
            (cbor::int(5), cbor::text("not a number")),
            (cbor::int(6), Value::Array(vec![cbor::int(2), cbor::int(1)])),
            (cbor::int(0x0D), cbor::int(6)),
            (cbor::int(0x77), cbor::text("future member")),
        ]));
        let info = DeviceInfo::parse(&body).unwrap();
        assert!(info.is_ctap21());
        assert_eq!(info.aaguid, [7; 16]);
        assert_eq!(info.client_pin(), Some(false));
        assert!(info.rk());
        assert_eq!(info.max_msg_size, None);
        assert_eq!(info.msg_size(), 1024);
        assert_eq!(info.pin_protocols, vec![2, 1]);
        assert_eq!(info.min_pin_len(), 6);
        assert_eq!(info.algorithms, None);
        assert!(DeviceInfo::parse(&cbor::encode(&cbor::int(3))).is_err());
    }

    fn info_with(members: Vec<(i64, Value)>) -> Result<DeviceInfo, String> {
        let mut all = vec![(cbor::int(1), Value::Array(vec![cbor::text("FIDO_2_1")]))];
        all.extend(members.into_iter().map(|(k, v)| (cbor::int(k), v)));
        DeviceInfo::parse(&cbor::encode(&Value::Map(all)))
    }

    /// Issue 12 item 10: a key's sizes are clamped to CTAP 2.1's limits; a minPINLength no PIN
    /// can meet is refused with a sentence that says so.
    #[test]
    fn huge_min_pin_length_is_refused_and_device_sizes_are_clamped() {
        let e = info_with(vec![(0x0D, cbor::int(i64::from(u32::MAX)))]).unwrap_err();
        assert!(e.contains("at most 63 bytes"), "{e}");
        assert!(info_with(vec![(0x0D, cbor::int(64))]).is_err());
        assert_eq!(
            info_with(vec![(0x0D, cbor::int(63))])
                .unwrap()
                .min_pin_len(),
            63
        );
        let huge = cbor::int(i64::MAX);
        let info = info_with(vec![
            (0x05, huge.clone()),
            (0x07, huge.clone()),
            (0x08, huge.clone()),
            (0x14, huge),
        ])
        .unwrap();
        assert_eq!(info.msg_size(), 65535);
        assert_eq!(info.max_credential_count_in_list, Some(1024));
        assert_eq!(info.max_credential_id_length, Some(1023));
        assert_eq!(info.remaining_discoverable_credentials, Some(65535));
        let zero = info_with(vec![
            (0x05, cbor::int(0)),
            (0x07, cbor::int(0)),
            (0x08, cbor::int(0)),
        ])
        .unwrap();
        assert_eq!(zero.msg_size(), 1024);
        assert_eq!(zero.max_credential_count_in_list, None);
        assert_eq!(zero.max_credential_id_length, None);
        // Even a DeviceInfo built by hand never yields a PIN length above 63.
        let forged = DeviceInfo {
            min_pin_length: Some(u64::MAX),
            ..DeviceInfo::default()
        };
        assert_eq!(forged.min_pin_len(), 63);
    }
}
