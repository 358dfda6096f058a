//! Auth API v1 (contract §1, §8.1 A1–A8) with ZITADEL's proto-JSON conventions (§1.1), the
//! passkey options shape (§2), go-webauthn's credential parsing rules (§3.2), webauthn-rs
//! verification (§3.3) and ZITADEL's error bodies and status codes (§4).

mod common;
mod registration;
mod v1;
mod v2;

pub(crate) use common::{method_not_allowed, network_faults, not_found};

use std::sync::Arc;

use axum::Router;

use crate::state::Shared;

/// All Auth API v1 and user service v2 routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    v2::routes().merge(v1::routes())
}
