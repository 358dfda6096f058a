//! The one error type that crosses the IPC boundary.
//!
//! `code` is stable and machine-readable, one of [`ErrorCode`]: for core errors it is exactly
//! [`passkeys_core::Error::code`]; the few errors the shell itself raises use the codes
//! documented as raised by the shells. The UI switches on `code` and shows its own
//! wording from `ui/strings.js`, with `message` (the core's sentence) as the detail.

use passkeys_core::ErrorCode;
use serde::Serialize;

/// A serializable error: `{"code", "message", "credentialId"?, "causeCode"?, "attemptsLeft"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct IpcError {
    /// Stable machine code (e.g. `credential_rejected`, `not_signed_in`).
    #[cfg_attr(test, ts(type = "ErrorCode"))]
    pub code: ErrorCode,
    /// What happened and what to do, for people.
    pub message: String,
    /// For `not_registered`: the credential that was created but not registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub credential_id: Option<String>,
    /// For `not_registered`: the code of the error that stopped the registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional, type = "ErrorCode"))]
    pub cause_code: Option<ErrorCode>,
    /// For `pin_invalid`: PIN attempts left before the key blocks its PIN, when the key says.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub attempts_left: Option<u32>,
}

impl IpcError {
    /// An error raised by the shell itself (not by the core).
    pub fn app(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            credential_id: None,
            cause_code: None,
            attempts_left: None,
        }
    }
}

impl From<passkeys_core::Error> for IpcError {
    fn from(e: passkeys_core::Error) -> Self {
        let (credential_id, cause_code) = match &e {
            passkeys_core::Error::NotRegistered {
                credential_id,
                source,
                ..
            } => (Some(credential_id.clone()), Some(source.code())),
            _ => (None, None),
        };
        let attempts_left = match &e {
            passkeys_core::Error::Authenticator(
                passkeys_core::authenticator::AuthenticatorError::PinInvalid { attempts_left },
            ) => *attempts_left,
            _ => None,
        };
        Self {
            code: e.code(),
            message: e.to_string(),
            credential_id,
            cause_code,
            attempts_left,
        }
    }
}

impl From<passkeys_core::authenticator::AuthenticatorError> for IpcError {
    fn from(e: passkeys_core::authenticator::AuthenticatorError) -> Self {
        passkeys_core::Error::from(e).into()
    }
}

impl std::fmt::Display for IpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for IpcError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of the top-level `errors: { … }` object in `ui/strings.js` (the shallowest
    /// `errors` member, whatever the file's module syntax): `code:` or `'code':` at its first
    /// nesting level. Braces inside quoted strings are skipped.
    fn error_keys(js: &str) -> Vec<String> {
        let bytes = js.as_bytes();
        // Brace depth at each byte, outside strings and comments.
        let mut depth = vec![0usize; bytes.len() + 1];
        let (mut d, mut quote, mut i) = (0usize, None::<u8>, 0);
        while i < bytes.len() {
            let c = bytes[i];
            match quote {
                Some(_) if c == b'\\' => {
                    depth[i] = d;
                    depth[i + 1] = d;
                    i += 2;
                    continue;
                }
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == b'/' && bytes.get(i + 1) == Some(&b'/') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        depth[i] = d;
                        i += 1;
                    }
                    continue;
                }
                None if c == b'\'' || c == b'"' || c == b'`' => quote = Some(c),
                None if c == b'{' => d += 1,
                None if c == b'}' => d = d.saturating_sub(1),
                None => {}
            }
            depth[i] = d;
            i += 1;
        }
        // The shallowest `errors:` member.
        let mut best: Option<(usize, usize)> = None; // (depth, index of the `{`)
        for (at, _) in js.match_indices("errors") {
            let before = js[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let rest = js[at + "errors".len()..].trim_start_matches(['\'', '"']);
            let Some(rest) = rest.trim_start().strip_prefix(':') else {
                continue;
            };
            let Some(open) = rest.find('{') else { continue };
            if !rest[..open].trim().is_empty() {
                continue;
            }
            let brace = js.len() - rest.len() + open;
            if best.is_none_or(|(bd, _)| depth[at] < bd) {
                best = Some((depth[at], brace));
            }
        }
        let Some((_, brace)) = best else {
            return Vec::new();
        };
        let inner = depth[brace];
        let mut keys = Vec::new();
        let mut line_start = brace + 1;
        for line in js[brace + 1..].split_inclusive('\n') {
            let at = line_start;
            line_start += line.len();
            let first = at + (line.len() - line.trim_start().len());
            if first >= js.len() || depth[first] < inner {
                break;
            }
            if depth[first] != inner {
                continue;
            }
            let t = line.trim_start().trim_start_matches(['\'', '"']);
            let key: String = t
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let after = t[key.len()..].trim_start_matches(['\'', '"']).trim_start();
            if !key.is_empty() && after.starts_with(':') {
                keys.push(key);
            }
        }
        keys
    }

    #[test]
    fn every_error_code_has_a_text_in_the_ui() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/strings.js");
        let js = std::fs::read_to_string(path).expect("ui/strings.js");
        let keys = error_keys(&js);
        assert!(
            keys.iter().any(|k| k == "generic"),
            "no errors object found: {keys:?}"
        );
        let missing: Vec<&str> = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str())
            .filter(|c| !keys.iter().any(|k| k == c))
            .collect();
        assert!(
            missing.is_empty(),
            "these error codes have no text in ui/strings.js `errors` and would reach people as \"Something went wrong\": {missing:?}"
        );
    }

    #[test]
    fn error_keys_reads_the_top_level_errors_object() {
        let js = "export const STRINGS = {\n  keys: {\n    errors: {\n      nested: 'x',\n    },\n  },\n  'errors': {\n    generic: 'a { b',\n    'quoted_key': \"c\", // d: e\n    sub: {\n      inner: 'f',\n    },\n  },\n};\n";
        assert_eq!(error_keys(js), ["generic", "quoted_key", "sub"]);
    }
}
