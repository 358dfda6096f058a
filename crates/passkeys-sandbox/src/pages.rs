//! The sandbox's HTML pages: sign-in form, error pages, signed-out page and the passwordless
//! registration link target. Plain HTML, no scripts, works in any browser.

/// The name of the hidden form field that carries the authorization request id.
pub(crate) const AUTH_REQUEST_FIELD: &str = "authRequestID";

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Passkey Enroll sandbox</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f5f7; color: #1d1d1f; margin: 0; }}
main {{ max-width: 380px; margin: 10vh auto; background: #fff; padding: 2rem; border-radius: 12px;
       box-shadow: 0 2px 12px rgba(0,0,0,.08); }}
h1 {{ font-size: 1.4rem; margin-top: 0; }}
label {{ display: block; margin: 1rem 0 .3rem; font-weight: 600; }}
input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box; padding: .6rem;
       border: 1px solid #c7c9cf; border-radius: 6px; font-size: 1rem; }}
button {{ margin-top: 1.5rem; width: 100%; padding: .7rem; border: 0; border-radius: 6px;
       background: #5469d4; color: #fff; font-size: 1rem; cursor: pointer; }}
.hint {{ background: #eef1ff; border-radius: 6px; padding: .6rem .8rem; font-size: .9rem; }}
.error {{ background: #fdecea; color: #8a1c13; border-radius: 6px; padding: .6rem .8rem; }}
.muted {{ color: #6b6f76; font-size: .85rem; }}
</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"#,
        title = esc(title),
    )
}

/// The sign-in page shown by `/oauth/v2/authorize` (and again after a failed attempt).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn login(auth_request_id: &str, username: &str, error: Option<&str>) -> String {
    login_page(auth_request_id, username, error, &[])
}

/// The sign-in page; `accounts` lists the browser's signed-in accounts (the account picker of
/// `prompt=select_account` or several sessions, T3).
pub(crate) fn login_page(
    auth_request_id: &str,
    username: &str,
    error: Option<&str>,
    accounts: &[String],
) -> String {
    let error_html = match error {
        Some(e) => format!(r#"<p class="error" id="error">{}</p>"#, esc(e)),
        None => String::new(),
    };
    let accounts_html = if accounts.is_empty() {
        String::new()
    } else {
        let items: Vec<String> = accounts
            .iter()
            .map(|a| format!("<li>{}</li>", esc(a)))
            .collect();
        format!(
            "<p id=\"accounts\">Signed in on this browser (choose one by entering its login name):</p><ul>{}</ul>\n",
            items.join("")
        )
    };
    let body = format!(
        r#"<h1>Sign in</h1>
<p class="muted">Passkey Enroll sandbox: a local stand-in for ZITADEL.</p>
{error_html}{accounts_html}
<form method="post" action="/login" id="login">
<input type="hidden" name="{field}" value="{id}">
<label for="username">Login name</label>
<input type="text" id="username" name="username" value="{username}" autocomplete="username" autofocus required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<label for="otp">One-time code (only if you set up a second factor)</label>
<input type="text" id="otp" name="otp" value="" autocomplete="one-time-code" inputmode="numeric">
<button type="submit">Sign in</button>
</form>
<p class="hint">Demo account: login name <b>{demo_user}</b>, password <b>{demo_pass}</b>.</p>
"#,
        field = AUTH_REQUEST_FIELD,
        id = esc(auth_request_id),
        username = esc(username),
        demo_user = esc(crate::DEMO_USERNAME),
        demo_pass = esc(crate::DEMO_PASSWORD),
    );
    layout("Sign in", &body)
}

/// An error page that does not redirect (unknown client, bad redirect_uri, …).
pub(crate) fn error(title: &str, message: &str) -> String {
    let body = format!(
        r#"<h1>{}</h1>
<p class="error" id="error">{}</p>
<p class="muted">Nothing was sent back to the application.</p>
"#,
        esc(title),
        esc(message)
    );
    layout(title, &body)
}

/// The page shown by end_session when there is no (acceptable) post-logout redirect.
pub(crate) fn signed_out() -> String {
    layout(
        "Signed out",
        "<h1>Signed out</h1>\n<p>You have been signed out of the sandbox. You can close this window.</p>\n",
    )
}

/// The target of the AddMyPasswordlessLink link (contract §1.4).
pub(crate) fn passwordless_init(user_id: &str, code_id: &str) -> String {
    let body = format!(
        r#"<h1>Set up a passkey</h1>
<p>This is the sandbox's stand-in for ZITADEL's passwordless registration page.</p>
<p class="muted">User {} · code {}</p>
"#,
        esc(user_id),
        esc(code_id)
    );
    layout("Set up a passkey", &body)
}
