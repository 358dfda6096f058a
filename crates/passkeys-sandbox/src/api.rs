//! Auth API v1 (contract §1, §8.1 A1–A8) with ZITADEL's proto-JSON conventions (§1.1), the
//! passkey options shape (§2), go-webauthn's credential parsing rules (§3.2), webauthn-rs
//! verification (§3.3) and ZITADEL's error bodies and status codes (§4).

mod common;
mod connect;
mod registration;
mod v1;
mod v2;

pub(crate) use common::{method_not_allowed, network_faults, not_found};

use std::sync::Arc;

use axum::Router;

use crate::state::Shared;

/// The Auth API v1 and user service v2 routes the configured ZITADEL generation serves
/// ([`crate::SandboxConfig::auth_v1_passkeys`], [`crate::SandboxConfig::user_v2_rest_passkeys`],
/// [`crate::SandboxConfig::user_v2_connect`]). A route that is switched off is not registered,
/// so it gets the gateway's unknown-route answer ([`not_found`]).
pub(crate) fn routes(cfg: &crate::SandboxConfig) -> Router<Arc<Shared>> {
    let router = v2::routes(cfg).merge(v1::routes(cfg));
    if cfg.user_v2_connect {
        router.merge(connect::routes())
    } else {
        router
    }
}
