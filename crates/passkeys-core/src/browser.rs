//! Opening the system browser for sign-in (RFC 8252 §4: native apps use an external user-agent).
//!
//! [`SystemBrowser`] honours `$BROWSER` as other command-line tools do (see [`browser_commands`]
//! for the exact rules, drawn from xdg-utils and Python's `webbrowser`): a list of commands tried
//! in order, separated by `:` on Unix and `;` on Windows; `%s` in a command is replaced by the
//! URL, otherwise the URL is appended as the last argument. Without `$BROWSER`, the platform's
//! default browser is used (the `webbrowser` crate, built with its `hardened` feature: http(s)
//! only).
//!
//! Whatever the caller checked, [`SystemBrowser`] hands a browser only the re-serialised form of
//! an `https`/`http` URL ([`crate::links::web_url`]): never a file, a script URL or something
//! that starts with `-` and would be read as a command-line flag (issue 12, item 1). The URL is
//! always one argument of its own; no shell is involved.

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

/// The separator between commands in `$BROWSER`: `;` on Windows, where `:` is part of paths
/// (`C:\...`) and `;` separates `PATH`, as Python's `webbrowser` does (`os.pathsep`); `:` on
/// Unix (xdg-utils, Python, `man 1 sensible-browser`).
pub const LIST_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

/// The commands in a `$BROWSER` value, each as program and arguments, in the order to try them.
///
/// The rules, and why:
/// - entries are separated by [`LIST_SEPARATOR`]; empty entries are skipped;
/// - an entry that names an existing file (`is_file`), or has no blank in it, is the program
///   itself, so `/opt/My Browser/browser` or `C:\Program Files\Mozilla Firefox\firefox.exe`
///   works unquoted (Python's `webbrowser` takes a whole entry as the program name);
/// - otherwise the entry is split into words like a command line: on Unix with POSIX shell
///   quoting (`'…'`, `"…"`, `\`; Python's `shlex.split`, used by its `webbrowser` for entries
///   with `%s`), on Windows with double quotes only (backslashes are path separators there), so
///   `firefox --new-window` and `"C:\Program Files\X\x.exe" --new %s` both work. xdg-utils
///   splits on blanks without quoting; every unquoted entry it accepts is read the same way
///   here. An entry with an unbalanced quote is skipped;
/// - a trailing `&` (Python's "run in the background") is dropped: the browser is never waited
///   for anyway;
/// - `%s` in an argument is replaced by the URL; without one the URL is appended (both
///   xdg-utils and Python).
pub fn browser_commands(
    value: &str,
    windows: bool,
    is_file: &dyn Fn(&str) -> bool,
) -> Vec<Vec<String>> {
    let separator = if windows { ';' } else { ':' };
    value
        .split(separator)
        .filter_map(|entry| {
            let mut entry = entry.trim();
            if let Some(rest) = entry.strip_suffix('&') {
                entry = rest.trim_end();
            }
            if entry.is_empty() {
                return None;
            }
            if !entry.contains(char::is_whitespace) || is_file(entry) {
                return Some(vec![entry.to_string()]);
            }
            let words = if windows {
                split_windows(entry)
            } else {
                split_posix(entry)
            }?;
            (!words.is_empty()).then_some(words)
        })
        .collect()
}

/// POSIX shell word splitting without expansions: blanks separate words; `'…'` is literal;
/// in `"…"` a backslash escapes `"`, `\`, `$` and `` ` ``; elsewhere a backslash escapes the next
/// character. `None` for an unbalanced quote or a trailing backslash.
fn split_posix(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        x => word.push(x),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            x @ ('"' | '\\' | '$' | '`') => word.push(x),
                            x => {
                                word.push('\\');
                                word.push(x);
                            }
                        },
                        x => word.push(x),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Windows command-line splitting, simplified: blanks separate words except inside `"…"`;
/// quotes are removed; backslashes are literal (they are path separators). `None` for an
/// unbalanced quote.
fn split_windows(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if quoted {
        return None;
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Program and arguments for one command of [`browser_commands`] and `url`: `%s` substituted
/// in the arguments, or the URL appended.
fn command_for(words: &[String], url: &str) -> Option<(String, Vec<String>)> {
    let (program, rest) = words.split_first()?;
    let mut args: Vec<String> = rest.to_vec();
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
    Some((program.clone(), args))
}

#[async_trait]
impl Browser for SystemBrowser {
    async fn open(&self, url: &str) -> Result<()> {
        let Some(url) = crate::links::web_url(url) else {
            return Err(Error::Browser(
                "refused to hand the browser something that is not an https or http address".into(),
            ));
        };
        if let Some(list) = std::env::var_os("BROWSER").filter(|v| !v.is_empty()) {
            let list = list.to_string_lossy().to_string();
            let mut last_err = String::from("$BROWSER has no command in it");
            let is_file = |p: &str| std::path::Path::new(p).is_file();
            for words in browser_commands(&list, cfg!(windows), &is_file) {
                let Some((program, args)) = command_for(&words, &url) else {
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
        tokio::task::spawn_blocking(move || webbrowser::open(&url))
            .await
            .map_err(|e| Error::Browser(e.to_string()))?
            .map_err(|e| Error::Browser(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(value: &str, windows: bool) -> Vec<Vec<String>> {
        browser_commands(value, windows, &|p: &str| {
            p == "/opt/My Browser/browser" || p == r"C:\Program Files\Mozilla Firefox\firefox.exe"
        })
    }

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn browser_entries_substitute_or_append_the_url() {
        let c = |entry: &str| command_for(&cmds(entry, false)[0], "http://x/");
        assert_eq!(
            c("firefox --new-window"),
            Some((
                "firefox".into(),
                vec!["--new-window".into(), "http://x/".into()]
            ))
        );
        assert_eq!(
            c("open -a %s"),
            Some(("open".into(), vec!["-a".into(), "http://x/".into()]))
        );
        assert_eq!(
            c("w3m --url=%s --x"),
            Some(("w3m".into(), vec!["--url=http://x/".into(), "--x".into()]))
        );
        assert!(cmds("  ", false).is_empty());
    }

    #[test]
    fn unix_browser_is_a_colon_separated_list_with_shell_quoting() {
        assert_eq!(
            cmds("firefox:chromium --new-window %s::lynx", false),
            vec![
                v(&["firefox"]),
                v(&["chromium", "--new-window", "%s"]),
                v(&["lynx"])
            ]
        );
        // A path with blanks: quoted, escaped, or naming an existing file as it stands.
        assert_eq!(
            cmds("'/opt/My Browser/browser' --new %s", false),
            vec![v(&["/opt/My Browser/browser", "--new", "%s"])]
        );
        assert_eq!(
            cmds(r#"/opt/My\ Browser/browser:"/opt/Other One/b" -x"#, false),
            vec![
                v(&["/opt/My Browser/browser"]),
                v(&["/opt/Other One/b", "-x"])
            ]
        );
        assert_eq!(
            cmds("/opt/My Browser/browser", false),
            vec![v(&["/opt/My Browser/browser"])]
        );
        // Python's background marker; an unbalanced quote skips only its own entry.
        assert_eq!(cmds("firefox %s &", false), vec![v(&["firefox", "%s"])]);
        assert_eq!(cmds("'broken %s:lynx", false), vec![v(&["lynx"])]);
    }

    #[test]
    fn windows_browser_is_a_semicolon_list_and_keeps_drive_letters_and_backslashes() {
        assert_eq!(
            cmds(r"C:\Program Files\Mozilla Firefox\firefox.exe;msedge", true),
            vec![
                v(&[r"C:\Program Files\Mozilla Firefox\firefox.exe"]),
                v(&["msedge"])
            ]
        );
        assert_eq!(
            cmds(r#""C:\Program Files\X\x.exe" --new-tab %s"#, true),
            vec![v(&[r"C:\Program Files\X\x.exe", "--new-tab", "%s"])]
        );
        assert_eq!(
            cmds(r"C:\Tools\browser.exe", true),
            vec![v(&[r"C:\Tools\browser.exe"])]
        );
    }

    /// Issue 12, item 13: a `$BROWSER` program in a directory with a space in its name, unquoted
    /// (the whole entry names a file) and quoted with arguments, gets the URL as one argument.
    #[cfg(unix)]
    #[tokio::test]
    async fn browser_program_in_a_path_with_spaces_is_started_with_the_url() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("My Browser");
        std::fs::create_dir(&bin).unwrap();
        let program = bin.join("open url");
        let log = dir.path().join("opened");
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\nprintf '%s|' \"$@\" >> '{}'\necho >> '{}'\n",
                log.display(),
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let program = program.to_str().unwrap().to_string();
        let url = "https://a.example/x?y=1&z=2";
        let wait_for = |lines: usize| {
            let log = log.clone();
            async move {
                for _ in 0..200 {
                    if let Ok(text) = std::fs::read_to_string(&log) {
                        if text.lines().count() >= lines {
                            return text;
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                panic!("the browser command did not run");
            }
        };
        // Only this test sets $BROWSER; the other test of SystemBrowser never reads it.
        std::env::set_var("BROWSER", format!("{program}:/nonexistent/second"));
        SystemBrowser.open(url).await.unwrap();
        assert_eq!(wait_for(1).await, format!("{url}|\n"));
        std::env::set_var("BROWSER", format!("'{program}' --new-tab=%s --x"));
        SystemBrowser.open(url).await.unwrap();
        let text = wait_for(2).await;
        assert_eq!(
            text.lines().nth(1).unwrap(),
            format!("--new-tab={url}|--x|")
        );
        std::env::remove_var("BROWSER");
    }

    #[tokio::test]
    async fn the_system_browser_refuses_anything_but_web_urls() {
        for bad in [
            "--renderer-cmd-prefix=/bin/sh -c id",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "smb://x/y",
        ] {
            let e = SystemBrowser.open(bad).await.unwrap_err();
            assert_eq!(e.code(), "browser_failed", "{bad}");
        }
    }
}
