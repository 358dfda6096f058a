//! The Security keys page in the real window over the demo's practice security key (issue 15):
//! the key's info, its stored passkeys by site with the can't-tell, known and orphan marks (the
//! orphan: a passkey removed from ZITADEL in the passkeys list stays on the key), "N of M
//! stored", search, details, deleting one (named confirmation), one PIN prompt for a sequence of
//! operations in one visit (counted), asked again after leaving the page, changing the PIN, and
//! the reset with the re-insert simulated by the practice key's Remove / Insert. Screenshots
//! `keys-NN-…`.
//!
//! The policy switches (CTAP 2.1 authenticatorConfig, which the practice key's firmware,
//! Trussed fido-authenticator 0.4, has): always require UV turned on, and the minimum PIN length
//! raised after the irreversibility warning, past the current PIN's length, so the key demands
//! a new PIN (forcePINChange) and the PIN change follows; both in the visit's one PIN prompt.
//!
//! A key holds one discoverable passkey per site and account (CTAP 2.1 overwrites it), so the
//! demo's one account shows one at a time.

use serde_json::json;

use super::{enabled, run, Ui, ENTER};

const PIN: &str = "135790";
/// Eight digits: the minimum PIN length is raised to 8 before the PIN is changed.
const NEW_PIN: &str = "86420097";

impl Ui {
    /// Counts every time the PIN dialog opens from now on (`window.__pinPrompts`).
    async fn count_pin_prompts(&self) {
        self.js(
            "window.__pinPrompts = 0; const d = document.getElementById('pin-dialog');
             new MutationObserver(() => { if (d.open && !d.__counted) { d.__counted = true; window.__pinPrompts += 1; } if (!d.open) d.__counted = false; })
               .observe(d, { attributes: true, attributeFilter: ['open'] }); return true;",
        )
        .await;
    }

    async fn pin_prompts(&self) -> u64 {
        self.js("return window.__pinPrompts;")
            .await
            .as_u64()
            .unwrap()
    }

    /// Waits for the PIN dialog, types `pin` (twice when a new one is chosen) and presses OK.
    async fn keys_answer_pin(&self, pin: &str) {
        self.wait("PIN dialog", "document.getElementById('pin-dialog').open")
            .await;
        self.answer_pin(pin).await;
    }

    /// The wizard on `choice` (`#auth-…`) named `name`, answering PINs with `pin` and touching the
    /// practice key until it ends; returns the final step (`done` or `error`).
    async fn keys_enroll(&self, choice: &str, name: &str, pin: &str) -> String {
        self.wait(
            "wizard: choose",
            &format!("document.getElementById('view-wizard').dataset.step === 'choose' && document.querySelector('{choice}')"),
        )
        .await;
        self.click(choice).await;
        self.click("#wiz-choose-next").await;
        self.wait(
            "wizard: name",
            "document.getElementById('view-wizard').dataset.step === 'name' && document.getElementById('passkey-name').value.length > 0",
        )
        .await;
        let field = self.c.active_element().await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(name).await.unwrap();
        field.send_keys(ENTER).await.unwrap();
        let step = "document.getElementById('view-wizard').dataset.step";
        loop {
            self.wait(
                "wizard: a PIN, a touch or the end",
                &format!("{step} === 'done' || {step} === 'error' || document.getElementById('pin-dialog').open || document.getElementById('wiz-practice').dataset.state === 'waiting'"),
            )
            .await;
            let now = self.js(&format!("return {step};")).await;
            if now == json!("done") || now == json!("error") {
                return now.as_str().unwrap().to_string();
            }
            if self
                .js("return document.getElementById('pin-dialog').open;")
                .await
                == json!(true)
            {
                self.keys_answer_pin(pin).await;
            } else {
                self.click("#wiz-practice-touch").await;
                self.wait(
                    "the touch is taken",
                    "document.getElementById('wiz-practice').dataset.state !== 'waiting'",
                )
                .await;
            }
        }
    }

    async fn keys_add_button(&self) {
        self.wait(
            "passkeys listed",
            "document.getElementById('view-passkeys').getAttribute('aria-busy') === null && !document.getElementById('view-passkeys').hidden",
        )
        .await;
        let first = self
            .js("return document.getElementById('btn-add-first').offsetParent !== null;")
            .await
            == json!(true);
        self.click(if first { "#btn-add-first" } else { "#btn-add" })
            .await;
    }

    /// Shows the stored passkeys (answering the PIN with `pin` if asked) and waits for the list.
    async fn keys_show_stored(&self, pin: &str) {
        // Cleared first, so the wait below cannot see the previous list.
        self.js("document.getElementById('key-creds').replaceChildren(); return true;")
            .await;
        self.click("#key-creds-show").await;
        self.wait(
            "stored passkeys or a PIN dialog",
            "document.getElementById('pin-dialog').open || (document.getElementById('keys-op').hidden && document.querySelector('#key-creds .site, #key-creds p'))",
        )
        .await;
        if self
            .js("return document.getElementById('pin-dialog').open;")
            .await
            == json!(true)
        {
            self.keys_answer_pin(pin).await;
        }
        self.wait(
            "stored passkeys listed",
            "document.getElementById('keys-op').hidden && document.querySelector('#key-creds .site, #key-creds p')",
        )
        .await;
    }

    /// Scrolls `css` to the top of the window, then takes the screenshot `name`.
    async fn shot_of(&self, css: &str, name: &str) {
        self.js(&format!(
            "document.querySelector({css:?}).scrollIntoView({{ block: 'start' }}); return true;"
        ))
        .await;
        self.shot(name).await;
    }

    /// The stored passkeys' marks (`data-standing` of each row), sorted.
    async fn marks(&self) -> serde_json::Value {
        self.js("return [...document.querySelectorAll('#key-creds li.cred')].map(l => l.dataset.standing).sort();")
            .await
    }

    /// Opens the Security keys page and waits for the practice key's info.
    async fn keys_page(&self) {
        self.click("#btn-keys").await;
        self.view("keys").await;
        self.wait(
            "key info",
            "!document.getElementById('key-panel').hidden && document.getElementById('key-info').textContent.includes('Practice')",
        )
        .await;
    }
}

#[test]
fn security_keys_page_on_the_practice_key() {
    if !enabled() {
        return;
    }
    // The first verification is rejected once: that passkey stays on the key, unknown to the
    // account and to this app ("can't tell").
    run(&["--demo-fault=verify-rejected"], |ui| async move {
        ui.demo_sign_in("keys-").await;
        ui.keys_add_button().await;
        let end = ui
            .keys_enroll("#auth-practice", "Never registered", PIN)
            .await;
        assert_eq!(end, "error");
        ui.click("#wiz-error-close").await;
        ui.view("passkeys").await;

        // Visit 1: info, the stored passkey (can't tell), search, details; one PIN prompt.
        ui.keys_page().await;
        ui.count_pin_prompts().await;
        assert!(ui.text("#key-info").await.contains("USB"));
        assert!(ui.text("#key-pin-rules").await.contains("to 63 characters"));
        assert_eq!(
            ui.js("return document.getElementById('key-policy-card').hidden;")
                .await,
            json!(false),
            "the practice key has authenticatorConfig: the policy switches are shown"
        );
        assert!(ui.text("#key-reset-guide").await.contains("Unplug the key"));
        ui.shot("keys-10-info").await;
        ui.keys_show_stored(PIN).await;
        assert_eq!(ui.pin_prompts().await, 1);
        assert_eq!(ui.marks().await, json!(["unknown"]));
        let slots = ui.text("#key-creds-slots").await;
        assert!(slots.starts_with("1 of "), "{slots}");
        assert!(ui
            .text("#key-creds-card")
            .await
            .contains("cannot be listed"));
        ui.shot_of("#key-creds-card", "keys-11-stored-cant-tell")
            .await;

        let site = ui
            .js("return document.querySelector('#key-creds .site').dataset.rpId;")
            .await;
        let site = site.as_str().unwrap().to_string();
        let search =
            ui.c.find(fantoccini::Locator::Id("key-creds-search"))
                .await
                .unwrap();
        search.send_keys("no-such-site.example").await.unwrap();
        ui.wait(
            "no match",
            "document.getElementById('key-creds-no-match') && !document.querySelector('#key-creds li.cred')",
        )
        .await;
        ui.shot_of("#key-creds-card", "keys-12-search-no-match")
            .await;
        search.clear().await.unwrap();
        search.send_keys(&site).await.unwrap();
        ui.wait(
            "the site matches",
            "document.querySelectorAll('#key-creds li.cred').length === 1",
        )
        .await;
        ui.click("#key-creds li.cred button.link-button").await;
        ui.wait(
            "details",
            "!document.querySelector('#key-creds li.cred .cred-details-box').hidden",
        )
        .await;
        let details = ui.text("#key-creds li.cred .cred-details-box").await;
        let id = ui
            .js("return document.querySelector('#key-creds li.cred').dataset.id;")
            .await;
        assert!(details.contains(id.as_str().unwrap()), "{details}");
        assert!(details.contains(&site), "{details}");
        assert!(details.contains("Cannot tell"), "{details}");
        ui.shot_of("#key-creds .site", "keys-13-details").await;
        ui.js("document.getElementById('key-info').replaceChildren(); return true;")
            .await;
        ui.click("#key-refresh").await;
        ui.wait(
            "info again",
            "document.getElementById('keys-op').hidden && document.getElementById('key-info').children.length > 0",
        )
        .await;
        ui.keys_show_stored(PIN).await;
        assert_eq!(
            ui.pin_prompts().await,
            1,
            "list, info, list again in one visit: one PIN prompt"
        );

        // Registered now (the key overwrites its passkey for this site and account): known.
        ui.click("#btn-keys-back").await;
        ui.view("passkeys").await;
        ui.keys_add_button().await;
        assert_eq!(
            ui.keys_enroll("#auth-practice", "Practice key", PIN).await,
            "done"
        );
        ui.click("#wiz-finish").await;
        ui.view("passkeys").await;

        // Visit 2: the token was forgotten on leaving, so the PIN is asked again.
        ui.keys_page().await;
        ui.count_pin_prompts().await;
        ui.keys_show_stored(PIN).await;
        assert_eq!(
            ui.pin_prompts().await,
            1,
            "asked again after leaving the page"
        );
        assert_eq!(ui.marks().await, json!(["known"]));
        ui.shot_of("#key-creds-card", "keys-14-stored-known").await;

        // Removed from ZITADEL in the passkeys list (the confirmation says it stays on the key):
        // what is left on the key is an orphan now.
        ui.click("#btn-keys-back").await;
        ui.view("passkeys").await;
        ui.click("#passkey-list li[data-name='Practice key'] button.danger-quiet")
            .await;
        ui.wait(
            "remove confirmation",
            "document.getElementById('confirm-dialog').open",
        )
        .await;
        let confirm = ui.text("#confirm-dialog").await;
        assert!(
            confirm.contains("stays stored on your security key"),
            "{confirm}"
        );
        ui.shot("keys-15-remove-in-zitadel").await;
        ui.click("#confirm-ok").await;
        ui.wait(
            "removed in ZITADEL",
            "!document.querySelector(\"#passkey-list li[data-name='Practice key']\") && document.getElementById('passkeys-status').textContent.includes('Practice key')",
        )
        .await;

        // Visit 3: the orphan, deleted by its named confirmation; one PIN prompt for the list,
        // the deletion, the list after it and the policy changes.
        ui.keys_page().await;
        ui.count_pin_prompts().await;
        ui.keys_show_stored(PIN).await;
        assert_eq!(ui.marks().await, json!(["orphan"]));
        assert!(ui
            .text("#key-creds")
            .await
            .contains("you removed its passkey"));
        assert_eq!(
            ui.js("return document.getElementById('key-orphans-delete').hidden;")
                .await,
            json!(false),
            "Delete orphans is offered"
        );
        ui.shot_of("#key-creds-card", "keys-16-stored-orphan").await;
        ui.click("#key-creds li.cred[data-standing='orphan'] button.danger-quiet")
            .await;
        ui.wait(
            "confirmation",
            "document.getElementById('confirm-dialog').open",
        )
        .await;
        let confirm = ui.text("#confirm-dialog").await;
        assert!(confirm.contains(&site), "{confirm}");
        ui.shot("keys-17-delete-confirm").await;
        ui.click("#confirm-ok").await;
        ui.wait(
            "deleted",
            "document.getElementById('keys-op').hidden && !document.querySelector('#key-creds li.cred') && document.getElementById('keys-status').textContent.includes('Deleted')",
        )
        .await;
        ui.keys_show_stored(PIN).await;
        assert!(ui.text("#key-creds").await.contains("No passkeys"));
        assert_eq!(
            ui.pin_prompts().await,
            1,
            "list, delete and list again in one visit: one PIN prompt"
        );
        ui.shot_of("#key-creds-card", "keys-18-after-delete").await;

        // The key's policy (authenticatorConfig), with the visit's token: always require UV.
        assert!(ui.text("#key-always-uv-state").await.contains("Off"));
        ui.click("#key-always-uv").await;
        ui.wait(
            "always UV on",
            "document.getElementById('keys-op').hidden && document.getElementById('key-always-uv-state').textContent.includes('On') && document.getElementById('keys-status').textContent.includes('always requires')",
        )
        .await;
        assert_eq!(ui.text("#key-always-uv").await, "Turn off");
        ui.shot_of("#key-policy-card", "keys-19-policy-always-uv-on")
            .await;
        // The minimum PIN length, raised to 8 (the PIN is 6 long): warned first, as it cannot be
        // undone short of a reset.
        let min =
            ui.c.find(fantoccini::Locator::Id("key-min-pin"))
                .await
                .unwrap();
        min.clear().await.unwrap();
        min.send_keys("8").await.unwrap();
        ui.click("#key-min-pin-raise").await;
        ui.wait(
            "min PIN confirmation",
            "document.getElementById('confirm-dialog').open",
        )
        .await;
        let warning = ui.text("#confirm-dialog").await;
        assert!(warning.contains("cannot be undone"), "{warning}");
        ui.shot("keys-20-min-pin-confirm").await;
        ui.click("#confirm-ok").await;
        ui.wait(
            "min PIN raised, a new PIN demanded",
            "document.getElementById('keys-op').hidden && document.getElementById('keys-status').textContent.includes('now 8') && !document.getElementById('key-force-pin').hidden",
        )
        .await;
        assert!(ui.text("#key-pin-rules").await.contains("8 to 63"));
        assert_eq!(
            ui.pin_prompts().await,
            1,
            "list, delete, list, always UV and the minimum PIN length in one visit: one PIN prompt"
        );
        ui.shot_of("#key-panel", "keys-21-min-pin-raised").await;

        // Change the PIN: the current one, then the new one (typed twice, rules shown first).
        ui.click("#key-change-pin").await;
        ui.wait("current PIN", "document.getElementById('pin-dialog').open")
            .await;
        ui.shot("keys-22-change-pin-current").await;
        ui.keys_answer_pin(PIN).await;
        ui.wait(
            "new PIN",
            "document.getElementById('pin-dialog').open && !document.getElementById('pin-confirm-field').hidden",
        )
        .await;
        assert!(ui.text("#pin-hint").await.contains("8 to 63 characters"));
        ui.shot("keys-23-change-pin-new").await;
        // The page reads the key again after the change: wait for that.
        ui.js("document.getElementById('key-info').replaceChildren(); return true;")
            .await;
        ui.keys_answer_pin(NEW_PIN).await;
        ui.wait(
            "PIN changed, info read again",
            "document.getElementById('keys-op').hidden && document.getElementById('key-info').children.length > 0 && !document.getElementById('keys-error').textContent",
        )
        .await;
        // The old token died with the old PIN: the new PIN is asked once.
        let before = ui.pin_prompts().await;
        ui.keys_show_stored(NEW_PIN).await;
        assert_eq!(ui.pin_prompts().await, before + 1);

        // Reset: RESET typed, the re-insert window (the practice key's Remove / Insert), the
        // touch.
        let word =
            ui.c.find(fantoccini::Locator::Id("key-reset-word"))
                .await
                .unwrap();
        word.send_keys("RESET").await.unwrap();
        ui.click("#key-reset").await;
        ui.wait(
            "re-insert step",
            "!document.getElementById('key-reset-step').hidden && document.getElementById('key-reset-step').textContent.includes('Unplug')",
        )
        .await;
        ui.shot_of("#keys-op", "keys-24-reset-reinsert").await;
        ui.practice_plug("keys", false).await;
        ui.practice_plug("keys", true).await;
        ui.wait(
            "touch for the reset",
            "document.getElementById('keys-practice').dataset.state === 'waiting'",
        )
        .await;
        ui.shot_of("#keys-op", "keys-25-reset-touch").await;
        ui.click("#keys-practice-touch").await;
        ui.wait(
            "reset done",
            "document.getElementById('keys-status').textContent.includes('reset')",
        )
        .await;
        // The key is read again: no PIN any more.
        ui.wait(
            "no PIN after the reset",
            "document.getElementById('keys-choices').textContent.includes('PIN: Not set')",
        )
        .await;
        ui.shot("keys-26-reset-done").await;
    });
}
