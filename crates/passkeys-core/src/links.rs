//! Links that come from the server, checked before they reach a browser, a terminal or a QR code
//! (issue 12, item 1).
//!
//! A registration link (AddMyPasswordlessLink) is a URL the *server* chose. Handed to a browser
//! command as it is, `file:///etc/passwd`, `javascript:…`, `smb://…`, a page on another site or
//! `--renderer-cmd-prefix=/bin/sh -c …` (a Chromium command-line flag that runs a command) would
//! all reach it. [`check_server_link`] accepts only an absolute URL that is
//! - `https` (or `http` when the instance itself is a loopback sandbox, see
//!   [`crate::config::require_secure`]),
//! - on the instance's own origin (scheme, host and port), or `https` on a host of the same
//!   registrable domain (a login UI on `login.example.com` for an instance on
//!   `auth.example.com`); never across tenants of ZITADEL Cloud (`*.zitadel.cloud`), whose
//!   domain the public suffix list does not split,
//! - without a user name or password,
//!
//! and returns it parsed; callers hand on only its re-serialisation, which starts with
//! `https://` or `http://` and so can never be taken for a command-line flag.

use url::Url;

use crate::config::require_secure;
use crate::error::{Error, Result};

/// Domains where unrelated ZITADEL instances share a registrable domain (the public suffix list
/// does not list them): there only the instance's exact origin is accepted.
const SHARED_HOSTING: [&str; 2] = ["zitadel.cloud", "zitadel.ch"];

/// Checks a link the server sent for the instance at `instance` (the issuer URL) and returns it
/// parsed. See the module documentation for the rule.
///
/// # Errors
/// [`Error::UntrustedLink`], naming where the link points (never the link itself: it may carry
/// a one-time code).
pub fn check_server_link(link: &str, instance: &Url) -> Result<Url> {
    let expected = instance.origin().ascii_serialization();
    let refuse = |target: String, reason: &str| Error::UntrustedLink {
        target,
        reason: reason.to_string(),
        expected: expected.clone(),
    };
    let url = match Url::parse(link) {
        Ok(u) => u,
        Err(_) => {
            return Err(refuse(
                "no site".into(),
                "it is not an absolute web address",
            ))
        }
    };
    let target = describe(&url);
    match url.scheme() {
        "https" | "http" => {}
        _ => return Err(refuse(target, "it is not an https link")),
    }
    if url.host().is_none() {
        return Err(refuse(target, "it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(target, "it carries a user name or password"));
    }
    if url.origin() != instance.origin() {
        if url.scheme() != "https" {
            return Err(refuse(target, "it is a plain http link to another site"));
        }
        if !same_site(&url, instance) {
            return Err(refuse(target, "it is not on the instance's own site"));
        }
    }
    require_secure(&url).map_err(|_| refuse(describe(&url), "it is a plain http link"))?;
    debug_assert!(url.as_str().starts_with("https://") || url.as_str().starts_with("http://"));
    Ok(url)
}

/// True when both are domain names with the same registrable domain (public suffix list), not
/// under [`SHARED_HOSTING`].
fn same_site(a: &Url, b: &Url) -> bool {
    let (Some(url::Host::Domain(a)), Some(url::Host::Domain(b))) = (a.host(), b.host()) else {
        return false;
    };
    let shared = |h: &str| {
        SHARED_HOSTING
            .iter()
            .any(|s| h == *s || h.ends_with(&format!(".{s}")))
    };
    if shared(a) || shared(b) {
        return false;
    }
    match (psl::domain(a.as_bytes()), psl::domain(b.as_bytes())) {
        (Some(x), Some(y)) => x.as_bytes() == y.as_bytes(),
        _ => false,
    }
}

/// Where a URL points, for messages: `scheme://host[:port]`, or `a scheme: URL` without a host.
pub fn describe(url: &Url) -> String {
    match url.host_str() {
        Some(h) => match url.port() {
            Some(p) => format!("{}://{h}:{p}", url.scheme()),
            None => format!("{}://{h}", url.scheme()),
        },
        None => format!("a {}: URL", url.scheme()),
    }
}

/// The form of `input` that a browser command may get: parsed and re-serialised, `https` or
/// `http` with a host, so it starts with `https://` or `http://` and cannot be read as a
/// command-line flag, a file or a script. `None` for anything else.
/// [`crate::browser::SystemBrowser`] opens nothing else, whatever its caller checked.
pub fn web_url(input: &str) -> Option<String> {
    let url = Url::parse(input).ok()?;
    let s = url.as_str();
    (matches!(url.scheme(), "https" | "http")
        && url.host().is_some()
        && (s.starts_with("https://") || s.starts_with("http://")))
    .then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(link: &str, instance: &str) -> Result<Url> {
        check_server_link(link, &Url::parse(instance).unwrap())
    }

    #[test]
    fn zitadel_and_sandbox_links_are_accepted_as_reserialised_urls() {
        for (link, instance) in [
            (
                "https://acme-x1y2z3.us1.zitadel.cloud/ui/login/login/passwordless/init?userID=1&codeID=2&code=ab",
                "https://acme-x1y2z3.us1.zitadel.cloud",
            ),
            (
                "http://localhost:8080/ui/login/login/passwordless/init?userID=1&codeID=2&code=ab",
                "http://localhost:8080",
            ),
            (
                "https://auth.example.com:443/ui/v2/login/passkey/add?x=1",
                "https://auth.example.com",
            ),
            ("https://login.example.com/ui/v2/login", "https://auth.example.com"),
        ] {
            let url = check(link, instance).unwrap_or_else(|e| panic!("{link}: {e}"));
            assert!(url.as_str().starts_with("https://") || url.as_str().starts_with("http://"));
            assert_eq!(web_url(url.as_str()).as_deref(), Some(url.as_str()));
        }
    }

    #[test]
    fn hostile_links_are_refused_naming_where_they_point() {
        let instance = "https://acme.example.com";
        for (link, target) in [
            ("file:///etc/passwd", "a file: URL"),
            ("javascript:alert(1)", "a javascript: URL"),
            ("smb://x/y", "smb://x"),
            ("https://evil.example/ui/login", "https://evil.example"),
            ("--renderer-cmd-prefix=/bin/sh -c id", "no site"),
            ("/ui/login/login/passwordless/init?code=x", "no site"),
            ("//evil.example/x", "no site"),
            (
                "http://acme.example.com/ui/login",
                "http://acme.example.com",
            ),
            (
                "https://user:pw@acme.example.com/",
                "https://acme.example.com",
            ),
            (
                "https://acme.example.com.evil.example/",
                "https://acme.example.com.evil.example",
            ),
            ("data:text/html,<script>alert(1)</script>", "a data: URL"),
        ] {
            let e = check(link, instance).unwrap_err();
            assert_eq!(e.code(), "untrusted_link", "{link}");
            let text = e.to_string();
            assert!(text.contains(target), "{link}: {text}");
        }
        // Another tenant of ZITADEL Cloud is another site.
        let e = check(
            "https://evil-a1.us1.zitadel.cloud/ui/login",
            "https://acme-x1.us1.zitadel.cloud",
        )
        .unwrap_err();
        assert_eq!(e.code(), "untrusted_link");
        // An http link on a non-loopback instance, even on its own host.
        assert!(check("http://acme.example.com/", "https://acme.example.com").is_err());
        // Loopback http only on the sandbox's own origin.
        assert!(check("http://localhost:9999/ui", "http://localhost:8080").is_err());
        assert!(check("http://127.0.0.1:8080/ui", "http://localhost:8080").is_err());
    }

    #[test]
    fn the_one_time_code_is_not_in_the_error() {
        let e = check("https://evil.example/x?code=SECRET", "https://a.example").unwrap_err();
        assert!(!e.to_string().contains("SECRET"));
    }

    #[test]
    fn only_reserialised_web_urls_reach_a_browser_command() {
        assert_eq!(
            web_url("https://a.example/x?y=1").as_deref(),
            Some("https://a.example/x?y=1")
        );
        assert_eq!(
            web_url("HTTPS://A.example").as_deref(),
            Some("https://a.example/")
        );
        assert!(web_url("http://127.0.0.1:1234/callback").is_some());
        for bad in [
            "--renderer-cmd-prefix=/bin/sh -c id",
            "-a",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "smb://x/y",
            "/relative",
            "",
        ] {
            assert_eq!(web_url(bad), None, "{bad}");
        }
    }
}
