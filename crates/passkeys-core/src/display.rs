//! Making text from elsewhere safe to show on a terminal (issue 12 item 3).
//!
//! Passkey names, display and login names, links, rp ids and user names stored on a security
//! key by any website come from servers and keys this program does not control. Raw, an ESC
//! sequence in one could retitle or clear the terminal or fake output, and a carriage return, a
//! line separator or a bidi override could hide or reorder text. [`printable`] escapes every
//! such character visibly as `\u{…}`, so each value stays one line of plain, visible text.
//! `--json` output keeps the exact values; [`json_ascii_controls`] only escapes the same
//! characters inside the JSON text (still the same values once parsed).

use std::borrow::Cow;

/// True for characters that must not reach a terminal raw: C0 controls (including newline,
/// carriage return and tab), DEL, C1 controls, bidi embeddings, overrides, isolates and marks,
/// line and paragraph separators, and invisible format characters (soft hyphen, zero-width
/// space, word joiner, byte order mark, interlinear annotations). Zero-width (non-)joiners stay:
/// scripts and emoji need them and they move nothing.
pub fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{ad}'
            | '\u{61c}'
            | '\u{180e}'
            | '\u{200b}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

/// `text` with every character of [`needs_escape`] written as `\u{hex}`; borrowed when there
/// is nothing to escape.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Serialised JSON with the characters of [`needs_escape`] that JSON leaves raw (DEL, C1,
/// bidi and format characters) written as `\uXXXX` escapes. They can only occur inside JSON
/// strings, so the document still parses to exactly the same values.
pub fn json_ascii_controls(json: &str) -> Cow<'_, str> {
    if !json.chars().any(needs_escape) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        // serde_json already escapes C0 controls; '\n' between members is formatting.
        if needs_escape(c) && !c.is_ascii_whitespace() && u32::from(c) >= 0x20 {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_and_bidi_controls_are_shown_escaped() {
        assert_eq!(printable("Key A"), "Key A");
        assert!(matches!(printable("Ümlaut 🔑 名前"), Cow::Borrowed(_)));
        assert_eq!(
            printable("evil\u{1b}]0;pwned\u{7}\u{1b}[2J"),
            "evil\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"
        );
        assert_eq!(printable("a\r\nb\tc"), "a\\u{d}\\u{a}b\\u{9}c");
        assert_eq!(printable("x\u{202e}gnp.exe"), "x\\u{202e}gnp.exe");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(
            printable("a\u{2028}b\u{ad}c\u{feff}"),
            "a\\u{2028}b\\u{ad}c\\u{feff}"
        );
        assert_eq!(printable("\u{7f}"), "\\u{7f}");
        // A family emoji keeps its zero-width joiners.
        let family = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}";
        assert_eq!(printable(family), family);
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            let p = printable(&c.to_string()).into_owned();
            assert!(!p.chars().any(needs_escape), "{c:?}");
            assert!(!p.contains('\n') && !p.contains('\r'));
        }
    }

    #[test]
    fn json_keeps_exact_values() {
        let value = serde_json::json!({"name": "a\u{1b}[2J\u{202e}b\u{85}\u{7f}\nc"});
        let text = serde_json::to_string_pretty(&value).unwrap();
        let safe = json_ascii_controls(&text);
        assert!(
            !safe.chars().any(|c| needs_escape(c) && c != '\n'),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }
}
