//! `passkeys-sandbox-browser URL`: a `$BROWSER` stand-in that signs the sandbox's demo user in.
//!
//! For scripts and tests against `passkeys sandbox`, on machines with no browser:
//! `BROWSER=passkeys-sandbox-browser passkeys login`. It fetches the sign-in page, submits the
//! demo credentials (or `PASSKEYS_SANDBOX_USER` / `PASSKEYS_SANDBOX_PASSWORD`) and follows the
//! redirect back to the app's loopback address.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: passkeys-sandbox-browser AUTHORIZE_URL");
        return ExitCode::from(2);
    };
    let user = std::env::var("PASSKEYS_SANDBOX_USER")
        .unwrap_or_else(|_| passkeys_sandbox::DEMO_USERNAME.into());
    let password = std::env::var("PASSKEYS_SANDBOX_PASSWORD")
        .unwrap_or_else(|_| passkeys_sandbox::DEMO_PASSWORD.into());
    match passkeys_sandbox::browser::complete_login(&url, &user, &password).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("passkeys-sandbox-browser: {e}");
            ExitCode::from(1)
        }
    }
}
