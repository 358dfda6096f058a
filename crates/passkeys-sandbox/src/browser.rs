//! A stand-in for a person in a browser, for tests and the headless demo.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};

/// A stand-in for a person in a browser: GET the authorize URL, read the sandbox's HTML login
/// form, POST the credentials, and follow the 302 to the loopback `redirect_uri` (GET it, do not
/// follow further redirects automatically).
///
/// Every call is a fresh browser without cookies, so the sign-in form is always shown. For a
/// browser that keeps its ZITADEL session between sign-ins (T3) use [`BrowserProfile`].
///
/// A user with a second factor ([`crate::MFA_USERNAME`]) signs in with the password alone
/// (amr `["pwd"]`, the Auth API then answers 403 `mfa required`), or with the one-time code
/// appended to the password as `"<password>#otp=<code>"` (e.g. `"mfa#otp=123456"`; the
/// `passkeys-sandbox-browser` binary passes `PASSKEYS_SANDBOX_PASSWORD` through unchanged).
///
/// Returns `Err` with a clear message if any step fails: the authorize request is refused (an
/// error page or JSON error, or an error redirect, which is still delivered to the
/// `redirect_uri` as a browser would), the credentials are wrong, or the callback cannot be
/// reached or answers with a 4xx/5xx status.
pub async fn complete_login(
    authorize_url: &str,
    username: &str,
    password: &str,
) -> Result<(), String> {
    BrowserProfile::new()
        .complete_login(authorize_url, username, password)
        .await
        .map(|_| ())
}

/// [`BrowserProfile::complete_login`] as a free function.
pub async fn complete_login_with(
    profile: &BrowserProfile,
    authorize_url: &str,
    username: &str,
    password: &str,
) -> Result<LoginOutcome, String> {
    profile
        .complete_login(authorize_url, username, password)
        .await
}

/// Where a browser started on `url` really goes: for the app's one-time local start address
/// (`http://127.0.0.1:PORT/start/…`, which keeps a URL off the command line), its redirect
/// target; any other URL unchanged.
pub async fn resolve_start(url: &str) -> Result<String, String> {
    let parsed =
        url::Url::parse(url).map_err(|e| format!("the URL to open is not a valid URL: {e}"))?;
    if parsed.host_str() != Some("127.0.0.1") || !parsed.path().starts_with("/start/") {
        return Ok(url.to_string());
    }
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let resp = client
        .get(parsed.clone())
        .send()
        .await
        .map_err(|e| format!("GET {} failed: {e}", strip_query(&parsed)))?;
    if !resp.status().is_redirection() {
        return Err(format!(
            "the app's start address answered {} instead of a redirect",
            resp.status()
        ));
    }
    Ok(location(&parsed, &resp)?.to_string())
}

/// [`BrowserProfile::end_session`] as a free function.
pub async fn follow_end_session(
    profile: &BrowserProfile,
    end_session_url: &str,
) -> Result<Option<url::Url>, String> {
    profile.end_session(end_session_url).await
}

/// What happened in [`BrowserProfile::complete_login`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginOutcome {
    /// The sign-in form was shown and submitted. `false`: the browser's ZITADEL session was
    /// reused silently (T3).
    pub form_shown: bool,
}

/// Cookies by host name (cookies are not port-specific), then by cookie name.
type Jar = BTreeMap<String, BTreeMap<String, String>>;

/// A browser that keeps cookies between sign-ins (the ZITADEL user agent cookie, T3), in memory
/// or in a JSON file. Clones share the same cookie jar.
#[derive(Debug, Clone, Default)]
pub struct BrowserProfile {
    jar: Arc<Mutex<Jar>>,
    path: Option<PathBuf>,
    otp: Option<String>,
}

impl BrowserProfile {
    /// An in-memory browser profile without cookies.
    pub fn new() -> Self {
        Self::default()
    }

    /// A browser profile whose cookies live in the JSON file `path` (read now if it exists,
    /// written after every change), so separate processes can share one browser.
    pub fn persistent(path: impl Into<PathBuf>) -> Result<Self, String> {
        let path = path.into();
        let jar: Jar = match std::fs::read(&path) {
            Ok(bytes) if !bytes.is_empty() => serde_json::from_slice(&bytes)
                .map_err(|e| format!("{} is not a cookie file: {e}", path.display()))?,
            Ok(_) => Jar::new(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Jar::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Ok(BrowserProfile {
            jar: Arc::new(Mutex::new(jar)),
            path: Some(path),
            otp: None,
        })
    }

    /// The same browser, typing `code` into the one-time-code field of the sign-in form.
    pub fn with_otp(mut self, code: &str) -> Self {
        self.otp = Some(code.to_string());
        self
    }

    /// The value of cookie `name` for `host` (host name without port), if set.
    pub fn cookie(&self, host: &str, name: &str) -> Option<String> {
        self.with_jar(|j| j.get(host).and_then(|c| c.get(name)).cloned())
    }

    /// Forgets every cookie (a new private window).
    pub fn clear(&self) {
        self.with_jar(|j| j.clear());
        self.save();
    }

    fn with_jar<R>(&self, f: impl FnOnce(&mut Jar) -> R) -> R {
        let mut guard = match self.jar.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut guard)
    }

    fn save(&self) {
        if let Some(path) = &self.path {
            let text = self.with_jar(|j| serde_json::to_string_pretty(j).unwrap_or_default());
            if let Err(e) = std::fs::write(path, text) {
                tracing::warn!(error = %e, "cannot write the browser profile");
            }
        }
    }

    async fn send(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        target: &url::Url,
        form: Option<&[(String, String)]>,
    ) -> Result<Response, reqwest::Error> {
        let host = target.host_str().unwrap_or("").to_string();
        let mut req = client.request(method, target.clone());
        let header = self.with_jar(|j| {
            j.get(&host).map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        });
        if let Some(h) = header.filter(|h| !h.is_empty()) {
            req = req.header(reqwest::header::COOKIE, h);
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        let resp = req.send().await?;
        let mut changed = false;
        for v in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            let Some((name, value, expired)) = v.to_str().ok().and_then(parse_set_cookie) else {
                continue;
            };
            changed = true;
            self.with_jar(|j| {
                let c = j.entry(host.clone()).or_default();
                if expired {
                    c.remove(&name);
                } else {
                    c.insert(name, value);
                }
            });
        }
        if changed {
            self.save();
        }
        Ok(resp)
    }

    /// Signs in through the authorize URL in this browser. When the browser holds exactly one
    /// ZITADEL session and the request has no `prompt=login`/`select_account`, the sandbox
    /// answers with the code at once (no form, [`LoginOutcome::form_shown`] false); otherwise
    /// the form is filled in with `username`, `password` (a `#otp=<code>` suffix, or
    /// [`BrowserProfile::with_otp`], fills the one-time-code field). The redirect is delivered
    /// to the app's loopback `redirect_uri`.
    pub async fn complete_login(
        &self,
        authorize_url: &str,
        username: &str,
        password: &str,
    ) -> Result<LoginOutcome, String> {
        let (password, otp_suffix) = match password.rsplit_once("#otp=") {
            Some((p, o)) => (p, Some(o.to_string())),
            None => (password, None),
        };
        let otp = otp_suffix.or_else(|| self.otp.clone()).unwrap_or_default();
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let start = url::Url::parse(authorize_url)
            .map_err(|e| format!("the authorize URL is not a valid URL: {e}"))?;

        let resp = self
            .send(&client, reqwest::Method::GET, &start, None)
            .await
            .map_err(|e| format!("GET {} failed: {e}", strip_query(&start)))?;
        let status = resp.status();
        if status.is_redirection() {
            let location = location(&start, &resp)?;
            let param = |name: &str| {
                location
                    .query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            };
            let (err, desc, code) = (
                param("error"),
                param("error_description").unwrap_or_default(),
                param("code"),
            );
            deliver(&client, &location).await?;
            return match (err, code) {
                (Some(e), _) => Err(format!(
                    "the authorization request was refused: {e} ({desc})"
                )),
                (None, Some(_)) => Ok(LoginOutcome { form_shown: false }),
                (None, None) => {
                    Err("the authorize endpoint redirected without showing a sign-in page".into())
                }
            };
        }
        let page = resp
            .text()
            .await
            .map_err(|e| format!("cannot read the sign-in page: {e}"))?;
        if status != StatusCode::OK {
            return Err(format!(
                "the authorize endpoint answered {status}: {}",
                error_text(&page)
                    .or_else(|| json_error(&page))
                    .unwrap_or_else(|| "no sign-in page".into())
            ));
        }

        let form = find_form(&page).ok_or("the sign-in page has no form")?;
        let action = start
            .join(form.action.as_deref().unwrap_or(""))
            .map_err(|e| format!("bad form action: {e}"))?;
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut has_user = false;
        let mut has_pass = false;
        for input in &form.inputs {
            let Some(name) = input.get("name") else {
                continue;
            };
            let value = match (name.as_str(), input.get("type").map(String::as_str)) {
                ("username", _) => {
                    has_user = true;
                    username.to_string()
                }
                ("otp", _) => otp.clone(),
                (_, Some("password")) => {
                    has_pass = true;
                    password.to_string()
                }
                _ => input.get("value").cloned().unwrap_or_default(),
            };
            fields.push((name.clone(), value));
        }
        if !has_user || !has_pass {
            return Err("the sign-in form has no username or password field".into());
        }

        let resp = self
            .send(&client, reqwest::Method::POST, &action, Some(&fields))
            .await
            .map_err(|e| format!("POST {} failed: {e}", strip_query(&action)))?;
        let status = resp.status();
        if !status.is_redirection() {
            let page = resp.text().await.unwrap_or_default();
            return Err(format!(
                "sign-in failed ({status}): {}",
                error_text(&page).unwrap_or_else(|| "no redirect".into())
            ));
        }
        let callback = location(&action, &resp)?;
        deliver(&client, &callback).await?;
        Ok(LoginOutcome { form_shown: true })
    }

    /// Opens an end_session URL (RP-initiated logout, V4–V6) in this browser. Returns the
    /// post-logout redirect target after delivering it (GET, not followed further), or `None`
    /// when the sandbox showed its "signed out" page. A 4xx/5xx answer is an `Err` carrying
    /// the status and body.
    pub async fn end_session(&self, end_session_url: &str) -> Result<Option<url::Url>, String> {
        let end_session_url = &resolve_start(end_session_url).await?;
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let target = url::Url::parse(end_session_url)
            .map_err(|e| format!("the end_session URL is not a valid URL: {e}"))?;
        let resp = self
            .send(&client, reqwest::Method::GET, &target, None)
            .await
            .map_err(|e| format!("GET {} failed: {e}", strip_query(&target)))?;
        let status = resp.status();
        if status.is_redirection() {
            let location = location(&target, &resp)?;
            deliver(&client, &location).await?;
            return Ok(Some(location));
        }
        let body = resp.text().await.unwrap_or_default();
        if status.is_success() {
            Ok(None)
        } else {
            let snippet: String = body.chars().take(300).collect();
            Err(format!("end_session answered {status}: {snippet}"))
        }
    }
}

/// `name=value; attrs` ⇒ (name, value, expired?).
fn parse_set_cookie(header: &str) -> Option<(String, String, bool)> {
    let mut parts = header.split(';');
    let (name, value) = parts.next()?.trim().split_once('=')?;
    let expired = parts.any(|a| {
        let a = a.trim().to_ascii_lowercase();
        a == "max-age=0" || a.starts_with("max-age=-")
    });
    Some((name.trim().to_string(), value.trim().to_string(), expired))
}

/// `error_description` of an OAuth JSON error body.
fn json_error(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let e = v.get("error")?.as_str()?;
    let d = v
        .get("error_description")
        .and_then(|d| d.as_str())
        .unwrap_or("");
    Some(format!("{e}: {d}"))
}

fn strip_query(u: &url::Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.to_string()
}

fn location(base: &url::Url, resp: &Response) -> Result<url::Url, String> {
    let loc = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("{} redirect without a Location header", resp.status()))?;
    base.join(loc)
        .map_err(|e| format!("the redirect target is not a valid URL: {e}"))
}

/// GETs the redirect target (the client's loopback listener), without following redirects.
async fn deliver(client: &reqwest::Client, target: &url::Url) -> Result<(), String> {
    let resp = client.get(target.clone()).send().await.map_err(|e| {
        format!(
            "the redirect_uri {} could not be reached: {e}",
            strip_query(target)
        )
    })?;
    let status = resp.status();
    if status.is_client_error() || status.is_server_error() {
        let body = resp.text().await.unwrap_or_default();
        let snippet: String = body.chars().take(200).collect();
        return Err(format!(
            "the redirect_uri {} answered {status}: {snippet}",
            strip_query(target)
        ));
    }
    Ok(())
}

struct Form {
    action: Option<String>,
    inputs: Vec<HashMap<String, String>>,
}

/// Finds the first `<form>` and the `<input>` elements after it (up to `</form>`).
fn find_form(html: &str) -> Option<Form> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<form")?;
    let end = lower[start..]
        .find("</form")
        .map(|e| start + e)
        .unwrap_or(html.len());
    let (form_attrs, _) = parse_tag(&html[start + 5..])?;
    let mut inputs = Vec::new();
    let mut pos = start;
    while let Some(i) = lower[pos..end].find("<input") {
        let at = pos + i + 6;
        if let Some((attrs, len)) = parse_tag(&html[at..]) {
            inputs.push(attrs);
            pos = at + len;
        } else {
            break;
        }
    }
    Some(Form {
        action: form_attrs.get("action").cloned(),
        inputs,
    })
}

/// Parses attributes up to the closing `>`; returns them and the number of bytes consumed.
fn parse_tag(s: &str) -> Option<(HashMap<String, String>, usize)> {
    let mut attrs = HashMap::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        if bytes[i] == b'>' {
            return Some((attrs, i + 1));
        }
        let name_start = i;
        while i < bytes.len()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
            && !bytes[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let name = s.get(name_start..i)?.to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let value = if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let q = bytes[i];
                let vs = i + 1;
                let ve = vs + bytes.get(vs..)?.iter().position(|&b| b == q)?;
                i = ve + 1;
                s.get(vs..ve)?
            } else {
                let vs = i;
                while i < bytes.len() && bytes[i] != b'>' && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                s.get(vs..i)?
            };
            attrs.insert(name, unescape(value));
        } else if !name.is_empty() {
            attrs.insert(name, String::new());
        }
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text of the element with `id="error"` on a sandbox page, if any.
fn error_text(html: &str) -> Option<String> {
    let at = html.find(r#"id="error""#)?;
    let open_end = at + html[at..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(unescape(html[open_end..close].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sign_in_form() {
        let html = crate::pages::login("abc&def", "", Some("Wrong <x>"));
        let form = find_form(&html).unwrap();
        assert_eq!(form.action.as_deref(), Some("/login"));
        let hidden = form
            .inputs
            .iter()
            .find(|i| i.get("name").map(String::as_str) == Some(crate::pages::AUTH_REQUEST_FIELD))
            .unwrap();
        assert_eq!(hidden.get("value").map(String::as_str), Some("abc&def"));
        assert_eq!(error_text(&html).as_deref(), Some("Wrong <x>"));
    }
}
