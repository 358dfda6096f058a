//! `passkeys-sandbox-browser URL`: a `$BROWSER` stand-in for the sandbox, for scripts and tests
//! on machines with no browser: `BROWSER=passkeys-sandbox-browser passkeys login`.
//!
//! - An authorize URL: fetches the sign-in page, submits the demo credentials (or
//!   `PASSKEYS_SANDBOX_USER` / `PASSKEYS_SANDBOX_PASSWORD`; a password ending in `#otp=CODE` also
//!   fills in the one-time code) and follows the redirect back to the app's loopback address.
//!   When the browser already has one sign-in session at the sandbox and the request has no
//!   `prompt`, the sandbox answers silently, as ZITADEL does.
//! - An `end_session` URL (RP-initiated logout): follows it, ending the browser's session, and
//!   delivers the post-logout redirect. The app opens it through a one-time local address
//!   (`http://127.0.0.1:PORT/start/…`) that redirects there; that hop is followed first.
//!
//! `PASSKEYS_SANDBOX_BROWSER_LOG=FILE` appends each URL it is started on to FILE (tests check
//! what a process list would show).
//!
//! Cookies persist between runs in the JSON file `PASSKEYS_SANDBOX_BROWSER_PROFILE` when it is
//! set (one browser shared by several commands); otherwise each run is a fresh private window.

use std::process::ExitCode;

use passkeys_sandbox::browser::BrowserProfile;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: passkeys-sandbox-browser URL");
        return ExitCode::from(2);
    };
    let profile = match std::env::var_os("PASSKEYS_SANDBOX_BROWSER_PROFILE") {
        Some(path) => match BrowserProfile::persistent(path) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("passkeys-sandbox-browser: {e}");
                return ExitCode::from(1);
            }
        },
        None => BrowserProfile::new(),
    };
    // For tests: what this browser was started on (what the process list showed).
    if let Some(log) = std::env::var_os("PASSKEYS_SANDBOX_BROWSER_LOG") {
        use std::io::Write as _;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{url}");
        }
    }
    // The app starts the browser on a local address that forwards to the logout URL.
    let url = match passkeys_sandbox::browser::resolve_start(&url).await {
        Ok(url) => url,
        Err(e) => {
            eprintln!("passkeys-sandbox-browser: {e}");
            return ExitCode::from(1);
        }
    };
    let is_logout = url::Url::parse(&url)
        .map(|u| u.path().ends_with("/end_session"))
        .unwrap_or(false);
    let result = if is_logout {
        profile.end_session(&url).await.map(|_| ())
    } else {
        let user = std::env::var("PASSKEYS_SANDBOX_USER")
            .unwrap_or_else(|_| passkeys_sandbox::DEMO_USERNAME.into());
        let password = std::env::var("PASSKEYS_SANDBOX_PASSWORD")
            .unwrap_or_else(|_| passkeys_sandbox::DEMO_PASSWORD.into());
        profile
            .complete_login(&url, &user, &password)
            .await
            .map(|outcome| {
                if !outcome.form_shown {
                    eprintln!("passkeys-sandbox-browser: signed in silently with the browser's existing session");
                }
            })
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("passkeys-sandbox-browser: {e}");
            ExitCode::from(1)
        }
    }
}
