//! The terminal sanitiser (issue 12 item 3): whatever a server or a key sends, the printable
//! form holds no control, bidi or invisible format character and no line break, and the JSON
//! form parses back to the exact value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeys_core::display::{json_ascii_controls, needs_escape, printable};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let shown = printable(&text);
    assert!(!shown.chars().any(needs_escape));
    assert_eq!(shown.lines().count(), usize::from(!shown.is_empty()));
    let json = serde_json::to_string(&serde_json::json!({ "v": text })).unwrap();
    let safe = json_ascii_controls(&json);
    assert!(!safe.chars().any(needs_escape));
    let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
    assert_eq!(back["v"].as_str(), Some(text.as_ref()));
});
