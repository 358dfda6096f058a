//! Printing: human text on stdout (or notes on stderr), or JSON with `--json`.
//!
//! Issue 12 item 3: text from servers and keys never reaches the terminal raw. Each value from
//! elsewhere goes through [`p`] where it is formatted (one line per value, control and bidi
//! characters escaped visibly); as a safety net, every line printed here is passed through
//! [`printable`] again, and JSON output escapes the same characters (same values once parsed).

use std::borrow::Cow;

use passkeys_core::display::{json_ascii_controls, printable};
use passkeys_core::zitadel::Passkey;
use passkeys_core::{Error, ErrorCode};
use serde::Serialize;

/// A value from a server or a key, made printable: one line, control and bidi characters
/// escaped as `\u{…}`.
pub fn p(value: &str) -> Cow<'_, str> {
    printable(value)
}

/// Program text with values already formatted in: each line made printable, the program's own
/// line breaks kept.
fn safe_lines(text: &str) -> String {
    text.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

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
            println!("{}", safe_lines(text));
        }
    }

    /// Progress and hints: always on stderr so stdout stays clean for scripts.
    pub fn note(&self, text: &str) {
        eprintln!("{}", safe_lines(text));
    }

    /// The machine-readable result (only with --json).
    pub fn json<T: Serialize>(&self, value: &T) {
        if self.json {
            match serde_json::to_string_pretty(value) {
                Ok(s) => println!("{}", json_ascii_controls(&s)),
                Err(e) => eprintln!("passkeys: cannot print JSON: {e}"),
            }
        }
    }

    /// An error: one line on stderr; with --json also `{"error":{code,message}}` on stdout. The
    /// core's sentence is followed by the CLI's instruction for its code ([`cli_advice`]).
    pub fn error(&self, e: &Error) {
        let message = with_cli_advice(&e.to_string().replace('\n', " "), e.code());
        eprintln!("passkeys: {}", printable(&message));
        if self.json {
            let json = serde_json::json!({"error": {"code": e.code(), "message": message}});
            println!("{}", json_ascii_controls(&json.to_string()));
        }
    }
}

/// What a `passkeys` user does about an error with `code`, in CLI terms (the core says what
/// happened and what to do in neutral words; the commands and flags are the CLI's).
pub fn cli_advice(code: ErrorCode) -> Option<&'static str> {
    Some(match code {
        ErrorCode::NotSignedIn | ErrorCode::SessionExpired => "run `passkeys login`",
        ErrorCode::MfaRequired => "run `passkeys login --prompt login` and use your second factor",
        ErrorCode::KeychainError => "use --token-store file",
        ErrorCode::MissingClientId => "--client-id gives it on the command line",
        ErrorCode::MissingIssuer => "--issuer gives it on the command line",
        ErrorCode::NotFound => "run `passkeys list` to see the current ones",
        ErrorCode::CredentialUnparsable => "run the command again with `-v` for the log",
        ErrorCode::NotRegistered => {
            "a passkey stored on a security key is deleted with `passkeys key credentials delete`"
        }
        ErrorCode::SelfTestAuthenticator => "run `passkeys test ID` to test it again",
        ErrorCode::SelfTestInvalid => "`passkeys remove ID` removes it",
        ErrorCode::PasskeyApiUnavailable => {
            "`--api auto` lets passkeys choose; `passkeys -v whoami` shows what it finds"
        }
        ErrorCode::SelfServiceLinksUnavailable => {
            "run `passkeys add --authenticator key` with a security key here instead"
        }
        ErrorCode::PinNotSet => "`passkeys key pin set` sets one (`passkeys add` offers to)",
        _ => return None,
    })
}

/// `message` followed by [`cli_advice`] for `code`, if any.
pub fn with_cli_advice(message: &str, code: ErrorCode) -> String {
    match cli_advice(code) {
        Some(advice) => format!("{}; {advice}", message.trim_end_matches('.')),
        None => message.to_string(),
    }
}

/// The passkeys as a table (ID, NAME, STATE), one line each after the header.
pub fn list_table(list: &[Passkey]) -> Vec<String> {
    let shown: Vec<(Cow<'_, str>, Cow<'_, str>)> =
        list.iter().map(|k| (p(&k.id), p(&k.name))).collect();
    let w_id = shown.iter().map(|(i, _)| i.len()).max().unwrap_or(2).max(2);
    let w_name = shown
        .iter()
        .map(|(_, n)| n.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut lines = vec![format!("{:w_id$}  {:w_name$}  STATE", "ID", "NAME")];
    for (k, (id, name)) in list.iter().zip(&shown) {
        lines.push(format!("{id:w_id$}  {name:w_name$}  {}", k.state.label()));
    }
    lines
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
