//! Saved instances ("profiles"): the issuer + client id pairs a person has set up, for the
//! desktop app's first run and instance switcher.
//!
//! A profile is saved only after OIDC discovery succeeded for it ([`add_checked`]), so a typo
//! in the instance URL is caught before anything is written. The list is a small JSON file
//! (`$PASSKEYS_PROFILES`, else `<config dir>/passkeys/profiles.json`), written atomically with
//! mode 0600. It holds no secrets: tokens stay in the token store.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::parse_issuer;
use crate::error::{Error, Result};
use crate::oidc::Oidc;
use crate::passkey_api::{ApiChoice, ApiSettings};
use crate::tokens::store_key;

/// One saved instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SavedProfile {
    /// Stable id: the token store key of this issuer and client id.
    pub id: String,
    /// The issuer URL, as discovery confirmed it (no trailing slash).
    pub issuer: String,
    /// The native app's client id.
    pub client_id: String,
    /// Which passkey API generation to use (default `auto`; see `passkey_api`).
    #[serde(default)]
    pub api: ApiChoice,
    /// The RP ID (login domain) new passkeys get on User service v2; `None` = the issuer
    /// host. Ignored on the Auth API v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub rp_id: Option<String>,
}

impl SavedProfile {
    /// The passkey API settings of this instance.
    pub fn api_settings(&self) -> ApiSettings {
        ApiSettings {
            choice: self.api,
            rp_id: self.rp_id.clone(),
        }
    }
}

/// Every saved instance, and which one was used last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Profiles {
    /// In the order they were added.
    #[serde(default)]
    pub profiles: Vec<SavedProfile>,
    /// The id of the profile used last, if any.
    #[serde(default)]
    pub last_used: Option<String>,
}

impl Profiles {
    /// The profile with `id`.
    pub fn get(&self, id: &str) -> Option<&SavedProfile> {
        self.profiles.iter().find(|p| p.id == id)
    }
}

/// Where the list is kept: `$PASSKEYS_PROFILES`, else `profiles.json` beside the config file.
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PASSKEYS_PROFILES").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("dev", "passkey-enroll", "passkeys")
        .map(|d| d.config_dir().join("profiles.json"))
}

/// Reads the list; a missing file is an empty list.
pub fn load(path: &Path) -> Result<Profiles> {
    match crate::files::read_private_file(path) {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).map_err(|e| Error::CorruptFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
        Ok(None) => Ok(Profiles::default()),
        Err(e) => Err(Error::file(path, e)),
    }
}

/// Writes the list atomically (0600).
pub fn save(path: &Path, profiles: &Profiles) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(profiles)
        .map_err(|e| Error::Config(format!("cannot encode the profile list: {e}")))?;
    crate::files::write_private_file(path, &bytes).map_err(|e| Error::file(path, e))
}

/// Checks `issuer` and `client_id` through OIDC discovery, then saves them (replacing a
/// profile with the same id) and marks them last used. Returns the saved profile and the
/// discovered provider, ready to sign in.
///
/// # Errors
/// [`Error::InvalidIssuer`] / [`Error::InsecureUrl`] for a bad URL, [`Error::MissingClientId`]
/// for an empty client id, [`Error::Discovery`] when the instance does not answer as an OpenID
/// provider with that issuer; nothing is saved then.
pub async fn add_checked(
    path: &Path,
    issuer: &str,
    client_id: &str,
    http: reqwest::Client,
) -> Result<(SavedProfile, Oidc)> {
    let issuer = parse_issuer(issuer)?;
    let client_id = client_id.trim();
    if client_id.is_empty() {
        return Err(Error::MissingClientId);
    }
    let oidc = Oidc::discover(&issuer, client_id, http).await?;
    let profile = SavedProfile {
        id: store_key(&issuer.as_str, client_id),
        issuer: issuer.as_str.clone(),
        client_id: client_id.to_string(),
        api: ApiChoice::Auto,
        rp_id: None,
    };
    let mut all = load(path)?;
    match all.profiles.iter_mut().find(|p| p.id == profile.id) {
        Some(existing) => {
            // Adding an instance again keeps its API settings.
            let profile = SavedProfile {
                api: existing.api,
                rp_id: existing.rp_id.take(),
                ..profile.clone()
            };
            *existing = profile;
        }
        None => all.profiles.push(profile.clone()),
    }
    all.last_used = Some(profile.id.clone());
    save(path, &all)?;
    let profile = all.get(&profile.id).cloned().unwrap_or(profile);
    Ok((profile, oidc))
}

/// Sets the passkey API settings of the saved profile `id`. The RP ID must be the issuer's
/// host or a parent domain of it (the rpId rule, [`crate::webauthn::check_rp_id`]).
///
/// # Errors
/// [`Error::Config`] when there is no such profile; `rp_id_refused` for an RP ID the
/// instance may not claim; file errors.
pub fn set_api(path: &Path, id: &str, settings: &ApiSettings) -> Result<SavedProfile> {
    let mut all = load(path)?;
    let profile = all
        .profiles
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or_else(|| Error::Config(format!("there is no saved instance {id:?}")))?;
    if let Some(rp) = &settings.rp_id {
        crate::webauthn::check_rp_id(rp, &parse_issuer(&profile.issuer)?.url)?;
    }
    profile.api = settings.choice;
    profile.rp_id = settings.rp_id.clone();
    let saved = profile.clone();
    save(path, &all)?;
    Ok(saved)
}

/// Opens a saved profile: runs discovery again and marks it last used.
///
/// # Errors
/// [`Error::Config`] when there is no such profile; discovery errors as they come.
pub async fn open(path: &Path, id: &str, http: reqwest::Client) -> Result<(SavedProfile, Oidc)> {
    let mut all = load(path)?;
    let profile = all
        .get(id)
        .cloned()
        .ok_or_else(|| Error::Config(format!("there is no saved instance {id:?}")))?;
    let oidc = Oidc::discover(&parse_issuer(&profile.issuer)?, &profile.client_id, http).await?;
    if all.last_used.as_deref() != Some(id) {
        all.last_used = Some(id.to_string());
        save(path, &all)?;
    }
    Ok((profile, oidc))
}

/// Forgets a saved profile (its tokens are not touched: sign out first to revoke them).
/// Returns the remaining list.
pub fn remove(path: &Path, id: &str) -> Result<Profiles> {
    let mut all = load(path)?;
    all.profiles.retain(|p| p.id != id);
    if all.last_used.as_deref() == Some(id) {
        all.last_used = None;
    }
    save(path, &all)?;
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty_and_round_trip_keeps_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("profiles.json");
        assert_eq!(load(&path).unwrap(), Profiles::default());
        let p = |i: &str| SavedProfile {
            api: ApiChoice::Auto,
            rp_id: None,
            id: store_key(i, "c"),
            issuer: i.into(),
            client_id: "c".into(),
        };
        let all = Profiles {
            profiles: vec![p("https://b.example"), p("https://a.example")],
            last_used: Some(store_key("https://a.example", "c")),
        };
        save(&path, &all).unwrap();
        assert_eq!(load(&path).unwrap(), all);
        let left = remove(&path, &store_key("https://a.example", "c")).unwrap();
        assert_eq!(left.profiles, vec![p("https://b.example")]);
        assert_eq!(left.last_used, None);
    }

    #[test]
    fn api_settings_default_to_auto_and_are_checked_when_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.json");
        // A list written before the setting existed.
        let id = store_key("https://auth.example.com", "c");
        std::fs::write(
            &path,
            serde_json::json!({"profiles": [{"id": id, "issuer": "https://auth.example.com", "clientId": "c"}]})
                .to_string(),
        )
        .unwrap();
        let all = load(&path).unwrap();
        assert_eq!(all.profiles[0].api, ApiChoice::Auto);
        assert_eq!(all.profiles[0].api_settings(), ApiSettings::default());
        let settings = ApiSettings {
            choice: ApiChoice::V2,
            rp_id: Some("example.com".into()),
        };
        let saved = set_api(&path, &id, &settings).unwrap();
        assert_eq!(saved.api_settings(), settings);
        assert_eq!(load(&path).unwrap().profiles[0].api_settings(), settings);
        let bad = ApiSettings {
            choice: ApiChoice::V2,
            rp_id: Some("other.example".into()),
        };
        assert_eq!(
            set_api(&path, &id, &bad).unwrap_err().code(),
            "rp_id_refused"
        );
        assert_eq!(
            set_api(&path, "nope", &settings).unwrap_err().code(),
            "config_error"
        );
        assert_eq!(load(&path).unwrap().profiles[0].api_settings(), settings);
    }

    #[test]
    fn damaged_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(load(&path).unwrap_err().code(), "corrupt_file");
    }

    #[tokio::test]
    async fn bad_input_is_refused_before_any_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.json");
        let http = reqwest::Client::new();
        let err = add_checked(&path, "http://example.com", "c", http.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "insecure_url");
        let err = add_checked(&path, "https://example.com", "  ", http)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "missing_client_id");
        assert!(!path.exists());
    }
}
