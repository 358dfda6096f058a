//! The demo's practice security key in the window: its status (plugged in, waiting for a
//! touch) on a channel, the "Touch the key" button, and the demo-only "Remove the key" /
//! "Insert the key" controls. The key itself is the environment's
//! ([`passkeys_service::environment::AuthenticatorSource::practice`]); it is opened through the
//! engine like any key (`practice` in the wizard's list and on the Security keys page).

use std::sync::Mutex;

use passkeys_core::ErrorCode;
use passkeys_ctap::practice::{PracticeKey, PracticeStatus};
use tauri::ipc::Channel;
use tauri::State;

use crate::ipc_error::IpcError;
use crate::state::AppState;

/// The authenticator id of the practice key, in `list_keys` and on the Security keys page.
pub const ID: &str = "practice";

/// The one status forwarder (a newer `practice_watch` replaces it).
static FORWARDER: Mutex<Option<tokio::task::AbortHandle>> = Mutex::new(None);

/// The active instance's practice key (the demo's), if any.
pub(crate) async fn key(state: &AppState) -> Option<PracticeKey> {
    let active = state.active.lock().await;
    active.as_ref()?.env.authenticators.practice()
}

fn no_practice_key() -> IpcError {
    IpcError::app(
        ErrorCode::UnknownAuthenticator,
        "there is no practice security key here: it exists only in the demo",
    )
}

/// Sends the practice key's status on `onStatus` now and whenever it changes (until the demo
/// ends or another watch starts). `null` when there is no practice key (not the demo).
#[tauri::command]
pub async fn practice_watch(
    state: State<'_, AppState>,
    on_status: Channel<PracticeStatus>,
) -> Result<Option<PracticeStatus>, IpcError> {
    let Some(key) = key(&state).await else {
        return Ok(None);
    };
    let mut status = key.watch();
    drop(key);
    let now = *status.borrow_and_update();
    let task = tokio::spawn(async move {
        // Ends when the key is gone (its last handle dropped with the demo).
        while status.changed().await.is_ok() {
            let s = *status.borrow_and_update();
            if on_status.send(s).is_err() {
                return;
            }
        }
    });
    if let Ok(mut f) = FORWARDER.lock() {
        if let Some(old) = f.replace(task.abort_handle()) {
            old.abort();
        }
    }
    Ok(Some(now))
}

/// Touches the practice key. `false` when it was not waiting for a touch.
#[tauri::command]
pub async fn practice_touch(state: State<'_, AppState>) -> Result<bool, IpcError> {
    let key = key(&state).await.ok_or_else(no_practice_key)?;
    let touched = key.touch();
    if touched {
        tracing::info!("the practice security key (simulated) was touched");
    }
    Ok(touched)
}

/// Pulls the practice key out (`inserted: false`; an operation on it fails as with a key
/// pulled out of the USB port) or inserts it again (`true`).
#[tauri::command]
pub async fn practice_plug(
    state: State<'_, AppState>,
    inserted: bool,
) -> Result<PracticeStatus, IpcError> {
    let key = key(&state).await.ok_or_else(no_practice_key)?;
    tokio::task::spawn_blocking(move || {
        if inserted {
            key.plug_in();
            tracing::info!("the practice security key (simulated) was inserted");
        } else {
            key.unplug();
            tracing::info!("the practice security key (simulated) was removed");
        }
        key.status()
    })
    .await
    .map_err(|e| {
        IpcError::app(
            ErrorCode::Internal,
            format!("the practice key is stuck: {e}"),
        )
    })
}
