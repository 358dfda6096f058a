//! Opening the system browser for sign-in (RFC 8252 §4: native apps use an external user-agent).
//!
//! [`SystemBrowser`] honours `$BROWSER` as other command-line tools do: a `:`-separated list of
//! commands, tried in order; `%s` in a command is replaced by the URL, otherwise the URL is
//! appended as the last argument. Without `$BROWSER`, the platform's default browser is used.

use async_trait::async_trait;

use crate::error::{Error, Result};

/// Something that can show the person a URL.
#[async_trait]
pub trait Browser: Send + Sync {
    /// Opens `url`. Returns once the browser was started (not when the person finished).
    async fn open(&self, url: &str) -> Result<()>;
}

/// A "browser" backed by an async function, started concurrently (the loopback listener only
/// serves after [`Browser::open`] returns). For scripted sign-ins: the demo's sandbox user, and
/// tests.
pub struct FnBrowser {
    f: std::sync::Arc<dyn Fn(String) -> BoxedFuture + Send + Sync>,
}

/// A boxed, sendable unit future (what [`FnBrowser`] runs).
pub type BoxedFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl FnBrowser {
    /// Wraps `f`, which gets the authorization URL.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        Self {
            f: std::sync::Arc::new(move |url| Box::pin(f(url))),
        }
    }
}

impl std::fmt::Debug for FnBrowser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnBrowser")
    }
}

#[async_trait]
impl Browser for FnBrowser {
    async fn open(&self, url: &str) -> Result<()> {
        tokio::spawn((self.f)(url.to_string()));
        Ok(())
    }
}

/// The system browser.
#[derive(Debug, Default, Clone)]
pub struct SystemBrowser;

/// Splits one `$BROWSER` entry into program and arguments, substituting `%s`.
fn command_for(entry: &str, url: &str) -> Option<(String, Vec<String>)> {
    let mut parts = entry.split_whitespace().map(str::to_string);
    let program = parts.next()?;
    let mut args: Vec<String> = parts.collect();
    let mut substituted = false;
    for a in &mut args {
        if a.contains("%s") {
            *a = a.replace("%s", url);
            substituted = true;
        }
    }
    if !substituted {
        args.push(url.to_string());
    }
    Some((program, args))
}

#[async_trait]
impl Browser for SystemBrowser {
    async fn open(&self, url: &str) -> Result<()> {
        if let Some(list) = std::env::var_os("BROWSER").filter(|v| !v.is_empty()) {
            let list = list.to_string_lossy().to_string();
            let mut last_err = String::from("$BROWSER is empty");
            for entry in list.split(':') {
                let Some((program, args)) = command_for(entry, url) else {
                    continue;
                };
                match std::process::Command::new(&program)
                    .args(&args)
                    .stdin(std::process::Stdio::null())
                    .spawn()
                {
                    Ok(mut child) => {
                        // Reap the child whenever it exits; its exit status does not matter.
                        std::thread::spawn(move || child.wait());
                        return Ok(());
                    }
                    Err(e) => last_err = format!("{program}: {e}"),
                }
            }
            return Err(Error::Browser(format!(
                "no command in $BROWSER could be started ({last_err})"
            )));
        }
        let url = url.to_string();
        tokio::task::spawn_blocking(move || webbrowser::open(&url))
            .await
            .map_err(|e| Error::Browser(e.to_string()))?
            .map_err(|e| Error::Browser(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_entries_substitute_or_append_the_url() {
        assert_eq!(
            command_for("firefox --new-window", "http://x/"),
            Some((
                "firefox".into(),
                vec!["--new-window".into(), "http://x/".into()]
            ))
        );
        assert_eq!(
            command_for("open -a %s", "http://x/"),
            Some(("open".into(), vec!["-a".into(), "http://x/".into()]))
        );
        assert_eq!(command_for("  ", "u"), None);
    }
}
