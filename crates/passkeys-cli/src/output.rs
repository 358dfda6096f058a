//! Printing: human text on stdout (or notes on stderr), or JSON with `--json`.

use passkeys_core::zitadel::Passkey;
use passkeys_core::Error;
use serde::Serialize;

/// Output mode.
pub struct Out {
    json: bool,
}

impl Out {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// A result line for people (suppressed with --json).
    pub fn line(&self, text: &str) {
        if !self.json {
            println!("{text}");
        }
    }

    /// Progress and hints: always on stderr so stdout stays clean for scripts.
    pub fn note(&self, text: &str) {
        eprintln!("{text}");
    }

    /// The machine-readable result (only with --json).
    pub fn json<T: Serialize>(&self, value: &T) {
        if self.json {
            match serde_json::to_string_pretty(value) {
                Ok(s) => println!("{s}"),
                Err(e) => eprintln!("passkeys: cannot print JSON: {e}"),
            }
        }
    }

    /// An error: one line on stderr; with --json also `{"error":{code,message}}` on stdout.
    pub fn error(&self, e: &Error) {
        let message = e.to_string().replace('\n', " ");
        eprintln!("passkeys: {message}");
        if self.json {
            println!(
                "{}",
                serde_json::json!({"error": {"code": e.code(), "message": message}})
            );
        }
    }
}

/// The passkey list as a table, or as `[{id, name, state}]`.
pub fn print_list(out: &Out, list: &[Passkey]) {
    if list.is_empty() {
        out.line("You have no passkeys yet. Add one with `passkeys add`.");
    } else {
        let w_id = list.iter().map(|p| p.id.len()).max().unwrap_or(2).max(2);
        let w_name = list
            .iter()
            .map(|p| p.name.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        out.line(&format!("{:w_id$}  {:w_name$}  STATE", "ID", "NAME"));
        for p in list {
            out.line(&format!(
                "{:w_id$}  {:w_name$}  {}",
                p.id,
                p.name,
                p.state.label()
            ));
        }
    }
    let rows: Vec<_> = list
        .iter()
        .map(|p| serde_json::json!({"id": p.id, "name": p.name, "state": p.state.label()}))
        .collect();
    out.json(&rows);
}

/// Draws `data` as a QR code with Unicode half blocks.
pub fn print_qr(out: &Out, data: &str) {
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => {
            let text = code
                .render::<qrcode::render::unicode::Dense1x2>()
                .dark_color(qrcode::render::unicode::Dense1x2::Light)
                .light_color(qrcode::render::unicode::Dense1x2::Dark)
                .quiet_zone(true)
                .build();
            out.line(&text);
        }
        Err(e) => out.note(&format!("(cannot draw a QR code: {e})")),
    }
}
