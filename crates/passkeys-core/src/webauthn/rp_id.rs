//! The rpId rule (WebAuthn L3 §5.1.3 step 8, §13.4.8): the rpId must be the instance's host or
//! a registrable domain suffix of it (Public Suffix List).

use url::Url;

use crate::error::OptionsError;

/// Checks that `rp_id` may be claimed by the instance at `instance` (WebAuthn L3 §5.1.3 step 8
/// and HTML's "is a registrable domain suffix of or is equal to"): equal to the host, or a
/// parent domain of it that is not a public suffix (Public Suffix List, via the `psl` crate).
/// IP addresses are refused: WebAuthn needs a domain.
///
/// # Errors
/// [`OptionsError::RpIdRefused`] with the reason.
pub fn check_rp_id(rp_id: &str, instance: &Url) -> Result<(), OptionsError> {
    let host = instance.host_str().unwrap_or_default().to_string();
    let refuse = |reason: &str| OptionsError::RpIdRefused {
        rp_id: rp_id.to_string(),
        host: host.clone(),
        reason: reason.to_string(),
    };
    match instance.host() {
        Some(url::Host::Domain(_)) => {}
        Some(_) => return Err(refuse("the instance is addressed by an IP address, and WebAuthn requires a domain name; use the instance's DNS name")),
        None => return Err(refuse("the instance URL has no host")),
    }
    if rp_id.is_empty() {
        return Err(refuse("the rpId is empty"));
    }
    // Canonicalise the rpId the way URL hosts are (percent-decoding, IDNA to punycode, ASCII
    // lower case). The authenticator hashes the rpId it is given as bytes, so only the exact
    // form that is checked here may reach it: anything that canonicalises to another string
    // (`LOCALHOST`, fullwidth letters, `%61`, a soft hyphen, Unicode instead of punycode) is
    // refused rather than passed on raw (issue 12 item 6).
    let canonical = match url::Host::parse(rp_id) {
        Ok(url::Host::Domain(d)) => d,
        Ok(_) => return Err(refuse("an IP address cannot be an rpId")),
        Err(_) => return Err(refuse("it is not a valid domain name")),
    };
    if canonical != rp_id {
        return Err(refuse(&format!(
            "it is not in canonical form (that would be {canonical:?}: lower-case ASCII, punycode for international names, no escapes or invisible characters), and only the exact form checked here may reach the authenticator"
        )));
    }
    let host_l = host.to_ascii_lowercase();
    if canonical == host_l {
        return Ok(());
    }
    if !host_l.ends_with(&format!(".{canonical}")) {
        return Err(refuse(
            "it is neither the instance's host nor a parent domain of it",
        ));
    }
    match psl::suffix(canonical.as_bytes()) {
        Some(suffix) if suffix.as_bytes() == canonical.as_bytes() => Err(refuse(
            "it is a public suffix (like a top-level domain), which no site may claim",
        )),
        Some(_) => Ok(()),
        None => Err(refuse("it is not a registrable domain")),
    }
}
