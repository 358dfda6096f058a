//! CTAP2 CBOR with `ciborium`: canonical maps for requests (CTAP 2.1 §8 "CTAP2 canonical CBOR
//! encoding form"), tolerant lookups for replies.

use ciborium::Value;

/// Encodes a request: the command byte followed by the canonical CBOR of `params` (if any).
pub fn request(cmd: u8, params: Option<Value>) -> Vec<u8> {
    let mut out = vec![cmd];
    if let Some(params) = params {
        // Writing a `Value` into a `Vec` cannot fail.
        let _ = ciborium::into_writer(&canonical(params), &mut out);
    }
    out
}

/// Encodes a value on its own (canonical form).
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = ciborium::into_writer(&canonical(value.clone()), &mut out);
    out
}

/// Sorts every map's keys the CTAP2 canonical way: shorter encoded key first, then bytewise.
pub fn canonical(value: Value) -> Value {
    match value {
        Value::Map(entries) => {
            let mut entries: Vec<(Vec<u8>, Value, Value)> = entries
                .into_iter()
                .map(|(k, v)| {
                    let mut key = Vec::new();
                    let _ = ciborium::into_writer(&k, &mut key);
                    (key, k, canonical(v))
                })
                .collect();
            entries.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)));
            Value::Map(entries.into_iter().map(|(_, k, v)| (k, v)).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Decodes a reply body (the bytes after the status byte).
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    if bytes.is_empty() {
        return Ok(Value::Map(Vec::new()));
    }
    let mut reader = bytes;
    let value: Value =
        ciborium::from_reader(&mut reader).map_err(|e| format!("not valid CBOR ({e})"))?;
    if !reader.is_empty() {
        return Err(format!("{} bytes after the CBOR reply", reader.len()));
    }
    Ok(value)
}

/// An integer key.
pub fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

/// A text value.
pub fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// A byte string value.
pub fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}

/// Looks up an integer key in a map value.
pub fn get(map: &Value, key: i64) -> Option<&Value> {
    map.as_map()?.iter().find_map(|(k, v)| match k {
        Value::Integer(i) if i128::from(*i) == i128::from(key) => Some(v),
        _ => None,
    })
}

/// Looks up a text key in a map value.
pub fn get_text<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?.iter().find_map(|(k, v)| match k {
        Value::Text(t) if t == key => Some(v),
        _ => None,
    })
}

/// An unsigned integer value.
pub fn as_u64(v: &Value) -> Option<u64> {
    v.as_integer().and_then(|i| u64::try_from(i).ok())
}

/// A signed integer value.
pub fn as_i64(v: &Value) -> Option<i64> {
    v.as_integer().and_then(|i| i64::try_from(i).ok())
}

/// A list of PublicKeyCredentialDescriptors (`{"id": …, "type": "public-key"}`, CTAP 2.1
/// §6.1 excludeList, §6.2 allowList).
pub(crate) fn descriptors(ids: &[Vec<u8>]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| {
                Value::Map(vec![
                    (text("id"), bytes(id)),
                    (text("type"), text("public-key")),
                ])
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_are_canonical() {
        let v = Value::Map(vec![
            (text("type"), text("public-key")),
            (text("alg"), int(-7)),
        ]);
        let Value::Map(entries) = canonical(v) else {
            unreachable!()
        };
        assert_eq!(entries[0].0, text("alg"));
        let v = Value::Map(vec![(int(9), int(2)), (int(1), int(1)), (int(-1), int(0))]);
        let Value::Map(entries) = canonical(v) else {
            unreachable!()
        };
        let keys: Vec<_> = entries.into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![int(1), int(9), int(-1)]);
    }

    #[test]
    fn decode_rejects_garbage_and_trailing_bytes() {
        assert!(decode(&[0xa1, 0x01]).is_err());
        assert!(decode(&[0xa0, 0x00]).is_err());
        assert!(decode(&[0xff, 0xff, 0xff]).is_err());
        assert!(decode(&[0xa0]).is_ok());
    }
}
