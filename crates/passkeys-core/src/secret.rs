//! Secrets (access/refresh tokens, ID tokens, authorization codes, PINs) as their own type.
//!
//! A [`Secret`] never shows its value in `Debug` or `Display` output, is zeroized when dropped,
//! and does not implement `Serialize`: the only way to read it is [`Secret::expose`], which makes
//! every use easy to find in review.

use zeroize::Zeroizing;

/// A secret string: redacted in `Debug`/`Display`, zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret value. Do not log, display or put it in an error message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

/// Field and query names whose values are never shown.
const SECRET_NAMES: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "id_token_hint",
    "code",
    "code_verifier",
    "client_secret",
    "password",
    "pin",
    "secret",
    "state",
    "nonce",
];

/// Replaces the value after `name=` (in `key=value` text and URL queries) for the names of
/// secrets (tokens, codes, PINs, passwords, `state`, `nonce`) and after `Bearer ` with
/// `<redacted>`: a second line of defence for log lines a person may copy into a bug report
/// (the app's Diagnostics, the CLI's `-v` output). Secrets are never logged on purpose.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("Bearer ") {
            out.push_str("Bearer <redacted>");
            rest = after.trim_start_matches(|c: char| !c.is_whitespace() && c != '"');
            continue;
        }
        let at_word_start = out
            .chars()
            .last()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_');
        if at_word_start {
            for name in SECRET_NAMES {
                let Some(after_name) = rest.strip_prefix(name) else {
                    continue;
                };
                let Some(value) = after_name.strip_prefix('=') else {
                    continue;
                };
                out.push_str(name);
                out.push_str("=<redacted>");
                rest = match value.strip_prefix('"') {
                    // A quoted value (Debug output): up to and including the closing quote.
                    Some(quoted) => quoted.find('"').map_or("", |end| &quoted[end + 1..]),
                    None => value.trim_start_matches(|c: char| {
                        !c.is_whitespace() && !matches!(c, '&' | ',' | ')' | '}')
                    }),
                };
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("hunter2-access-token");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2-access-token");
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact_text("GET /callback?code=abc123&state=xyz HTTP"),
            "GET /callback?code=<redacted>&state=<redacted> HTTP"
        );
        assert_eq!(
            redact_text("Authorization: Bearer eyJhbGciOi.x.y done"),
            "Authorization: Bearer <redacted> done"
        );
        assert_eq!(
            redact_text("refresh_token=\"rt-1\", pin=1234"),
            "refresh_token=<redacted>, pin=<redacted>"
        );
        assert_eq!(
            redact_text("end_session?id_token_hint=eyJ.a.b&client_id=c"),
            "end_session?id_token_hint=<redacted>&client_id=c"
        );
        // Not a secret name: kept.
        assert_eq!(redact_text("statement=1 encode=2"), "statement=1 encode=2");
        assert_eq!(redact_text("no secrets here"), "no secrets here");
    }
}
