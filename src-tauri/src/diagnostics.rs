//! Diagnostics: the app's recent log lines, kept in memory for the Diagnostics view, with
//! anything that looks like a secret redacted before it is stored.
//!
//! The core never logs tokens, codes or PINs (see `passkeys_core::secret`); the redaction here
//! is a second line of defence for what a person may copy into a bug report.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use passkeys_core::secret::redact_text;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// How many lines are kept.
const MAX_LINES: usize = 500;

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
        self.push(redact_text(&line.0));
    }
}
