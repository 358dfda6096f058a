//! The practice security key (simulated CTAP 2.1 firmware in the app, demo only) in the real
//! window: the wizard's key dialogs and errors. Screenshots `practice-NN-…`.

use serde_json::json;

use super::{enabled, run, Ui, ENTER};

const PIN: &str = "246810";

impl Ui {
    /// Like `click`, again when the element was re-rendered between finding and clicking (the
    /// chooser and the key list re-render as keys come and go).
    async fn click_fresh(&self, css: &str) {
        for _ in 0..20 {
            self.wait(&format!("clickable {css}"), &super::clickable(css))
                .await;
            let clicked = match self.c.find(fantoccini::Locator::Css(css)).await {
                Ok(e) => e.click().await.map(|_| ()),
                Err(e) => Err(e),
            };
            match clicked {
                Ok(()) => return,
                Err(fantoccini::error::CmdError::Standard(e))
                    if matches!(
                        e.error,
                        fantoccini::error::ErrorStatus::StaleElementReference
                            | fantoccini::error::ErrorStatus::NoSuchElement
                    ) => {}
                Err(e) => panic!("clicking {css}: {e}"),
            }
        }
        panic!("{css} kept being re-rendered");
    }

    /// The wizard's chooser → the practice key → the name step → Create.
    async fn wizard_on_practice_key(&self, shot: Option<&str>, name: &str) {
        self.wait(
            "wizard: practice key listed",
            "document.getElementById('view-wizard').dataset.step === 'choose' && document.getElementById('auth-practice')",
        )
        .await;
        self.click_fresh("#auth-practice").await;
        if let Some(shot) = shot {
            self.wait(
                "practice panel",
                "!document.getElementById('wiz-practice').hidden",
            )
            .await;
            self.shot(shot).await;
        }
        self.click_fresh("#wiz-choose-next").await;
        self.wait(
            "wizard: name prefilled",
            "document.getElementById('view-wizard').dataset.step === 'name' && document.getElementById('passkey-name').value.startsWith('Practice security key')",
        )
        .await;
        let field = self.c.active_element().await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(name).await.unwrap();
        field.send_keys(ENTER).await.unwrap();
    }

    /// Waits for the PIN dialog (`set`: choosing a new PIN, else entering it).
    async fn pin_dialog(&self, set: bool) {
        let cond = if set {
            "document.getElementById('pin-dialog').open && !document.getElementById('pin-confirm-field').hidden"
        } else {
            "document.getElementById('pin-dialog').open && document.getElementById('pin-confirm-field').hidden"
        };
        self.wait("PIN dialog", cond).await;
    }

    /// Types `pin` in the open PIN dialog (twice when choosing one), presses OK and waits until
    /// the answer is taken (the Security keys page's tests use it too).
    pub(crate) async fn answer_pin(&self, pin: &str) {
        let set = self
            .js("return !document.getElementById('pin-confirm-field').hidden;")
            .await
            == json!(true);
        let input = self
            .c
            .find(fantoccini::Locator::Id("pin-input"))
            .await
            .unwrap();
        input.clear().await.unwrap();
        input.send_keys(pin).await.unwrap();
        if set {
            let confirm = self
                .c
                .find(fantoccini::Locator::Id("pin-confirm"))
                .await
                .unwrap();
            confirm.clear().await.unwrap();
            confirm.send_keys(pin).await.unwrap();
        }
        let answers = self
            .js("return Number(document.getElementById('pin-dialog').dataset.answers || 0);")
            .await;
        self.click_fresh("#pin-ok").await;
        // Taken (the dialog may already be open again for the next request: a wrong PIN).
        self.wait(
            "PIN answered",
            &format!(
                "Number(document.getElementById('pin-dialog').dataset.answers || 0) > {answers}"
            ),
        )
        .await;
    }

    /// Waits until the practice key blinks (the "Touch the key" button is shown).
    async fn touch_wanted(&self) {
        self.wait(
            "practice key waits for a touch",
            "document.getElementById('wiz-practice').dataset.state === 'waiting' && document.getElementById('wiz-practice-touch').offsetParent !== null",
        )
        .await;
    }

    /// Answers PIN dialogs with `pin` and touches the key until the wizard is done.
    async fn finish_with(&self, pin: &str) {
        let done = "document.getElementById('view-wizard').dataset.step";
        loop {
            self.wait(
                "wizard: a PIN, a touch or done",
                &format!("{done} === 'done' || {done} === 'error' || document.getElementById('pin-dialog').open || document.getElementById('wiz-practice').dataset.state === 'waiting'"),
            )
            .await;
            let step = self.js(&format!("return {done};")).await;
            if step == json!("done") {
                return;
            }
            assert_ne!(
                step,
                json!("error"),
                "{}",
                self.text("#wiz-error-box").await
            );
            if self
                .js("return document.getElementById('pin-dialog').open;")
                .await
                == json!(true)
            {
                self.answer_pin(pin).await;
            } else {
                self.click_fresh("#wiz-practice-touch").await;
                self.wait(
                    "the touch is taken",
                    "document.getElementById('wiz-practice').dataset.state !== 'waiting'",
                )
                .await;
            }
        }
    }

    async fn wizard_error(&self, code: &str) {
        self.wait(
            "wizard: error",
            "document.getElementById('view-wizard').dataset.step === 'error'",
        )
        .await;
        assert_eq!(
            self.js("return document.getElementById('wiz-error-box').dataset.code;")
                .await,
            json!(code),
            "{}",
            self.text("#wiz-error-box").await
        );
    }

    /// Removes the passkey `name` from the account (so the key may be enrolled again: the
    /// server's exclude list would refuse it otherwise).
    async fn remove_passkey(&self, name: &str) {
        self.click_fresh(&format!(
            "#passkey-list li[data-name='{name}'] button.danger-quiet"
        ))
        .await;
        self.wait(
            "confirmation",
            "document.getElementById('confirm-dialog').open",
        )
        .await;
        self.click_fresh("#confirm-ok").await;
        self.wait(
            "removed",
            &format!("!document.querySelector(\"#passkey-list li[data-name='{name}']\")"),
        )
        .await;
    }

    /// Removes or inserts the practice key with the panel `prefix` (`wiz`, `keys`). Inserted,
    /// it may wait for a touch at once (the reset), so "waiting" counts as inserted.
    pub(crate) async fn practice_plug(&self, prefix: &str, inserted: bool) {
        let want = if inserted {
            "['inserted', 'waiting']"
        } else {
            "['removed']"
        };
        self.click_fresh(&format!("#{prefix}-practice-plug")).await;
        self.wait(
            &format!("practice key {want}"),
            &format!("{want}.includes(document.getElementById('{prefix}-practice').dataset.state)"),
        )
        .await;
    }
}

#[test]
fn practice_key_set_pin_first_then_wrong_pin_once() {
    if !enabled() {
        return;
    }
    run(&[], |ui| async move {
        ui.demo_sign_in("practice-").await;
        ui.click_fresh("#btn-add-first").await;

        // A fresh practice key has no PIN: the wizard asks for a new one first.
        ui.wizard_on_practice_key(Some("practice-03-choose"), "Practice A")
            .await;
        ui.pin_dialog(true).await;
        assert!(ui.text("#pin-title").await.to_lowercase().contains("pin"));
        ui.shot("practice-04-set-pin-first").await;
        ui.answer_pin(PIN).await;
        ui.touch_wanted().await;
        assert!(ui
            .text("#wiz-practice-text")
            .await
            .contains("waits for your touch"));
        ui.shot("practice-05-touch-the-key").await;
        ui.finish_with(PIN).await;
        assert!(ui.text("#wiz-done-title").await.contains("Practice A"));
        ui.shot("practice-06-done").await;
        ui.click_fresh("#wiz-finish").await;
        ui.view("passkeys").await;
        ui.remove_passkey("Practice A").await;

        // The key has a PIN now: a wrong one first, the attempts left shown, then the right one.
        ui.click_fresh("#btn-add-first").await;
        ui.wizard_on_practice_key(None, "Practice B").await;
        ui.pin_dialog(false).await;
        ui.shot("practice-07-enter-pin").await;
        ui.answer_pin("999999").await;
        ui.pin_dialog(false).await;
        ui.wait(
            "attempts left",
            "!document.getElementById('pin-attempts').hidden",
        )
        .await;
        let attempts = ui.text("#pin-attempts").await;
        assert!(attempts.contains("7"), "{attempts}");
        ui.shot("practice-08-wrong-pin-attempts-left").await;
        ui.answer_pin(PIN).await;
        ui.finish_with(PIN).await;
        assert!(ui.text("#wiz-done-title").await.contains("Practice B"));
        ui.shot("practice-09-done-after-wrong-pin").await;
    });
}

#[test]
fn practice_key_removed_mid_operation_then_pin_blocked() {
    if !enabled() {
        return;
    }
    run(&[], |ui| async move {
        ui.demo_sign_in("practice-rm-").await;
        ui.click_fresh("#btn-add-first").await;

        // Pulled out while it waits for the touch: the error, then back in and again.
        ui.wizard_on_practice_key(None, "Practice C").await;
        ui.pin_dialog(true).await;
        ui.answer_pin(PIN).await;
        ui.touch_wanted().await;
        ui.practice_plug("wiz", false).await;
        ui.wizard_error("authenticator_disconnected").await;
        assert!(ui.text("#wiz-error-box").await.contains("removed"));
        ui.shot("practice-10-key-removed-mid-operation").await;
        ui.practice_plug("wiz", true).await;
        ui.shot("practice-11-key-inserted-again").await;
        ui.click_fresh("#wiz-retry").await;
        ui.wizard_on_practice_key(None, "Practice C").await;
        ui.finish_with(PIN).await;
        assert!(ui.text("#wiz-done-title").await.contains("Practice C"));
        ui.shot("practice-12-recovered").await;
        ui.click_fresh("#wiz-finish").await;
        ui.view("passkeys").await;

        // Wrong PINs until blocked: three in a row block PIN entry until the key is re-inserted
        // (PIN_AUTH_BLOCKED); eight in all block the PIN (PIN_BLOCKED).
        let mut wrong = 0;
        for round in 0..3 {
            ui.click_fresh("#btn-add").await;
            ui.wizard_on_practice_key(None, "Practice D").await;
            loop {
                ui.wait(
                    "a PIN request or an error",
                    "document.getElementById('pin-dialog').open || document.getElementById('view-wizard').dataset.step === 'error'",
                )
                .await;
                if ui
                    .js("return document.getElementById('pin-dialog').open;")
                    .await
                    != json!(true)
                {
                    break;
                }
                ui.answer_pin("999999").await;
                wrong += 1;
            }
            if round < 2 {
                ui.wizard_error("pin_auth_blocked").await;
                if round == 0 {
                    ui.shot("practice-13-pin-auth-blocked").await;
                }
                ui.practice_plug("wiz", false).await;
                ui.practice_plug("wiz", true).await;
                ui.click_fresh("#wiz-error-close").await;
                ui.view("passkeys").await;
            }
        }
        ui.wizard_error("pin_blocked").await;
        assert_eq!(wrong, 8);
        assert!(ui.text("#wiz-error-box").await.contains("blocked"));
        ui.shot("practice-14-pin-blocked").await;

        // Diagnostics name the practice key; no PIN is in the log.
        ui.click_fresh("#wiz-error-close").await;
        ui.view("passkeys").await;
        ui.click_fresh("#btn-diagnostics").await;
        ui.view("diagnostics").await;
        let log = ui
            .js("return document.getElementById('diag-log').value;")
            .await;
        let log = log.as_str().unwrap();
        assert!(
            log.contains("practice security key (simulated) was removed"),
            "{log}"
        );
        assert!(!log.contains(PIN) && !log.contains("999999"), "{log}");
        ui.shot("practice-15-diagnostics").await;
    });
}
