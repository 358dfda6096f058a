//! End-to-end in a real window: the app under tauri-driver + WebKitWebDriver, driven through its
//! UI against the demo sandbox (sign in, add two passkeys, remove one, link for another device,
//! sign out) and a failure path (the sandbox rejects the verification once).
//!
//! Skipped unless `PASSKEY_ENROLL_E2E=1`; scripts/test.d/20-e2e.sh starts Xvfb and tauri-driver
//! and runs it. `TAURI_DRIVER_URL` (default `http://127.0.0.1:4444`) and `PASSKEY_ENROLL_BIN`
//! (default: the binary Cargo built for this test) can be overridden. A screenshot of each step
//! is saved under `target/e2e-screenshots/`. Synchronisation is by polling DOM conditions with a
//! deadline, never by sleeping a fixed time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// The practice security key's dialogs and errors (demo).
#[path = "e2e_practice/mod.rs"]
mod practice;

/// The Security keys page over the practice key (issue 15 part 2).
#[path = "e2e_keys/mod.rs"]
mod keys;

/// tauri-driver runs one app at a time: the tests take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const DEADLINE: Duration = Duration::from_secs(30);
/// WebDriver's Enter key.
const ENTER: &str = "\u{E007}";

fn enabled() -> bool {
    if std::env::var("PASSKEY_ENROLL_E2E").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("skipped: set PASSKEY_ENROLL_E2E=1 and start Xvfb + tauri-driver (scripts/test.d/20-e2e.sh does both)");
    false
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Ui {
    c: Client,
}

/// A JS condition: `css` is enabled, shown, and where it was at the previous poll (100 ms
/// before). WebDriver clicks at the element's centre as found a moment earlier: an element
/// still moving (a list above it rendering its first answer) takes the click somewhere else.
fn clickable(css: &str) -> String {
    // Positions are remembered per wait (its own map), never from an earlier wait.
    static WAITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WAITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "(() => {{ const e = document.querySelector({css:?}); \
         if (!e || e.disabled || e.offsetParent === null) return false; \
         const r = e.getBoundingClientRect(); const at = [r.x, r.y, r.width, r.height].join(); \
         const seen = ((window.__e2eAt ??= {{}})[{n}] ??= new WeakMap()); \
         const still = seen.get(e) === at; seen.set(e, at); return still; }})()"
    )
}

impl Ui {
    async fn launch(args: &[&str]) -> Ui {
        let app = std::env::var("PASSKEY_ENROLL_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_passkey-enroll").to_string());
        let url = std::env::var("TAURI_DRIVER_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:4444".to_string());
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert(
            "tauri:options".into(),
            json!({"application": app, "args": args}),
        );
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .unwrap_or_else(|e| {
                panic!("cannot start a session at {url} (is tauri-driver running?): {e}")
            });
        Ui { c }
    }

    async fn js(&self, script: &str) -> Value {
        self.c.execute(script, vec![]).await.unwrap()
    }

    /// Polls `condition` (a JS expression) until it is true; fails with a screenshot after
    /// [`DEADLINE`].
    async fn wait(&self, what: &str, condition: &str) {
        let script = format!("return Boolean({condition});");
        let start = Instant::now();
        loop {
            if let Ok(Value::Bool(true)) = self.c.execute(&script, vec![]).await {
                return;
            }
            if start.elapsed() > DEADLINE {
                let name = format!("timeout-{}", what.replace(' ', "-"));
                self.shot(&name).await;
                let text = self.js("return document.body.innerText;").await;
                let errors = self
                    .js("return [...document.querySelectorAll('.error:not([hidden])')].map(e => e.textContent).join(' | ');")
                    .await;
                panic!("timed out waiting for {what} ({condition}); screenshot {name}.png; errors: {errors}; page text:\n{text}");
            }
            // Yield between polls; the deadline above bounds the loop.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn view(&self, view: &str) {
        self.wait(
            &format!("view {view}"),
            &format!("document.body.dataset.view === '{view}' && !document.getElementById('view-{view}').hidden"),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        self.wait(&format!("clickable {css}"), &clickable(css))
            .await;
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.js(&format!(
            "return document.querySelector({css:?}).textContent;"
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Saves a PNG of the window, after two animation frames so the paint is current (a
    /// screenshot right after a DOM change can show the previous paint).
    async fn shot(&self, name: &str) {
        let _ = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await;
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
    }

    async fn passkey_count(&self, state: &str) -> u64 {
        self.js(&format!(
            "return document.querySelectorAll('#passkey-list li.passkey.{state}').length;"
        ))
        .await
        .as_u64()
        .unwrap()
    }

    /// Start → demo → signed in, on the passkeys page.
    async fn demo_sign_in(&self, prefix: &str) {
        self.view("start").await;
        self.wait(
            "demo button",
            "document.getElementById('btn-demo').textContent.length > 0",
        )
        .await;
        self.shot(&format!("{prefix}01-start")).await;
        self.click("#btn-demo").await;
        self.view("signin").await;
        self.wait(
            "demo banner",
            "!document.getElementById('demo-banner').hidden",
        )
        .await;
        self.shot(&format!("{prefix}02-sign-in")).await;
        self.click("#btn-signin").await;
        self.view("passkeys").await;
        self.wait(
            "signed-in header",
            "document.getElementById('who-name').textContent.length > 0",
        )
        .await;
    }

    /// Runs the wizard from its first step; `name` replaces the suggested name.
    async fn wizard_to_create(&self, prefix: &str, name: Option<&str>) {
        self.wait("wizard: choose", "document.getElementById('view-wizard').dataset.step === 'choose' && document.getElementById('auth-software')").await;
        self.shot(&format!("{prefix}-choose")).await;
        self.click("#wiz-choose-next").await;
        self.wait(
            "wizard: name prefilled",
            "document.getElementById('view-wizard').dataset.step === 'name' && document.getElementById('passkey-name').value.startsWith('Software authenticator ')",
        )
        .await;
        // Keyboard: the name field has focus, Enter submits.
        assert_eq!(
            self.js("return document.activeElement.id;").await,
            json!("passkey-name")
        );
        let field = self.c.active_element().await.unwrap();
        if let Some(name) = name {
            field.clear().await.unwrap();
            field.send_keys(name).await.unwrap();
        }
        self.shot(&format!("{prefix}-name")).await;
        field.send_keys(ENTER).await.unwrap();
    }
}

/// Launches the app with `args`, runs `scenario`, and always ends the WebDriver session (a
/// failed test must not leave its app running for the next one).
fn run<F, Fut>(args: &'static [&'static str], scenario: F)
where
    F: FnOnce(Ui) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let ui = Ui::launch(args).await;
            let client = ui.c.clone();
            let result = tokio::spawn(scenario(ui)).await;
            let _ = client.close().await;
            if let Err(e) = result {
                std::panic::resume_unwind(e.into_panic());
            }
        });
}

#[test]
fn demo_enrollment_through_the_window() {
    if !enabled() {
        return;
    }
    run(&[], |ui| async move {
        // The About line: the version and the program under test (in scripts/test.d/
        // 40-package.sh the installed /usr/bin/passkey-enroll).
        let bin = std::env::var("PASSKEY_ENROLL_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_passkey-enroll").to_string());
        let bin = std::fs::canonicalize(&bin).unwrap().display().to_string();
        ui.wait(
            "the About line",
            &format!(
                "document.getElementById('version').textContent === {}",
                json!(format!(
                    "Version {}, installed at {bin}",
                    env!("CARGO_PKG_VERSION")
                ))
            ),
        )
        .await;
        // The instance form's advanced settings (issue 14: passkey API, login domain).
        ui.view("start").await;
        ui.click("#instance-advanced summary").await;
        ui.wait(
            "advanced settings open",
            "document.getElementById('instance-advanced').open",
        )
        .await;
        ui.js("document.getElementById('instance-advanced').scrollIntoView({block: 'center'}); return null;")
            .await;
        assert!(ui.text("#instance-advanced").await.contains("Login domain"));
        ui.shot("01b-start-advanced").await;
        ui.click("#instance-advanced summary").await;
        ui.wait(
            "advanced settings closed",
            "!document.getElementById('instance-advanced').open",
        )
        .await;
        ui.js("window.scrollTo(0, 0); return null;").await;
        ui.demo_sign_in("").await;
        ui.wait(
            "empty state",
            "!document.getElementById('passkeys-empty').hidden",
        )
        .await;
        assert!(ui.text("#who-login").await.contains("demo"));
        ui.shot("03-passkeys-empty").await;

        // First passkey, named by the person.
        ui.click("#btn-add-first").await;
        ui.wizard_to_create("04-wizard", Some("Laptop key")).await;
        ui.wait(
            "wizard: done",
            "document.getElementById('view-wizard').dataset.step === 'done'",
        )
        .await;
        assert!(ui.text("#wiz-done-title").await.contains("Laptop key"));
        // On the Auth API v1 ZITADEL chooses the RP ID.
        assert!(ui
            .text("#progress-list")
            .await
            .contains("will be for localhost, the domain ZITADEL chose"));
        // The self-test signed in once with the new passkey.
        assert!(ui
            .text("#wiz-selftest")
            .await
            .contains("signature was verified"));
        assert_eq!(
            ui.js("return document.querySelectorAll('#progress-list li.done').length;")
                .await,
            json!(5)
        );
        ui.shot("05-wizard-done").await;

        // The backup offer, with the suggested name.
        ui.click("#wiz-backup").await;
        ui.wait(
            "backup wizard",
            "document.getElementById('wizard-title').textContent.includes('backup')",
        )
        .await;
        ui.wizard_to_create("06-backup", None).await;
        ui.wait(
            "backup done",
            "document.getElementById('view-wizard').dataset.step === 'done'",
        )
        .await;
        ui.shot("07-backup-done").await;
        ui.click("#wiz-finish").await;
        ui.view("passkeys").await;
        ui.wait(
            "two passkeys",
            "document.querySelectorAll('#passkey-list li.passkey.ready').length === 2",
        )
        .await;
        // Both were added here: the model is shown, not "enrolled elsewhere".
        assert!(ui
            .text("#passkey-list li[data-name='Laptop key'] .know-model")
            .await
            .contains("added from this computer"));
        ui.shot("08-two-passkeys").await;

        // Know your passkeys: which authenticator holds it, and a self-test on demand.
        ui.click("#passkey-list li[data-name='Laptop key'] button.know-which")
            .await;
        ui.wait(
            "which: found",
            "(document.querySelector(\"#passkey-list li[data-name='Laptop key'] .know-status\") || {}).textContent.includes('It is on this demo')",
        )
        .await;
        ui.click("#passkey-list li[data-name='Laptop key'] button.know-test")
            .await;
        ui.wait(
            "test: passed",
            "(document.querySelector(\"#passkey-list li[data-name='Laptop key'] .know-status\") || {}).textContent.includes('It works')",
        )
        .await;
        assert_eq!(
            ui.js("return document.querySelector(\"#passkey-list li[data-name='Laptop key'] .know-status\").dataset.outcome;")
                .await,
            json!("ok")
        );
        ui.shot("08b-passkey-tested").await;

        // Remove the first one: the confirmation names it.
        ui.click("#passkey-list li[data-name='Laptop key'] button.danger-quiet")
            .await;
        ui.wait(
            "confirmation",
            "document.getElementById('confirm-dialog').open",
        )
        .await;
        assert!(ui.text("#confirm-title").await.contains("Laptop key"));
        ui.shot("09-confirm-remove").await;
        ui.click("#confirm-ok").await;
        ui.wait(
            "one passkey left",
            "document.querySelectorAll('#passkey-list li.passkey').length === 1 && !document.querySelector(\"#passkey-list li[data-name='Laptop key']\")",
        )
        .await;
        assert!(ui.text("#passkeys-status").await.contains("Laptop key"));
        assert_eq!(ui.passkey_count("ready").await, 1);
        ui.shot("10-after-remove").await;

        // Another device: QR code and link.
        ui.click("#btn-link").await;
        ui.view("link").await;
        ui.wait(
            "QR code",
            "!document.getElementById('link-box').hidden && document.getElementById('link-qr').naturalWidth > 0",
        )
        .await;
        let link = ui
            .js("return document.getElementById('link-url').value;")
            .await;
        assert!(
            link.as_str().unwrap().starts_with("http://localhost:"),
            "{link}"
        );
        ui.shot("11-another-device").await;
        ui.click("#btn-link-done").await;
        ui.view("passkeys").await;

        // Diagnostics: what happened, nothing secret.
        ui.click("#btn-diagnostics").await;
        ui.view("diagnostics").await;
        let log = ui
            .js("return document.getElementById('diag-log').value;")
            .await;
        let log = log.as_str().unwrap();
        assert!(log.contains("signed in to http://localhost:"), "{log}");
        assert!(log.contains("passkey \"Laptop key\" added"), "{log}");
        assert!(!log.contains("Bearer ey"), "{log}");
        ui.shot("12-diagnostics").await;
        ui.click("#btn-diag-back").await;
        ui.view("passkeys").await;

        ui.click("#btn-signout").await;
        ui.view("signin").await;
    });
}

/// A ZITADEL without the Auth API v1 (issue 14; `--demo-without-v1`, test only): the wizard
/// adds the passkey through User service v2, and the diagnostics say which API is in use.
#[test]
fn demo_enrollment_without_auth_api_v1() {
    if !enabled() {
        return;
    }
    run(&["--demo-without-v1"], |ui| async move {
        ui.demo_sign_in("v2-").await;
        ui.wait(
            "empty state",
            "!document.getElementById('passkeys-empty').hidden",
        )
        .await;
        ui.click("#btn-add-first").await;
        ui.wizard_to_create("v2-03-wizard", Some("Key on v2")).await;
        ui.wait(
            "wizard: done",
            "document.getElementById('view-wizard').dataset.step === 'done'",
        )
        .await;
        assert!(ui.text("#wiz-done-title").await.contains("Key on v2"));
        assert!(ui
            .text("#progress-list")
            .await
            .contains("will be for localhost, the instance’s domain or the login domain"));
        ui.shot("v2-04-wizard-done").await;
        ui.click("#wiz-finish").await;
        ui.view("passkeys").await;
        ui.wait(
            "one passkey",
            "document.querySelectorAll(\"#passkey-list li.passkey.ready[data-name='Key on v2']\").length === 1",
        )
        .await;
        // The list says what it cannot show on User service v2.
        ui.wait(
            "the v2 note",
            "!document.getElementById('passkeys-v2-note').hidden",
        )
        .await;
        assert!(ui
            .text("#passkeys-v2-note")
            .await
            .contains("finished passkeys only"));
        ui.shot("v2-05-passkeys").await;
        ui.click("#btn-diagnostics").await;
        ui.view("diagnostics").await;
        let log = ui
            .js("return document.getElementById('diag-log').value;")
            .await;
        let log = log.as_str().unwrap();
        assert!(
            log.contains("Passkey API: User service v2 (Connect)"),
            "{log}"
        );
        ui.shot("v2-06-diagnostics").await;
    });
}

#[test]
fn rejected_verification_is_reported_and_can_be_cleaned_up() {
    if !enabled() {
        return;
    }
    run(&["--demo-fault=verify-rejected"], |ui| async move {
        ui.demo_sign_in("fail-").await;
        ui.click("#btn-add-first").await;
        ui.wizard_to_create("fail-03-wizard", Some("Rejected key"))
            .await;
        ui.wait(
            "wizard: error",
            "document.getElementById('view-wizard').dataset.step === 'error'",
        )
        .await;
        assert_eq!(
            ui.js("return document.getElementById('wiz-error-box').dataset.code;")
                .await,
            json!("not_registered")
        );
        assert!(ui.text("#wiz-error-box").await.contains("rejected"));
        assert_eq!(
            ui.js("return document.querySelector('#progress-list li.failed').dataset.step;")
                .await,
            json!("registering")
        );
        ui.shot("fail-04-wizard-error").await;

        // Back to the list: the unfinished registration is shown as such, and can be cleaned up.
        ui.click("#wiz-error-close").await;
        ui.view("passkeys").await;
        ui.wait(
            "list loaded",
            "document.getElementById('view-passkeys').getAttribute('aria-busy') === null",
        )
        .await;
        if ui.passkey_count("not-ready").await > 0 {
            ui.shot("fail-05-unfinished").await;
            ui.click("#passkey-list li.passkey.not-ready button").await;
            ui.wait(
                "confirmation",
                "document.getElementById('confirm-dialog').open",
            )
            .await;
            ui.click("#confirm-ok").await;
            ui.wait(
                "cleaned up",
                "document.querySelectorAll('#passkey-list li.passkey.not-ready').length === 0",
            )
            .await;
        }

        // The fault fired once: trying again works.
        ui.click("#btn-add-first").await;
        ui.wizard_to_create("fail-06-retry", None).await;
        ui.wait(
            "retry done",
            "document.getElementById('view-wizard').dataset.step === 'done'",
        )
        .await;
        ui.click("#wiz-finish").await;
        ui.wait(
            "one ready passkey",
            "document.querySelectorAll('#passkey-list li.passkey.ready').length === 1",
        )
        .await;
        ui.shot("fail-07-recovered").await;
    });
}

/// The platform choice ("this computer or phone"): its one-sentence explanation, the
/// registration link with its QR code while the app waits, and the passkey a (simulated, in demo
/// mode) phone registered through the link.
#[test]
fn demo_platform_through_the_registration_link() {
    if !enabled() {
        return;
    }
    run(&[], |ui| async move {
        ui.demo_sign_in("platform-").await;
        ui.click("#btn-add-first").await;
        ui.wait(
            "wizard: platform choice",
            "document.getElementById('view-wizard').dataset.step === 'choose' && document.getElementById('auth-platform') && document.getElementById('auth-practice')",
        )
        .await;
        assert!(ui
            .text("#auth-platform-hint")
            .await
            .contains("opens a registration link in your browser"));
        // Keyboard: the software authenticator is focused first; arrow down picks the platform.
        // (The chooser is re-rendered when the list of keys changes: the focused radio is found
        // again then.)
        for _ in 0..20 {
            let first = ui.c.active_element().await.unwrap();
            match first.send_keys("\u{E015}").await {
                Ok(()) => break,
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference => {}
                Err(e) => panic!("arrow down: {e}"),
            }
        }
        ui.wait(
            "platform picked",
            "document.getElementById('auth-platform').checked",
        )
        .await;
        ui.shot("platform-03-choose").await;
        ui.click("#wiz-choose-next").await;
        ui.wait(
            "registration link shown",
            "document.getElementById('platform-url').value.startsWith('http://localhost:')",
        )
        .await;
        ui.shot("platform-04-waiting").await;
        ui.wait(
            "wizard: done",
            "document.getElementById('view-wizard').dataset.step === 'done'",
        )
        .await;
        assert!(ui.text("#wiz-done-title").await.contains("Phone (demo)"));
        assert!(ui
            .js("return document.getElementById('wiz-progress-card').hidden;")
            .await
            .as_bool()
            .unwrap());
        ui.shot("platform-05-done").await;
        ui.click("#wiz-finish").await;
        ui.view("passkeys").await;
        // The list is read again on the way back: wait for it, not for the view.
        ui.wait(
            "the new passkey listed",
            "document.querySelectorAll('#passkey-list li.passkey.ready').length === 1",
        )
        .await;
    });
}

/// The Security keys page with no key attached (as on CI): opened from the header, it shows the
/// "insert a security key" empty state while it keeps looking, and Back returns to the passkeys.
#[test]
fn security_keys_page_without_a_key() {
    if !enabled() {
        return;
    }
    run(&[], |ui| async move {
        ui.demo_sign_in("keys-").await;
        ui.click("#btn-keys").await;
        ui.view("keys").await;
        // The demo's practice key is the only key here: seen, then pulled out, the page has none.
        ui.wait(
            "keys: the practice key",
            "!document.getElementById('key-panel').hidden && document.getElementById('key-info').textContent.includes('Practice')",
        )
        .await;
        ui.practice_plug("keys", false).await;
        ui.wait(
            "keys: empty state",
            "!document.getElementById('keys-empty').hidden && document.getElementById('key-panel').hidden",
        )
        .await;
        assert_eq!(
            ui.text("#keys-empty h2").await,
            "Insert a security key",
            "the empty state's title"
        );
        assert!(ui.text("#keys-empty").await.contains("udev"));
        // What stops this machine's keys (device_access, the same probe as here): e.g. on CI
        // "pcscd is installed but not running" or "not installed", with what to run.
        for problem in passkeys_ctap::discovery::access_problems() {
            ui.wait(
                "keys: the device access problem",
                &format!(
                    "document.getElementById('keys-empty-hint').textContent.includes({})",
                    json!(problem.message())
                ),
            )
            .await;
        }
        // The other views are hidden.
        assert_eq!(
            ui.js("return [...document.querySelectorAll('main > section.view')].filter(v => !v.hidden).map(v => v.id);")
                .await,
            json!(["view-keys"])
        );
        ui.shot("keys-03-empty").await;
        ui.click("#btn-keys-back").await;
        ui.view("passkeys").await;
        assert!(ui
            .js("return document.getElementById('view-keys').hidden;")
            .await
            .as_bool()
            .unwrap());
        // From the footer too, and another view hides the page again (Diagnostics; ui/lib/router.js).
        ui.click("#btn-keys-footer").await;
        ui.view("keys").await;
        ui.click("#btn-diagnostics").await;
        ui.view("diagnostics").await;
        assert!(ui
            .js("return document.getElementById('view-keys').hidden;")
            .await
            .as_bool()
            .unwrap());
    });
}
