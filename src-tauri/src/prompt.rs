//! The app's [`Prompt`]: what a security key asks of the person reaches the window over a
//! [`Channel`], and the PIN comes back through the `answer_pin` command.
//!
//! One request is pending at a time (the engine asks for one PIN, then waits). The PIN travels
//! as a [`Secret`] from the moment the command receives it: never logged, never in `Debug`
//! output, zeroized when the engine drops it. Cancel answers a pending request with "no PIN",
//! which stops the operation on the key.

use passkeys_core::ErrorCode;
use std::sync::Mutex;

use async_trait::async_trait;
use passkeys_core::prompt::{PinRequest, Prompt, PromptNotice};
use passkeys_core::Secret;
use serde::Serialize;
use tauri::ipc::Channel;
use tokio::sync::oneshot;

use crate::ipc_error::IpcError;

/// What the window is told while a security key works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "prompt", rename_all = "camelCase")]
pub enum PromptEvent {
    /// Enter, set or change the PIN; answer with `answer_pin`.
    Pin {
        /// What kind of PIN, with attempts left or the minimum length.
        request: PinRequest,
    },
    /// Touch the key now.
    Touch,
    /// Something to show; nothing to answer.
    Notice {
        /// What.
        notice: PromptNotice,
    },
    /// Several keys are attached: touch the one to use.
    TouchToSelect,
}

/// The prompt of the running key operation (at most one).
#[derive(Default)]
pub struct AppPrompt {
    channel: Mutex<Option<Channel<PromptEvent>>>,
    pending: Mutex<Option<oneshot::Sender<Option<Secret>>>>,
}

impl std::fmt::Debug for AppPrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPrompt")
            .field("pin_pending", &self.has_pending())
            .finish_non_exhaustive()
    }
}

impl AppPrompt {
    /// Sends events of the next operation to `channel` (replacing any previous one).
    pub fn attach(&self, channel: Channel<PromptEvent>) {
        self.cancel_pending();
        if let Ok(mut c) = self.channel.lock() {
            *c = Some(channel);
        }
    }

    /// Stops sending events and cancels a pending PIN request.
    pub fn detach(&self) {
        self.cancel_pending();
        if let Ok(mut c) = self.channel.lock() {
            *c = None;
        }
    }

    /// Sends an event to the window, if one listens.
    pub fn send(&self, event: PromptEvent) {
        if let Ok(c) = self.channel.lock() {
            if let Some(c) = c.as_ref() {
                let _ = c.send(event);
            }
        }
    }

    /// Answers the pending PIN request (`None`: the person cancelled).
    ///
    /// # Errors
    /// `no_pin_request` when no PIN is being asked for.
    pub fn answer(&self, pin: Option<Secret>) -> Result<(), IpcError> {
        let sender = self.pending.lock().ok().and_then(|mut p| p.take());
        match sender {
            Some(s) => {
                // The engine may have given up meanwhile; the PIN is then dropped (zeroized).
                let _ = s.send(pin);
                Ok(())
            }
            None => Err(IpcError::app(
                ErrorCode::NoPinRequest,
                "no PIN is being asked for right now; start adding a passkey on a security key first",
            )),
        }
    }

    /// Answers a pending PIN request with "no PIN" (cancel). Returns whether one was pending.
    pub fn cancel_pending(&self) -> bool {
        self.pending
            .lock()
            .ok()
            .and_then(|mut p| p.take())
            .map(|s| s.send(None))
            .is_some()
    }

    fn has_pending(&self) -> bool {
        self.pending.lock().map(|p| p.is_some()).unwrap_or(false)
    }
}

#[async_trait]
impl Prompt for AppPrompt {
    async fn request_pin(&self, request: &PinRequest) -> Option<Secret> {
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.pending.lock().ok()?;
            // A previous, unanswered request is cancelled (it cannot be answered any more).
            if let Some(old) = pending.replace(tx) {
                let _ = old.send(None);
            }
        }
        self.send(PromptEvent::Pin {
            request: request.clone(),
        });
        // A dropped sender (detach, a newer request) means no PIN.
        rx.await.ok().flatten()
    }

    fn touch(&self) {
        self.send(PromptEvent::Touch);
    }

    fn notice(&self, notice: &PromptNotice) {
        self.send(PromptEvent::Notice {
            notice: notice.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_pin_answer_reaches_the_waiting_request_once() {
        let prompt = std::sync::Arc::new(AppPrompt::default());
        assert_eq!(
            prompt.answer(None).unwrap_err().code,
            ErrorCode::NoPinRequest
        );
        let asking = prompt.clone();
        let request = tokio::spawn(async move {
            asking
                .request_pin(&PinRequest::Enter {
                    attempts_left: Some(7),
                    after_wrong_pin: false,
                })
                .await
        });
        // Wait until the request is pending (the task registers it before awaiting).
        while !prompt.has_pending() {
            tokio::task::yield_now().await;
        }
        assert!(format!("{prompt:?}").contains("pin_pending: true"));
        prompt.answer(Some(Secret::new("123456"))).unwrap();
        let pin = request.await.unwrap().unwrap();
        assert_eq!(pin.expose(), "123456");
        assert!(!format!("{pin:?}").contains("123456"));
        assert_eq!(
            prompt.answer(None).unwrap_err().code,
            ErrorCode::NoPinRequest
        );
    }

    #[tokio::test]
    async fn cancel_answers_a_pending_request_with_no_pin() {
        let prompt = std::sync::Arc::new(AppPrompt::default());
        let asking = prompt.clone();
        let request = tokio::spawn(async move {
            asking
                .request_pin(&PinRequest::SetNew {
                    min_length: 4,
                    max_bytes: 63,
                })
                .await
        });
        while !prompt.has_pending() {
            tokio::task::yield_now().await;
        }
        assert!(prompt.cancel_pending());
        assert!(request.await.unwrap().is_none());
        assert!(!prompt.cancel_pending());
    }

    #[test]
    fn events_serialize_for_the_window() {
        let e = PromptEvent::Pin {
            request: PinRequest::Enter {
                attempts_left: Some(3),
                after_wrong_pin: true,
            },
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"prompt": "pin", "request": {"kind": "enter", "attemptsLeft": 3, "afterWrongPin": true}})
        );
        assert_eq!(
            serde_json::to_value(PromptEvent::Touch).unwrap(),
            serde_json::json!({"prompt": "touch"})
        );
    }
}
