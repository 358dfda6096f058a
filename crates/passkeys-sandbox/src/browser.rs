//! A stand-in for a person in a browser, for tests and the headless demo.

use std::collections::HashMap;

use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};

/// A stand-in for a person in a browser: GET the authorize URL, read the sandbox's HTML login
/// form, POST the credentials, and follow the 302 to the loopback `redirect_uri` (GET it, do not
/// follow further redirects automatically).
///
/// Returns `Err` with a clear message if any step fails: the authorize request is refused (an
/// error page, or an error redirect, which is still delivered to the `redirect_uri` as a
/// browser would), the credentials are wrong, or the callback cannot be reached or answers
/// with a 4xx/5xx status.
pub async fn complete_login(
    authorize_url: &str,
    username: &str,
    password: &str,
) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let start = url::Url::parse(authorize_url)
        .map_err(|e| format!("the authorize URL is not a valid URL: {e}"))?;

    let resp = client
        .get(start.clone())
        .send()
        .await
        .map_err(|e| format!("GET {} failed: {e}", strip_query(&start)))?;
    let status = resp.status();
    if status.is_redirection() {
        let location = location(&start, &resp)?;
        let err = location
            .query_pairs()
            .find(|(k, _)| k == "error")
            .map(|(_, v)| v.into_owned());
        let desc = location
            .query_pairs()
            .find(|(k, _)| k == "error_description")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        deliver(&client, &location).await?;
        return Err(match err {
            Some(e) => format!("the authorization request was refused: {e} ({desc})"),
            None => "the authorize endpoint redirected without showing a sign-in page".to_string(),
        });
    }
    let page = resp
        .text()
        .await
        .map_err(|e| format!("cannot read the sign-in page: {e}"))?;
    if status != StatusCode::OK {
        return Err(format!(
            "the authorize endpoint answered {status}: {}",
            error_text(&page).unwrap_or_else(|| "no sign-in page".into())
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

    let resp = client
        .post(action.clone())
        .form(&fields)
        .send()
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
    deliver(&client, &callback).await
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
