//! Auth API v1 (contract §1, §8.1 A1–A8): the handlers, the v1 passkey options shape (§2),
//! and the VerifyMyPasswordlessRequest as protojson + PGV see it (§1.3, §3.1).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};

use super::common::{
    authenticate, bad_json, decode_proto_bytes, details, empty_message, field, proto_json,
    request_domain, request_issuer, ApiError, Sh, RAW_URL,
};
use super::registration::{
    begin_registration, finish_registration, parse_credential, PASSWORDLESS_TIMEOUT_MS,
};
use crate::pages;
use crate::state::{Fault, Shared};
use crate::util::{random_alnum, rfc3339};

/// The Auth API v1 routes; the passwordless (passkey) ones only while
/// [`crate::SandboxConfig::auth_v1_passkeys`] is on (off: an instance without the v1 passkey
/// API, which then answers the gateway's unknown-route 404).
pub(super) fn routes(cfg: &crate::SandboxConfig) -> Router<Arc<Shared>> {
    let mut router = Router::new().route("/auth/v1/healthz", get(healthz)).route(
        "/ui/login/login/passwordless/init",
        get(passwordless_init_page),
    );
    if cfg.auth_v1_users_me {
        router = router.route("/auth/v1/users/me", get(get_my_user));
    }
    if !cfg.auth_v1_passkeys {
        return router;
    }
    router
        .route(
            "/auth/v1/users/me/passwordless/_search",
            post(list_passwordless),
        )
        .route("/auth/v1/users/me/passwordless", post(add_passwordless))
        .route(
            "/auth/v1/users/me/passwordless/_verify",
            post(verify_passwordless),
        )
        .route(
            "/auth/v1/users/me/passwordless/_link",
            post(add_passwordless_link),
        )
        .route(
            "/auth/v1/users/me/passwordless/_send_link",
            post(send_passwordless_link),
        )
        .route(
            "/auth/v1/users/me/passwordless/{token_id}",
            delete(remove_passwordless),
        )
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// A1
async fn healthz() -> Json<Value> {
    Json(json!({}))
}

/// A2: GetMyUser (U5/U6): `{"user":{…}}` only (no `lastLogin`), `preferredLanguage` `"und"`
/// when unset, `phone: {}`, `passwordChanged`, zero values omitted (`displayName` when empty,
/// `isEmailVerified` when false). ZITADEL `grpc/auth/user.go` `GetMyUser`, `user/converter.go`.
async fn get_my_user(State(sh): Sh, headers: HeaderMap) -> Result<Response, ApiError> {
    let ctx = authenticate(&sh, &headers)?;
    let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_892_800); // 2026-07-01
    let (seq, user) = sh.with(|s| (s.sequence, s.user(&ctx.user_id).cloned()));
    let user = user.ok_or_else(ApiError::token_invalid)?;
    let login_name = user.login_name();
    let mut profile = serde_json::Map::new();
    profile.insert("firstName".into(), user.first_name.clone().into());
    profile.insert("lastName".into(), user.last_name.clone().into());
    let display = user.display_name();
    if !display.is_empty() {
        profile.insert("displayName".into(), display.into());
    }
    profile.insert(
        "preferredLanguage".into(),
        user.preferred_language
            .clone()
            .unwrap_or_else(|| "und".into())
            .into(),
    );
    let mut email = serde_json::Map::new();
    email.insert("email".into(), user.email().into());
    if user.email_verified {
        email.insert("isEmailVerified".into(), true.into());
    }
    let kind = if user.is_machine() {
        // U5: `machine{name,description?,hasSecret?,accessTokenType?}` (zero values omitted).
        ("machine", json!({"name": user.first_name}))
    } else {
        (
            "human",
            json!({
                "profile": profile,
                "email": email,
                "phone": {},
                "passwordChanged": rfc3339(created),
            }),
        )
    };
    let mut u = json!({
        "id": user.id,
        "details": {
            "sequence": seq.to_string(),
            "creationDate": rfc3339(created),
            "changeDate": rfc3339(created),
            "resourceOwner": crate::DEMO_ORG_ID,
        },
        "state": "USER_STATE_ACTIVE",
        "userName": user.username,
        "loginNames": [login_name],
        "preferredLoginName": login_name,
    });
    u[kind.0] = kind.1;
    let body = json!({ "user": u });
    Ok(proto_json(&body))
}

/// A3: ListMyPasswordless: READY tokens only; `{}` when there are none.
async fn list_passwordless(State(sh): Sh, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let ctx = authenticate(&sh, &headers)?;
    let result: Vec<Value> = sh.with(|s| {
        s.passkeys
            .iter()
            .filter(|p| p.is_ready() && p.user_id == ctx.user_id)
            .map(|p| {
                let mut m = serde_json::Map::new();
                m.insert("id".into(), Value::String(p.id.clone()));
                m.insert("state".into(), "AUTH_FACTOR_STATE_READY".into());
                if let Some(name) = p.name.as_ref().filter(|n| !n.is_empty()) {
                    m.insert("name".into(), Value::String(name.clone()));
                }
                Value::Object(m)
            })
            .collect()
    });
    if result.is_empty() {
        Ok(Json(json!({})))
    } else {
        Ok(Json(json!({ "result": result })))
    }
}

/// go-webauthn `protocol.CredentialCreation` as ZITADEL v1 marshals it (contract §2.2): Go
/// struct order, binary values base64url without padding.
#[derive(Serialize)]
struct CredentialCreation {
    #[serde(rename = "publicKey")]
    public_key: CreationOptions,
}

#[derive(Serialize)]
struct CreationOptions {
    rp: RpEntity,
    user: UserEntity,
    challenge: String,
    #[serde(rename = "pubKeyCredParams")]
    pub_key_cred_params: Vec<CredParam>,
    timeout: u32,
    #[serde(rename = "excludeCredentials", skip_serializing_if = "Vec::is_empty")]
    exclude_credentials: Vec<CredDescriptor>,
    #[serde(rename = "authenticatorSelection")]
    authenticator_selection: Selection,
    attestation: &'static str,
}

#[derive(Serialize)]
struct RpEntity {
    name: String,
    id: String,
}

#[derive(Serialize)]
struct UserEntity {
    name: String,
    #[serde(rename = "displayName")]
    display_name: String,
    id: String,
}

#[derive(Serialize)]
struct CredParam {
    #[serde(rename = "type")]
    type_: String,
    alg: i64,
}

#[derive(Serialize)]
struct CredDescriptor {
    #[serde(rename = "type")]
    type_: String,
    id: String,
}

#[derive(Serialize)]
struct Selection {
    #[serde(rename = "userVerification")]
    user_verification: &'static str,
}

/// A4: AddMyPasswordless. Replaces any pending registration (contract §1.4).
async fn add_passwordless(
    State(sh): Sh,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ctx = authenticate(&sh, &headers)?;
    empty_message(&body)?;
    let (rp_id, origin) = request_domain(&sh, &headers)?;
    let user = sh
        .with(|s| s.user(&ctx.user_id).cloned())
        .ok_or_else(ApiError::token_invalid)?;
    let now = SystemTime::now();
    let begun = begin_registration(&sh, &user, user.id.as_bytes(), &rp_id, origin, None)?;
    let o = begun.options;
    let doc = CredentialCreation {
        public_key: CreationOptions {
            rp: RpEntity {
                name: o.rp.name,
                id: o.rp.id,
            },
            user: UserEntity {
                name: o.user.name,
                display_name: o.user.display_name,
                id: RAW_URL.encode(&o.user.id),
            },
            challenge: begun.challenge,
            pub_key_cred_params: o
                .pub_key_cred_params
                .into_iter()
                .map(|p| CredParam {
                    type_: p.type_,
                    alg: p.alg,
                })
                .collect(),
            timeout: o.timeout.unwrap_or(PASSWORDLESS_TIMEOUT_MS),
            exclude_credentials: o
                .exclude_credentials
                .unwrap_or_default()
                .into_iter()
                .map(|d| CredDescriptor {
                    type_: d.type_,
                    id: RAW_URL.encode(&d.id),
                })
                .collect(),
            authenticator_selection: Selection {
                user_verification: "required",
            },
            attestation: "none",
        },
    };
    let json_bytes = serde_json::to_vec(&doc)
        .map_err(|_| ApiError::zitadel(13, "WEBAU-D7cus", "Error on marshal"))?;
    let seq = begun.sequence;
    tracing::info!(rp_id = %rp_id, "passwordless registration started");
    Ok(Json(json!({
        "key": {"publicKey": STANDARD.encode(json_bytes)},
        "details": details(seq, "creationDate", now),
    })))
}

/// The VerifyMyPasswordlessRequest as protojson + PGV see it (contract §1.3, §3.1).
fn parse_verify_request(body: &[u8]) -> Result<(Vec<u8>, String), ApiError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|_| bad_json("invalid JSON"))?
    };
    let Value::Object(obj) = value else {
        return Err(bad_json("expected a JSON object"));
    };
    const PREFIX: &str = "invalid VerifyMyPasswordlessRequest.Verification";
    let Some(verification) = field(&obj, "verification", "verification") else {
        return Err(ApiError::plain(3, format!("{PREFIX}: value is required")));
    };
    let Value::Object(v) = verification else {
        return Err(bad_json("verification must be an object"));
    };
    let credential = match field(v, "publicKeyCredential", "public_key_credential") {
        None => Vec::new(),
        Some(Value::String(s)) => decode_proto_bytes(s).ok_or_else(|| {
            ApiError::plain(
                3,
                "proto: invalid value for bytes field publicKeyCredential: not base64",
            )
        })?,
        Some(_) => return Err(bad_json("publicKeyCredential must be a string")),
    };
    let token_name = match field(v, "tokenName", "token_name") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(bad_json("tokenName must be a string")),
    };
    let caused = |what: &str| {
        ApiError::plain(
            3,
            format!("{PREFIX}: embedded message failed validation | caused by: {what}"),
        )
    };
    if credential.len() < 55 {
        return Err(caused(
            "invalid WebAuthNVerification.PublicKeyCredential: value length must be at least 55 bytes",
        ));
    }
    let runes = token_name.chars().count();
    if runes < 1 {
        return Err(caused(
            "invalid WebAuthNVerification.TokenName: value length must be at least 1 runes",
        ));
    }
    if runes > 200 {
        return Err(caused(
            "invalid WebAuthNVerification.TokenName: value length must be at most 200 runes",
        ));
    }
    Ok((credential, token_name))
}

/// A7: VerifyMyPasswordless. PGV → pending lookup → credential parse → webauthn-rs verification
/// with RP ID = request host and origin = request origin, UV required (contract §3).
async fn verify_passwordless(
    State(sh): Sh,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    sh.with(|s| s.last_verify_body = Some(String::from_utf8_lossy(&body).into_owned()));
    let ctx = authenticate(&sh, &headers)?;
    if sh.with(|s| s.take_fault(Fault::VerifyRejected)) {
        return Err(ApiError::create_failed());
    }
    let (credential_bytes, token_name) = parse_verify_request(&body)?;
    let pending = sh.with(|s| {
        s.passkeys
            .iter()
            .find(|p| !p.is_ready() && p.user_id == ctx.user_id)
            .and_then(|p| p.reg_state.clone().map(|st| (p.id.clone(), st)))
    });
    let Some((passkey_id, reg_state)) = pending else {
        return Err(ApiError::webauthn_not_found());
    };
    let reg = parse_credential(&credential_bytes).map_err(|reason| {
        tracing::debug!(%reason, "credential parse failed");
        ApiError::parse_credential()
    })?;
    let (rp_id, origin) = request_domain(&sh, &headers)?;
    finish_registration(
        &sh,
        &rp_id,
        origin,
        &reg,
        &reg_state,
        &passkey_id,
        token_name,
    )?;
    tracing::info!("passwordless registration verified");
    let now = SystemTime::now();
    let seq = sh.with(|s| s.next_sequence());
    Ok(Json(json!({ "details": details(seq, "changeDate", now) })))
}

/// A8: RemoveMyPasswordless, READY or pending; unknown id → 404 `COMMAND-DAfb2`.
async fn remove_passwordless(
    State(sh): Sh,
    headers: HeaderMap,
    Path(token_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = authenticate(&sh, &headers)?;
    if token_id.is_empty() || token_id.chars().count() > 200 {
        return Err(ApiError::plain(
            3,
            "invalid RemoveMyPasswordlessRequest.TokenId: value length must be between 1 and 200 runes, inclusive",
        ));
    }
    let now = SystemTime::now();
    let seq = sh.with(|s| {
        let pos = s
            .passkeys
            .iter()
            .position(|p| p.id == token_id && p.user_id == ctx.user_id)?;
        s.passkeys.remove(pos);
        Some(s.next_sequence())
    });
    match seq {
        Some(seq) => Ok(Json(json!({ "details": details(seq, "changeDate", now) }))),
        None => Err(ApiError::zitadel(
            5,
            "COMMAND-DAfb2",
            "Errors.User.WebAuthN.NotFound",
        )),
    }
}

/// A5: AddMyPasswordlessLink (contract §1.4, §8.3).
async fn add_passwordless_link(
    State(sh): Sh,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ctx = authenticate(&sh, &headers)?;
    empty_message(&body)?;
    let now = SystemTime::now();
    let (code_id, seq) = sh.with(|s| (s.next_id(), s.next_sequence()));
    let issuer = request_issuer(&sh, &headers);
    let mut link = url::Url::parse(&format!("{issuer}/ui/login/login/passwordless/init"))
        .map_err(|_| ApiError::zitadel(13, "COMMAND-sandbox", "Errors.Internal"))?;
    link.query_pairs_mut()
        .append_pair("userID", &ctx.user_id)
        .append_pair("orgID", crate::DEMO_ORG_ID)
        .append_pair("codeID", &code_id)
        .append_pair("code", &random_alnum(12));
    Ok(Json(json!({
        "details": details(seq, "creationDate", now),
        "link": link.as_str(),
        "expiration": "3600s",
    })))
}

/// A6: SendMyPasswordlessLink (no e-mail is sent; details only).
async fn send_passwordless_link(
    State(sh): Sh,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    authenticate(&sh, &headers)?;
    empty_message(&body)?;
    let now = SystemTime::now();
    let seq = sh.with(|s| s.next_sequence());
    Ok(Json(
        json!({ "details": details(seq, "creationDate", now) }),
    ))
}

/// The target of the registration link: a simple HTML page.
async fn passwordless_init_page(
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Html<String> {
    let p = crate::oidc::parse_form(query.unwrap_or_default().as_bytes());
    let user = p.get("userID").map(String::as_str).unwrap_or("");
    let code_id = p.get("codeID").map(String::as_str).unwrap_or("");
    Html(pages::passwordless_init(user, code_id))
}
