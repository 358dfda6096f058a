//! Model names by AAGUID, from the list shipped in `data/aaguids.json` (never fetched at run
//! time).

use std::collections::BTreeMap;
use std::sync::OnceLock;

const LIST: &str = include_str!("../data/aaguids.json");

fn list() -> &'static BTreeMap<String, String> {
    static MAP: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    MAP.get_or_init(|| {
        serde_json::from_str::<BTreeMap<String, String>>(LIST)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .collect()
    })
}

/// The AAGUID of the practice security key (Trussed fido-authenticator's default, ASCII
/// `AAGUID0123456789`): the firmware the engine's tests and the demo's practice key run.
pub const PRACTICE_AAGUID: &str = "41414755-4944-3031-3233-343536373839";

/// What the practice key is called wherever it appears (its model name in the list).
pub const PRACTICE_NAME: &str = "Practice security key (simulated)";

/// What the shells say about the practice key.
pub const PRACTICE_NOTICE: &str = "A simulated security key inside this app, for practice: it \
     behaves like a real one (PIN, touch, stored passkeys, reset) but protects nothing; its \
     passkeys are gone when the demo ends.";

/// The model name for an AAGUID (lower-case UUID string), when the list knows it.
pub fn model_name(aaguid: &str) -> Option<&'static str> {
    list().get(&aaguid.to_ascii_lowercase()).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_list_parses_and_answers() {
        assert!(list().len() >= 10);
        assert_eq!(
            model_name("CB69481E-8FF7-4039-93EC-0A2729A154A8"),
            Some("YubiKey 5 Series")
        );
        assert_eq!(model_name(PRACTICE_AAGUID), Some(PRACTICE_NAME));
        assert_eq!(model_name("00000000-0000-0000-0000-000000000000"), None);
        for k in list().keys() {
            assert_eq!(k.len(), 36, "{k} is not a UUID");
        }
    }
}
