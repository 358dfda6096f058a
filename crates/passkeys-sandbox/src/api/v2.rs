//! User service v2 passkey API (contract §5, §8.1 B1–B5) and the permission rules of §5:
//! a user may act on themself; acting on another user needs `user.credential.write`
//! (RegisterPasskey), `user.read` (ListPasskeys) or `user.write` (RemovePasskey), and
//! CreatePasskeyRegistrationLink needs `user.passkey.write` even for oneself. Denials are 403
//! `No matching permissions found (AUTH-5mWD2)` (contract §4.3).
//!
//! Also a small, documented subset of the v2 user lookups a helpdesk client needs (not part of
//! contract §5): `POST /v2/users` (ListUsers with a `userNameQuery` or `loginNameQuery`,
//! results limited to users the caller may read) and `GET /v2/users/{userId}` (GetUserByID).
//!
//! v1 and v2 share one token pool per user, as in ZITADEL: a v2 registration replaces a pending
//! v1 one and the other way round, and ListMyPasswordless shows passkeys registered via v2.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};

use super::common::{
    authenticate, bad_json, details, field, request_domain, ApiError, Ctx, Sh, RAW_URL,
};
use super::registration::{
    begin_registration, finish_registration, parse_credential, PASSWORDLESS_TIMEOUT_MS,
};
use crate::state::{Fault, RegistrationCode, Shared};
use crate::users::{
    SandboxUser, PERMISSION_CREDENTIAL_WRITE, PERMISSION_PASSKEY_WRITE, PERMISSION_USER_READ,
    PERMISSION_USER_WRITE,
};
use crate::util::{random_alnum, rfc3339};
use webauthn_rs_core::proto::AuthenticatorAttachment;

/// Lifetime of a registration code (contract §1.4: `PasswordlessInitCode.Expiry` 1h).
const CODE_TTL: Duration = Duration::from_secs(3600);

/// The user lookups, plus the passkey routes of the REST gateway when
/// [`crate::SandboxConfig::user_v2_rest_passkeys`] is on (ZITADEL v2.59+). Each REST handler
/// only parses the path and renders the reply; the operation itself is shared with the Connect
/// transport (`super::connect`).
pub(super) fn routes(cfg: &crate::SandboxConfig) -> Router<Arc<Shared>> {
    let router = Router::new()
        .route("/v2/users", post(list_users))
        .route("/v2/users/{user_id}", get(get_user));
    if !cfg.user_v2_rest_passkeys {
        return router;
    }
    router
        .route("/v2/users/{user_id}/passkeys", post(rest_register))
        .route("/v2/users/{user_id}/passkeys/_search", post(rest_list))
        .route(
            "/v2/users/{user_id}/passkeys/registration_link",
            post(rest_link),
        )
        .route(
            "/v2/users/{user_id}/passkeys/{passkey_id}",
            post(rest_verify).delete(rest_remove),
        )
}

async fn rest_register(
    State(sh): Sh,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    register_passkey(&sh, &headers, &user_id, &body)
        .await
        .map(Json)
}

async fn rest_verify(
    State(sh): Sh,
    headers: HeaderMap,
    Path((user_id, passkey_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    verify_passkey_registration(&sh, &headers, &user_id, &passkey_id, &body)
        .await
        .map(Json)
}

async fn rest_link(
    State(sh): Sh,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    create_registration_link(&sh, &headers, &user_id, &body)
        .await
        .map(Json)
}

async fn rest_list(
    State(sh): Sh,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    list_passkeys(&sh, &headers, &user_id, &body)
        .await
        .map(Json)
}

async fn rest_remove(
    State(sh): Sh,
    headers: HeaderMap,
    Path((user_id, passkey_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    remove_passkey(&sh, &headers, &user_id, &passkey_id)
        .await
        .map(Json)
}

fn permission_denied() -> ApiError {
    ApiError::zitadel(7, "AUTH-5mWD2", "No matching permissions found")
}

fn user_not_found() -> ApiError {
    ApiError::zitadel(5, "QUERY-sandbox-user", "Errors.User.NotFound")
}

/// The caller and the target user; `permission` is required unless the caller is the target:
/// "self OR permission", as ZITADEL's `checkPermissionOnUser(ctx, permission,
/// allowSelfManagement=true)` returns nil when the aggregate is the caller
/// (`internal/command/permission_checks.go`; ledger G5). A plain user with their own token thus
/// uses the same v2 operations as the helpdesk with an admin token, on REST and Connect alike.
fn caller_and_target(
    sh: &Shared,
    ctx: &Ctx,
    user_id: &str,
    permission: Option<&str>,
) -> Result<(SandboxUser, SandboxUser), ApiError> {
    check_user_id(user_id)?;
    let (caller, target) = sh.with(|s| (s.user(&ctx.user_id).cloned(), s.user(user_id).cloned()));
    let caller = caller.ok_or_else(ApiError::token_invalid)?;
    if let Some(p) = permission {
        if caller.id != user_id && !caller.has(p) {
            return Err(permission_denied());
        }
    }
    let target = target.ok_or_else(user_not_found)?;
    Ok((caller, target))
}

/// PGV: `user_id` 1..200 runes.
fn check_user_id(user_id: &str) -> Result<(), ApiError> {
    let n = user_id.chars().count();
    if n == 0 || n > 200 {
        return Err(ApiError::plain(
            3,
            "invalid request.UserId: value length must be between 1 and 200 runes, inclusive",
        ));
    }
    Ok(())
}

/// Parses a JSON object body (empty body = `{}`); else 400 code 3.
fn object_body(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad_json("expected a JSON object")),
    }
}

/// `google.protobuf.Struct` output: map keys sorted, recursively (contract §1.1, §5.1).
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// A v2 `User` (U7, ZITADEL `user/v2/convert/human.go`): `nickName`, `displayName`,
/// `preferredLanguage` and `gender` are proto3 `optional` and therefore always present (`""`,
/// `"und"`, `"GENDER_UNSPECIFIED"`); `isVerified` only when true; `phone` present.
fn user_json(u: &SandboxUser) -> Value {
    let mut email = serde_json::Map::new();
    email.insert("email".into(), u.email().into());
    if u.email_verified {
        email.insert("isVerified".into(), true.into());
    }
    json!({
        "userId": u.id,
        "details": {
            "sequence": "1",
            "changeDate": "2026-07-01T00:00:00Z",
            "resourceOwner": crate::DEMO_ORG_ID,
            "creationDate": "2026-07-01T00:00:00Z",
        },
        "state": "USER_STATE_ACTIVE",
        "username": u.username,
        "loginNames": [u.login_name()],
        "preferredLoginName": u.login_name(),
        "human": {
            "profile": {
                "givenName": u.first_name,
                "familyName": u.last_name,
                "nickName": "",
                "displayName": u.display_name(),
                "preferredLanguage": u.preferred_language.clone().unwrap_or_else(|| "und".into()),
                "gender": "GENDER_UNSPECIFIED",
            },
            "email": email,
            "phone": {},
            "passwordChanged": "2026-07-01T00:00:00Z",
        },
    })
}

/// `POST /v2/users` (ListUsers, subset): `queries` with `userNameQuery {userName, method}` or
/// `loginNameQuery {loginName, method}` (EQUALS / EQUALS_IGNORE_CASE); only users the caller
/// may read (self, or `user.read`) are returned.
async fn list_users(
    State(sh): Sh,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ctx = authenticate(&sh, &headers)?;
    let req = object_body(&body)?;
    let mut wanted: Vec<(bool, String, bool)> = Vec::new(); // (login name?, value, ignore case)
    if let Some(Value::Array(queries)) = req.get("queries") {
        for q in queries {
            let pick = |key: &str, member: &str| {
                let inner = q.get(key)?;
                let value = inner.get(member)?.as_str()?.to_string();
                let ignore = inner
                    .get("method")
                    .and_then(Value::as_str)
                    .is_some_and(|m| m.ends_with("IGNORE_CASE"));
                Some((value, ignore))
            };
            if let Some((v, i)) = pick("userNameQuery", "userName") {
                wanted.push((false, v, i));
            } else if let Some((v, i)) = pick("loginNameQuery", "loginName") {
                wanted.push((true, v, i));
            }
        }
    }
    let result: Vec<Value> = sh.with(|s| {
        let caller = s.user(&ctx.user_id).cloned();
        s.users
            .iter()
            .filter(|u| {
                caller
                    .as_ref()
                    .is_some_and(|c| c.id == u.id || c.has(PERMISSION_USER_READ))
            })
            .filter(|u| {
                wanted.iter().all(|(login, value, ignore)| {
                    let have = if *login {
                        u.login_name()
                    } else {
                        u.username.clone()
                    };
                    if *ignore {
                        have.eq_ignore_ascii_case(value)
                    } else {
                        have == *value
                    }
                })
            })
            .map(user_json)
            .collect()
    });
    let now = SystemTime::now();
    let mut details = serde_json::Map::new();
    if !result.is_empty() {
        details.insert("totalResult".into(), result.len().to_string().into());
    }
    details.insert("timestamp".into(), rfc3339(now).into());
    let mut out = json!({ "details": details });
    if !result.is_empty() {
        out["result"] = Value::Array(result);
    }
    Ok(Json(out))
}

/// `GET /v2/users/{userId}` (GetUserByID, subset): self, or `user.read`.
async fn get_user(
    State(sh): Sh,
    headers: HeaderMap,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    get_user_by_id(&sh, &headers, &user_id).map(Json)
}

/// GetUserByID on either transport: the user themselves, or `user.read` (ZITADEL
/// `internal/query/user.go` `userCheckPermission`: no check when the caller is the user).
pub(super) fn get_user_by_id(
    sh: &Shared,
    headers: &HeaderMap,
    user_id: &str,
) -> Result<Value, ApiError> {
    let ctx = authenticate(sh, headers)?;
    let (_, target) = caller_and_target(sh, &ctx, user_id, Some(PERMISSION_USER_READ))?;
    Ok(json!({
        "details": {"sequence": "1", "resourceOwner": crate::DEMO_ORG_ID},
        "user": user_json(&target),
    }))
}

/// B1: RegisterPasskey. Without `code`: self or `user.credential.write`; with a valid `code`
/// (from CreatePasskeyRegistrationLink) no further check. `domain` becomes the RP ID (empty:
/// the request's host); `authenticator` maps to `authenticatorAttachment`. Replaces the
/// user's pending registration.
pub(super) async fn register_passkey(
    sh: &Shared,
    headers: &HeaderMap,
    user_id: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let ctx = authenticate(sh, headers)?;
    let req = object_body(body)?;
    let code = match field(&req, "code", "code") {
        None => None,
        Some(Value::Object(c)) => {
            let get = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let (id, code) = (get("id"), get("code"));
            for (what, v) in [("Id", &id), ("Code", &code)] {
                let n = v.chars().count();
                if n == 0 || n > 200 {
                    return Err(ApiError::plain(
                        3,
                        format!("invalid RegisterPasskeyRequest.Code: embedded message failed validation | caused by: invalid PasskeyRegistrationCode.{what}: value length must be between 1 and 200 runes, inclusive"),
                    ));
                }
            }
            Some((id, code))
        }
        Some(_) => return Err(bad_json("code must be an object")),
    };
    let attachment = match field(&req, "authenticator", "authenticator") {
        None => None,
        Some(Value::String(a)) => match a.as_str() {
            "PASSKEY_AUTHENTICATOR_UNSPECIFIED" => None,
            "PASSKEY_AUTHENTICATOR_PLATFORM" => Some(AuthenticatorAttachment::Platform),
            "PASSKEY_AUTHENTICATOR_CROSS_PLATFORM" => Some(AuthenticatorAttachment::CrossPlatform),
            _ => return Err(bad_json("invalid value for enum field authenticator")),
        },
        Some(Value::Number(n)) => match n.as_u64() {
            Some(0) => None,
            Some(1) => Some(AuthenticatorAttachment::Platform),
            Some(2) => Some(AuthenticatorAttachment::CrossPlatform),
            _ => return Err(bad_json("invalid value for enum field authenticator")),
        },
        Some(_) => return Err(bad_json("invalid value for enum field authenticator")),
    };
    let domain = match field(&req, "domain", "domain") {
        None => String::new(),
        Some(Value::String(d)) => d.clone(),
        Some(_) => return Err(bad_json("domain must be a string")),
    };

    let target = if let Some((code_id, code)) = &code {
        check_user_id(user_id)?;
        let now = SystemTime::now();
        let ok = sh.with(|s| {
            s.registration_codes.retain(|c| c.expires > now);
            let pos = s
                .registration_codes
                .iter()
                .position(|c| c.user_id == user_id && c.id == *code_id && c.code == *code)?;
            s.registration_codes.remove(pos);
            s.user(user_id).cloned()
        });
        ok.ok_or_else(|| ApiError::zitadel(3, "COMMAND-sandbox-code", "Errors.User.Code.Invalid"))?
    } else {
        caller_and_target(sh, &ctx, user_id, Some(PERMISSION_CREDENTIAL_WRITE))?.1
    };

    let (host_rp_id, host_origin) = request_domain(sh, headers)?;
    let rp_id = if domain.is_empty() {
        host_rp_id
    } else {
        domain
    };
    let user_handle = if sh.with(|s| s.take_fault(Fault::OptionsForAnotherUser)) {
        b"999999999999999999".to_vec()
    } else {
        target.id.as_bytes().to_vec()
    };
    let now = SystemTime::now();
    let begun = begin_registration(sh, &target, &user_handle, &rp_id, host_origin, attachment)?;
    let o = begun.options;
    let challenge = begun.challenge;
    let mut selection = json!({"userVerification": "required"});
    match attachment {
        Some(AuthenticatorAttachment::Platform) => {
            selection["authenticatorAttachment"] = "platform".into()
        }
        Some(AuthenticatorAttachment::CrossPlatform) => {
            selection["authenticatorAttachment"] = "cross-platform".into()
        }
        None => {}
    }
    let mut public_key = json!({
        "attestation": "none",
        "authenticatorSelection": selection,
        "challenge": challenge,
        "pubKeyCredParams": o.pub_key_cred_params.iter()
            .map(|p| json!({"alg": p.alg, "type": p.type_}))
            .collect::<Vec<_>>(),
        "rp": {"id": o.rp.id, "name": o.rp.name},
        "timeout": o.timeout.unwrap_or(PASSWORDLESS_TIMEOUT_MS),
        "user": {
            "displayName": o.user.display_name,
            "id": RAW_URL.encode(&o.user.id),
            "name": o.user.name,
        },
    });
    let excluded: Vec<Value> = o
        .exclude_credentials
        .unwrap_or_default()
        .iter()
        .map(|d| json!({"id": RAW_URL.encode(&d.id), "type": d.type_}))
        .collect();
    if !excluded.is_empty() {
        public_key["excludeCredentials"] = Value::Array(excluded);
    }
    let (passkey_id, seq) = (begun.passkey_id, begun.sequence);
    tracing::info!(rp_id = %rp_id, "v2 passkey registration started");
    Ok(json!({
        "details": details(seq, "changeDate", now),
        "passkeyId": passkey_id,
        "publicKeyCredentialCreationOptions": sorted(json!({"publicKey": public_key})),
    }))
}

/// B2: VerifyPasskeyRegistration. No permission check beyond a valid token and `passkeyId` is
/// only validated (contract §5, §9): the user's current pending registration is verified, with
/// RP ID = the stored domain and the client data's own origin accepted (contract §5.2).
pub(super) async fn verify_passkey_registration(
    sh: &Shared,
    headers: &HeaderMap,
    user_id: &str,
    passkey_id: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    sh.with(|s| s.last_v2_verify_body = Some(String::from_utf8_lossy(body).into_owned()));
    authenticate(sh, headers)?;
    if sh.with(|s| s.take_fault(Fault::VerifyRejected)) {
        return Err(ApiError::create_failed());
    }
    check_user_id(user_id)?;
    let n = passkey_id.chars().count();
    if n == 0 || n > 200 {
        return Err(ApiError::plain(
            3,
            "invalid VerifyPasskeyRegistrationRequest.PasskeyId: value length must be between 1 and 200 runes, inclusive",
        ));
    }
    let req = object_body(body)?;
    let credential =
        match field(&req, "publicKeyCredential", "public_key_credential") {
            None => return Err(ApiError::plain(
                3,
                "invalid VerifyPasskeyRegistrationRequest.PublicKeyCredential: value is required",
            )),
            Some(Value::Object(o)) => Value::Object(o.clone()),
            Some(_) => {
                return Err(bad_json(
                    "invalid value for Struct field publicKeyCredential: expected a JSON object",
                ))
            }
        };
    let name = match field(&req, "passkeyName", "passkey_name") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(bad_json("passkeyName must be a string")),
    };
    let runes = name.chars().count();
    if !(1..=200).contains(&runes) {
        return Err(ApiError::plain(
            3,
            "invalid VerifyPasskeyRegistrationRequest.PasskeyName: value length must be between 1 and 200 runes, inclusive",
        ));
    }
    let pending = sh.with(|s| {
        s.passkeys
            .iter()
            .find(|p| !p.is_ready() && p.user_id == user_id)
            .and_then(|p| {
                p.reg_state
                    .clone()
                    .map(|st| (p.id.clone(), p.rp_id.clone(), st))
            })
    });
    let Some((pending_id, rp_id, reg_state)) = pending else {
        return Err(ApiError::webauthn_not_found());
    };
    // The handler re-serialises the Struct and feeds it to the v1 parser (contract §5.1).
    let bytes =
        serde_json::to_vec(&sorted(credential)).map_err(|_| ApiError::parse_credential())?;
    let reg = parse_credential(&bytes).map_err(|reason| {
        tracing::debug!(%reason, "credential parse failed");
        ApiError::parse_credential()
    })?;
    let origin = serde_json::from_slice::<Value>(&reg.response.client_data_json)
        .ok()
        .and_then(|cd| cd.get("origin").and_then(Value::as_str).map(str::to_string))
        .and_then(|o| url::Url::parse(&o).ok())
        .ok_or_else(ApiError::create_failed)?;
    finish_registration(sh, &rp_id, origin, &reg, &reg_state, &pending_id, name)?;
    tracing::info!("v2 passkey registration verified");
    let now = SystemTime::now();
    let seq = sh.with(|s| s.next_sequence());
    Ok(json!({ "details": details(seq, "changeDate", now) }))
}

/// B3: CreatePasskeyRegistrationLink. Needs `user.passkey.write`, for oneself too (contract
/// §5). `returnCode` returns `{id, code}`; `sendLink` and `{}` "send" an e-mail (nothing is
/// sent; the code is stored all the same).
pub(super) async fn create_registration_link(
    sh: &Shared,
    headers: &HeaderMap,
    user_id: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let ctx = authenticate(sh, headers)?;
    let req = object_body(body)?;
    check_user_id(user_id)?;
    let caller = sh
        .with(|s| s.user(&ctx.user_id).cloned())
        .ok_or_else(ApiError::token_invalid)?;
    if !caller.has(PERMISSION_PASSKEY_WRITE) {
        return Err(permission_denied());
    }
    let return_code = field(&req, "returnCode", "return_code").is_some();
    if let Some(send) = field(&req, "sendLink", "send_link") {
        if return_code {
            return Err(bad_json("oneof medium is already set"));
        }
        if let Some(t) = send.get("urlTemplate").and_then(Value::as_str) {
            if !(1..=200).contains(&t.chars().count()) {
                return Err(ApiError::plain(
                    3,
                    "invalid SendPasskeyRegistrationLink.UrlTemplate: value length must be between 1 and 200 runes, inclusive",
                ));
            }
        }
    }
    if sh.with(|s| s.user(user_id).is_none()) {
        return Err(user_not_found());
    }
    let now = SystemTime::now();
    let code = random_alnum(12);
    let (code_id, seq) = sh.with(|s| {
        let id = s.next_id();
        s.registration_codes.push(RegistrationCode {
            user_id: user_id.to_string(),
            id: id.clone(),
            code: code.clone(),
            expires: crate::util::later(now, CODE_TTL),
        });
        (id, s.next_sequence())
    });
    let mut out = json!({ "details": details(seq, "creationDate", now) });
    if return_code {
        out["code"] = json!({"id": code_id, "code": code});
    }
    Ok(out)
}

/// B4: ListPasskeys: READY passkeys only; self or `user.read`.
pub(super) async fn list_passkeys(
    sh: &Shared,
    headers: &HeaderMap,
    user_id: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let ctx = authenticate(sh, headers)?;
    object_body(body)?;
    let (_, target) = caller_and_target(sh, &ctx, user_id, Some(PERMISSION_USER_READ))?;
    let (result, seq): (Vec<Value>, u64) = sh.with(|s| {
        let r = s
            .passkeys
            .iter()
            .filter(|p| p.is_ready() && p.user_id == target.id)
            .map(|p| {
                let mut m = serde_json::Map::new();
                m.insert("id".into(), Value::String(p.id.clone()));
                m.insert("state".into(), "AUTH_FACTOR_STATE_READY".into());
                if let Some(name) = p.name.as_ref().filter(|n| !n.is_empty()) {
                    m.insert("name".into(), Value::String(name.clone()));
                }
                Value::Object(m)
            })
            .collect();
        (r, s.sequence)
    });
    let mut d = serde_json::Map::new();
    if !result.is_empty() {
        d.insert("totalResult".into(), result.len().to_string().into());
    }
    d.insert("processedSequence".into(), seq.to_string().into());
    d.insert("timestamp".into(), rfc3339(SystemTime::now()).into());
    let mut out = json!({ "details": d });
    if !result.is_empty() {
        out["result"] = Value::Array(result);
    }
    Ok(out)
}

/// B5: RemovePasskey, READY or pending; self or `user.write`; unknown → 404 `COMMAND-DAfb2`.
pub(super) async fn remove_passkey(
    sh: &Shared,
    headers: &HeaderMap,
    user_id: &str,
    passkey_id: &str,
) -> Result<Value, ApiError> {
    let ctx = authenticate(sh, headers)?;
    let (_, target) = caller_and_target(sh, &ctx, user_id, Some(PERMISSION_USER_WRITE))?;
    let now = SystemTime::now();
    let seq = sh.with(|s| {
        let pos = s
            .passkeys
            .iter()
            .position(|p| p.id == passkey_id && p.user_id == target.id)?;
        s.passkeys.remove(pos);
        Some(s.next_sequence())
    });
    match seq {
        Some(seq) => Ok(json!({ "details": details(seq, "changeDate", now) })),
        None => Err(ApiError::zitadel(
            5,
            "COMMAND-DAfb2",
            "Errors.User.WebAuthN.NotFound",
        )),
    }
}
