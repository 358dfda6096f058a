//! A scripted person: answers PIN requests from a list and records everything asked.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use passkeys_core::prompt::{PinRequest, Prompt, PromptNotice};
use passkeys_core::Secret;

#[derive(Default)]
struct State {
    answers: VecDeque<Option<String>>,
    requests: Vec<PinRequest>,
    touches: usize,
    notices: Vec<PromptNotice>,
}

/// Clone it to keep a handle for assertions after handing it to a device.
#[derive(Clone, Default)]
pub struct Script(Arc<Mutex<State>>);

impl Script {
    /// Answers PIN requests with `answers` in order, then with `None` (cancel).
    pub fn new(answers: &[&str]) -> Self {
        let s = Self::default();
        s.0.lock().unwrap().answers = answers.iter().map(|a| Some(a.to_string())).collect();
        s
    }

    pub fn requests(&self) -> Vec<PinRequest> {
        self.0.lock().unwrap().requests.clone()
    }

    pub fn touches(&self) -> usize {
        self.0.lock().unwrap().touches
    }

    pub fn notices(&self) -> Vec<PromptNotice> {
        self.0.lock().unwrap().notices.clone()
    }

    pub fn arc(&self) -> Arc<dyn Prompt> {
        Arc::new(self.clone())
    }
}

#[async_trait]
impl Prompt for Script {
    async fn request_pin(&self, request: &PinRequest) -> Option<Secret> {
        let mut s = self.0.lock().unwrap();
        s.requests.push(request.clone());
        s.answers.pop_front().flatten().map(Secret::new)
    }
    fn touch(&self) {
        self.0.lock().unwrap().touches += 1;
    }
    fn notice(&self, notice: &PromptNotice) {
        self.0.lock().unwrap().notices.push(notice.clone());
    }
}

/// Shorthand for the "enter your PIN" request.
pub fn enter(attempts_left: u32, after_wrong_pin: bool) -> PinRequest {
    PinRequest::Enter {
        attempts_left: Some(attempts_left),
        after_wrong_pin,
    }
}
