//! Configuration: which instance (issuer) and OAuth client to use, and where tokens go.
//!
//! Precedence: command-line flags, then `PASSKEYS_ISSUER` / `PASSKEYS_CLIENT_ID` /
//! `PASSKEYS_TOKEN_STORE`, then the config file (`$PASSKEYS_CONFIG`, else
//! `<config dir>/passkeys/config.toml`):
//!
//! ```toml
//! issuer = "https://my-instance.zitadel.cloud"
//! client_id = "123456789012345678@passkeys"
//! token_store = "keyring"   # or "file", "memory"
//! api = "auto"               # or "v1", "v2", "v2-rest", "v2-connect" (passkey API, see passkey_api)
//! rp_id = "login.example.com" # RP ID of new passkeys on User service v2 (default: the issuer host)
//! ```

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};
use crate::tokens::TokenStoreKind;

/// The config file's contents.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Issuer URL.
    pub issuer: Option<String>,
    /// OAuth client id.
    pub client_id: Option<String>,
    /// Token store.
    pub token_store: Option<TokenStoreKind>,
    /// Which passkey API generation to use (`auto`, `v1`, `v2`, `v2-rest`, `v2-connect`;
    /// default `auto`), read by `passkey_api::resolve_api`.
    pub api: Option<String>,
    /// The RP ID new passkeys get on User service v2 (default: the issuer host).
    pub rp_id: Option<String>,
}

/// The config file path.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PASSKEYS_CONFIG") {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("dev", "passkey-enroll", "passkeys")
        .map(|d| d.config_dir().join("config.toml"))
}

/// Reads the config file; a missing file is an empty config.
pub fn load_config_file() -> Result<ConfigFile> {
    let Some(path) = config_path() else {
        return Ok(ConfigFile::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| Error::CorruptFile {
            path,
            reason: e.message().to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(Error::file(path, e)),
    }
}

/// True for loopback hosts: the name `localhost` (exactly; RFC 6761 §6.3 and RFC 8252 §8.3),
/// 127.0.0.0/8 and `[::1]`.
///
/// Not `*.localhost`, nor `localhost.`: whether those resolve to loopback depends on the
/// resolver (many send them to DNS), so plain http to them could leave the machine (issue 12,
/// item 8).
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Refuses anything but `https`, except `http` to a loopback host (for local development
/// and the sandbox).
pub fn require_secure(url: &Url) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(url) => Ok(()),
        _ => Err(Error::InsecureUrl {
            url: url.to_string(),
        }),
    }
}

/// The issuer: the exact string the provider must report, and its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// As configured, without a trailing slash (ZITADEL's issuer has none).
    pub as_str: String,
    /// Parsed.
    pub url: Url,
}

/// Parses and checks an issuer URL: absolute, https (or http on loopback), no query,
/// fragment or credentials.
pub fn parse_issuer(input: &str) -> Result<Issuer> {
    let trimmed = input.trim();
    let invalid = |reason: &str| Error::InvalidIssuer {
        url: trimmed.to_string(),
        reason: reason.to_string(),
    };
    let url = Url::parse(trimmed).map_err(|e| invalid(&e.to_string()))?;
    if url.host().is_none() {
        return Err(invalid("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not contain a user name or password"));
    }
    require_secure(&url)?;
    let as_str = trimmed.trim_end_matches('/').to_string();
    Ok(Issuer { as_str, url })
}

/// A resolved profile: one instance and OAuth client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The instance's issuer.
    pub issuer: Issuer,
    /// The native app's client id.
    pub client_id: String,
}

/// Resolves issuer and client id from flags, environment and the config file (in that order).
pub fn resolve_profile(
    issuer: Option<&str>,
    client_id: Option<&str>,
    file: &ConfigFile,
) -> Result<Profile> {
    let issuer = issuer
        .map(str::to_string)
        .or_else(|| {
            std::env::var("PASSKEYS_ISSUER")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| file.issuer.clone())
        .ok_or(Error::MissingIssuer)?;
    let client_id = client_id
        .map(str::to_string)
        .or_else(|| {
            std::env::var("PASSKEYS_CLIENT_ID")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| file.client_id.clone())
        .ok_or(Error::MissingClientId)?;
    Ok(Profile {
        issuer: parse_issuer(&issuer)?,
        client_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_required_except_loopback() {
        for ok in [
            "https://auth.example.com",
            "https://auth.example.com/",
            "http://localhost:8080",
            "http://127.0.0.1:9000",
            "http://[::1]:9000",
            "http://127.8.9.10",
            "http://LOCALHOST:8080",
        ] {
            parse_issuer(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "http://auth.example.com",
            "http://192.168.1.10",
            "http://10.0.0.1:8080",
            "ftp://x.example",
            // Names under .localhost may be resolved through DNS (issue 12, item 8).
            "http://sandbox.localhost:1234",
            "http://evil.localhost",
            "http://localhost.:8080",
            "http://localhost.evil.example",
            "http://[::ffff:127.0.0.1]:8080",
            "http://0.0.0.0:8080",
        ] {
            assert_eq!(
                parse_issuer(bad).unwrap_err().code(),
                "insecure_url",
                "{bad}"
            );
        }
        for bad in [
            "auth.example.com",
            "https://a.example?x=1",
            "https://u:p@a.example",
            "https://a.example/#f",
            "",
        ] {
            assert_eq!(
                parse_issuer(bad).unwrap_err().code(),
                "invalid_issuer",
                "{bad}"
            );
        }
    }

    #[test]
    fn trailing_slash_is_dropped_from_the_issuer_string() {
        assert_eq!(
            parse_issuer("https://a.example.com/").unwrap().as_str,
            "https://a.example.com"
        );
    }

    #[test]
    fn config_file_parses_and_rejects_unknown_keys() {
        let f: ConfigFile = toml::from_str(
            "issuer = \"https://a.example\"\nclient_id = \"c\"\ntoken_store = \"file\"\n",
        )
        .unwrap();
        assert_eq!(f.token_store, Some(TokenStoreKind::File));
        assert!(toml::from_str::<ConfigFile>("issuer = 1").is_err());
        assert!(toml::from_str::<ConfigFile>("isuer = \"x\"").is_err());
    }
}
