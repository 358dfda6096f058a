//! Diagnostics: the app's recent log lines, kept in memory for the Diagnostics view, with
//! anything that looks like a secret redacted before it is stored.
//!
//! The core never logs tokens, codes or PINs (see `passkeys_core::secret`); the redaction here
//! is a second line of defence for what a person may copy into a bug report.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// How many lines are kept.
const MAX_LINES: usize = 500;

/// Field and query names whose values are never shown.
const SECRET_NAMES: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "code_verifier",
    "client_secret",
    "password",
    "pin",
    "secret",
    "state",
    "nonce",
];

/// The in-memory log (cheap to clone; all clones share the lines).
#[derive(Debug, Clone, Default)]
pub struct LogBuffer {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl LogBuffer {
    /// The lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn push(&self, line: String) {
        if let Ok(mut lines) = self.lines.lock() {
            if lines.len() == MAX_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }
}

/// Replaces the value after `name=` (in `key=value` text and URL queries) and after `Bearer `
/// with `<redacted>`.
pub fn redact(text: &str) -> String {
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

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for LogBuffer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let now = time::OffsetDateTime::now_utc();
        let mut line = Line(format!(
            "{:02}:{:02}:{:02}Z {:5} {}:",
            now.hour(),
            now.minute(),
            now.second(),
            meta.level(),
            meta.target()
        ));
        event.record(&mut line);
        self.push(redact(&line.0));
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact("GET /callback?code=abc123&state=xyz HTTP"),
            "GET /callback?code=<redacted>&state=<redacted> HTTP"
        );
        assert_eq!(
            redact("Authorization: Bearer eyJhbGciOi.x.y done"),
            "Authorization: Bearer <redacted> done"
        );
        assert_eq!(
            redact("refresh_token=\"rt-1\", pin=1234"),
            "refresh_token=<redacted>, pin=<redacted>"
        );
        // Not a secret name: kept.
        assert_eq!(redact("statement=1 encode=2"), "statement=1 encode=2");
        assert_eq!(redact("no secrets here"), "no secrets here");
    }
}
