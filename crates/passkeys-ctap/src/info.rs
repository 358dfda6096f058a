//! `authenticatorGetInfo` (CTAP 2.1 §6.4), parsed tolerantly: unknown members are ignored and a
//! member of the wrong type counts as absent.

use std::collections::BTreeMap;

use ciborium::Value;
use serde::Serialize;

use crate::cbor;

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
        Ok(Self {
            versions: strings(0x01),
            extensions: strings(0x02),
            aaguid,
            options,
            max_msg_size: number(0x05),
            pin_protocols: cbor::get(v, 0x06)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(cbor::as_u64).collect())
                .unwrap_or_default(),
            max_credential_count_in_list: number(0x07),
            max_credential_id_length: number(0x08),
            transports: strings(0x09),
            algorithms,
            force_pin_change: cbor::get(v, 0x0C).and_then(Value::as_bool).unwrap_or(false),
            min_pin_length: number(0x0D),
            firmware_version: number(0x0E),
            remaining_discoverable_credentials: number(0x14),
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

    /// The minimum PIN length in code points (4 when the key does not say).
    pub fn min_pin_len(&self) -> usize {
        self.min_pin_length
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(passkeys_core::prompt::DEFAULT_MIN_PIN_LENGTH)
            .max(passkeys_core::prompt::DEFAULT_MIN_PIN_LENGTH)
    }

    /// maxMsgSize, with CTAP's default of 1024 bytes when absent.
    pub fn msg_size(&self) -> usize {
        self.max_msg_size
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
}
