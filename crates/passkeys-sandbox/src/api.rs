//! Auth API v1 (contract §1, §8.1 A1–A8) with ZITADEL's proto-JSON conventions (§1.1), the
//! passkey options shape (§2), go-webauthn's credential parsing rules (§3.2), webauthn-rs
//! verification (§3.3) and ZITADEL's error bodies and status codes (§4).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AuthenticatorAttestationResponseRaw, COSEAlgorithm,
    RegisterPublicKeyCredential, UserVerificationPolicy,
};
use webauthn_rs_core::WebauthnCore;

use crate::pages;
use crate::state::{random_alnum, rfc3339, Fault, Passkey, Shared};
use webauthn_rs_core::proto::RegistrationState;

mod v2;

type Sh = State<Arc<Shared>>;

/// `WebAuthNName` default (contract §2.2 `rp.name`).
const RP_NAME: &str = "ZITADEL";
/// Passwordless timeout (contract §2.2).
const PASSWORDLESS_TIMEOUT_MS: u32 = 300_000;

/// base64url without padding, as Go's `base64.RawURLEncoding` (lenient about trailing bits).
const RAW_URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

pub(crate) fn routes() -> Router<Arc<Shared>> {
    v2::routes()
        .route("/auth/v1/healthz", get(healthz))
        .route("/auth/v1/users/me", get(get_my_user))
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
        .route(
            "/ui/login/login/passwordless/init",
            get(passwordless_init_page),
        )
}

// ---------------------------------------------------------------------------------------------
// Errors (contract §4)

/// A gRPC-gateway style error: `{code, message, details?}` with the HTTP status of §4.2.
pub(crate) struct ApiError {
    code: u16,
    message: String,
    detail: Option<(&'static str, String)>,
}

impl ApiError {
    /// A ZITADEL error: message `<text> (<id>)` plus a `zitadel.v1.ErrorDetail`.
    fn zitadel(code: u16, id: &'static str, text: &str) -> Self {
        ApiError {
            code,
            message: format!("{text} ({id})"),
            detail: Some((id, text.to_string())),
        }
    }

    /// A native gRPC status (no details), e.g. PGV validation or "auth header missing".
    fn plain(code: u16, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            detail: None,
        }
    }

    fn token_invalid() -> Self {
        Self::zitadel(16, "AUTH-7fs1e", "Errors.Token.Invalid")
    }

    fn webauthn_not_found() -> Self {
        Self::zitadel(13, "WEBAU-5M9so", "WebAuthN Token could not be found")
    }

    fn parse_credential() -> Self {
        Self::zitadel(13, "WEBAU-sEr8c", "Error on parse credential data")
    }

    fn create_failed() -> Self {
        Self::zitadel(13, "WEBAU-3Vb9s", "Error on create credentials")
    }
}

/// grpc-gateway v2 `HTTPStatusFromCode` (contract §4.2).
fn http_status(code: u16) -> StatusCode {
    match code {
        0 => StatusCode::OK,
        1 => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        3 | 9 | 11 => StatusCode::BAD_REQUEST,
        4 => StatusCode::GATEWAY_TIMEOUT,
        5 => StatusCode::NOT_FOUND,
        6 | 10 => StatusCode::CONFLICT,
        7 => StatusCode::FORBIDDEN,
        8 => StatusCode::TOO_MANY_REQUESTS,
        12 => StatusCode::NOT_IMPLEMENTED,
        14 => StatusCode::SERVICE_UNAVAILABLE,
        16 => StatusCode::UNAUTHORIZED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"code": self.code, "message": self.message});
        if let (Some((id, text)), Some(obj)) = (&self.detail, body.as_object_mut()) {
            obj.insert(
                "details".into(),
                json!([{"@type": "type.googleapis.com/zitadel.v1.ErrorDetail", "id": id, "message": text}]),
            );
        }
        let mut resp = (http_status(self.code), Json(body)).into_response();
        if self.code == 16 {
            if let Ok(v) = HeaderValue::from_str(&self.message) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

/// Unknown path: 404 `{"code":5,"message":"Not Found"}` (contract §4.1).
pub(crate) async fn not_found() -> Response {
    ApiError::plain(5, "Not Found").into_response()
}

/// Wrong method: 405 `{"code":12,"message":"Method Not Allowed"}` (contract §4.1).
pub(crate) async fn method_not_allowed() -> Response {
    let body = json!({"code": 12, "message": "Method Not Allowed"});
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// Network-level faults around the Auth API handlers: [`Fault::SlowReply`] delays the next
/// call; [`Fault::ResetAfterVerify`] lets a successful `_verify` commit, then cuts the
/// connection in the middle of the response body.
pub(crate) async fn network_faults(
    State(sh): Sh,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(delay) = sh.with(|s| s.take_slow_reply()) {
        tokio::time::sleep(delay).await;
    }
    // E9: a proxy's HTML error page, or ZITADEL's quota answer.
    if sh.with(|s| s.take_fault(Fault::ProxyBadGateway)) {
        let mut resp = (
            StatusCode::BAD_GATEWAY,
            Html("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"),
        )
            .into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return resp;
    }
    if sh.with(|s| s.take_fault(Fault::QuotaExhausted)) {
        return ApiError::zitadel(8, "QUOTA-vjAy8", "Quota.Access.Exhausted").into_response();
    }
    let slug = sh.with(|s| s.take_fault(Fault::SlugErrorDetail));
    let is_verify = request.uri().path().ends_with("/passwordless/_verify");
    let response = next.run(request).await;
    let response = protojson_whitespace(response, slug).await;
    if is_verify
        && response.status().is_success()
        && sh.with(|s| s.take_fault(Fault::ResetAfterVerify))
    {
        tracing::info!("sandbox fault ResetAfterVerify: cutting the connection after commit");
        let (mut parts, _) = response.into_parts();
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("100"));
        let broken = futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "sandbox fault ResetAfterVerify",
            ))
        });
        return Response::from_parts(parts, axum::body::Body::from_stream(broken));
    }
    response
}

/// U8: grpc-gateway's protojson output has deliberately unstable whitespace (protobuf-go
/// `detrand`): randomly insert a space after the first `:` of JSON replies, so no client
/// compares bytes. With `slug` (E7), an error's `zitadel.v1.ErrorDetail` becomes the v3
/// `zitadel.error.v2.ErrorDetail` with a `slug` instead of `id`.
async fn protojson_whitespace(response: Response, slug: bool) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if slug && !parts.status.is_success() {
        if let Ok(mut v) = serde_json::from_str::<Value>(&text) {
            if let Some(d) = v.get_mut("details").and_then(|d| d.get_mut(0)) {
                let id = d.get("id").cloned().unwrap_or(Value::Null);
                let message = d.get("message").cloned().unwrap_or(Value::Null);
                *d = json!({
                    "@type": "type.googleapis.com/zitadel.error.v2.ErrorDetail",
                    "slug": "sandbox.error",
                    "message": message,
                    "details": {"id": id},
                });
                text = v.to_string();
            }
        }
    }
    if rand::random::<bool>() {
        text = text.replacen("\":", "\": ", 1);
    }
    Response::from_parts(parts, axum::body::Body::from(text))
}

// ---------------------------------------------------------------------------------------------
// Authentication (contract §1.1, §4.3, §6.6)

struct Ctx {
    /// The signed-in user (the token's subject).
    user_id: String,
}

/// The request's issuer as set by `oidc::instance_host` (D1/D2).
pub(crate) fn request_issuer(sh: &Shared, headers: &HeaderMap) -> String {
    headers
        .get(crate::oidc::ISSUER_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| sh.issuer.clone())
}

/// E3: the app's allowed origins: the origins of its redirect URIs plus additional origins.
fn origin_allowed(sh: &Shared, origin: &str) -> bool {
    ["http://localhost", "http://127.0.0.1", "http://[::1]"].contains(&origin)
        || sh.cfg.additional_origins.iter().any(|o| o == origin)
}

/// Applies one-shot faults, then checks the request as ZITADEL's auth interceptor does
/// (`authz/context.go` `VerifyTokenAndCreateCtxData`, `token_verifier.go`):
/// `Authorization: Bearer <token>` live and unexpired (E2: 401 `AUTH-7fs1e`, or 403 code 7 on
/// pre-2.60 instances), granted with the ZITADEL audience scope, an `Origin` header (if any)
/// among the app's origins (E3 `AUTH-DZG21`), an existing `x-zitadel-orgid` (I11 `AUTH-Bs7Ds`),
/// and a second factor in the sign-in when the user has one set up (E3 `AUTHZ-Kl3p0`).
fn authenticate(sh: &Shared, headers: &HeaderMap) -> Result<Ctx, ApiError> {
    let fault = sh.with(|s| {
        if s.take_fault(Fault::ServerError) {
            Some(ApiError::plain(
                14,
                "service unavailable (sandbox fault ServerError)",
            ))
        } else if s.take_fault(Fault::Unauthorized) {
            Some(ApiError::token_invalid())
        } else {
            None
        }
    });
    if let Some(e) = fault {
        return Err(e);
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::plain(16, "auth header missing"));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::zitadel(16, "AUTH-toLo1", "invalid auth header"))?;
    let issuer = request_issuer(sh, headers);
    let now = SystemTime::now();
    let pre_260 = sh.cfg.pre_2_60_forbidden;
    let (user_id, amr) = sh.with(|s| {
        use crate::oidc::TokenProblem;
        let session = match crate::oidc::check_access_token(s, token, &issuer, now) {
            Ok(session) => session,
            // E2 / I13: before v2.60.0 (PR #8476) expired and superseded tokens were 403.
            // (The error ID is not in the checklist; the sandbox marks it as its own.)
            Err(TokenProblem::Expired) if pre_260 => {
                return Err(ApiError::zitadel(
                    7,
                    "OIDCS-sandbox-expired",
                    "Errors.OIDCSession.Token.Expired",
                ))
            }
            Err(TokenProblem::Superseded) if pre_260 => {
                return Err(ApiError::zitadel(
                    7,
                    "OIDCS-sandbox-invalid",
                    "Errors.OIDCSession.Token.Invalid",
                ))
            }
            Err(_) => return Err(ApiError::token_invalid()),
        };
        // E2: missing ZITADEL project in `aud` ⇒ 401.
        if !session.scopes.iter().any(|x| x == crate::ZITADEL_AUD_SCOPE) {
            return Err(ApiError::token_invalid());
        }
        Ok((session.user_id.clone(), session.amr.clone()))
    })?;
    // E3 / I10: a present Origin header must be an allowed origin.
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(sh, origin) {
            return Err(ApiError::zitadel(
                7,
                "AUTH-DZG21",
                "Errors.OriginNotAllowed",
            ));
        }
    }
    // I11: x-zitadel-orgid is optional; a non-existent org ⇒ 403.
    if let Some(org) = headers.get("x-zitadel-orgid") {
        if org.to_str().ok() != Some(crate::DEMO_ORG_ID) {
            return Err(ApiError::zitadel(
                7,
                "AUTH-Bs7Ds",
                "Organisation doesn't exist",
            ));
        }
    }
    // E3 / I14: a user with a second factor signed in without it.
    let needs_mfa = sh.with(|s| s.user(&user_id).is_some_and(|u| u.otp.is_some()));
    if needs_mfa && !amr.iter().any(|a| a == "mfa") {
        return Err(ApiError::zitadel(7, "AUTHZ-Kl3p0", "mfa required"));
    }
    Ok(Ctx { user_id })
}

/// RP ID and origin of the request as ZITADEL v1 computes them (contract §2.2, §3.3): the Host
/// header's host name, and `http://` + Host.
fn request_domain(sh: &Shared, headers: &HeaderMap) -> Result<(String, url::Url), ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty());
    let parsed = host
        .and_then(|h| url::Url::parse(&format!("http://{h}")).ok())
        .filter(|u| u.host_str().is_some() && u.path() == "/");
    let url = match parsed {
        Some(u) => u,
        None => url::Url::parse(&sh.issuer).map_err(|_| {
            ApiError::zitadel(13, "WEBAU-UX9ta", "Errors.User.WebAuthN.ServerConfig")
        })?,
    };
    let rp_id = url.host_str().unwrap_or("localhost").to_string();
    let origin = url::Url::parse(&url.origin().ascii_serialization()).unwrap_or(url);
    Ok((rp_id, origin))
}

/// `ObjectDetails` (contract §1.3): `sequence` as a string, one date, `resourceOwner`.
fn details(sequence: u64, date_field: &str, at: SystemTime) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("sequence".into(), Value::String(sequence.to_string()));
    m.insert(date_field.into(), Value::String(rfc3339(at)));
    m.insert(
        "resourceOwner".into(),
        Value::String(crate::DEMO_ORG_ID.into()),
    );
    Value::Object(m)
}

/// Accepts an empty body or a JSON object (unknown fields ignored); else 400 code 3.
fn empty_message(body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(ApiError::plain(
            3,
            "proto: syntax error: unexpected token, expected a JSON object",
        )),
    }
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

/// A JSON reply (protojson does not HTML-escape; the whitespace varies, see
/// `protojson_whitespace`).
pub(crate) fn proto_json(body: &Value) -> Response {
    Json(body.clone()).into_response()
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

/// go-webauthn's default credential parameters, in its order (contract §2.2).
fn zitadel_algorithms() -> Vec<COSEAlgorithm> {
    vec![
        COSEAlgorithm::ES256,
        COSEAlgorithm::ES384,
        COSEAlgorithm::ES521,
        COSEAlgorithm::RS256,
        COSEAlgorithm::RS384,
        COSEAlgorithm::RS512,
        COSEAlgorithm::PS256,
        COSEAlgorithm::PS384,
        COSEAlgorithm::PS512,
        COSEAlgorithm::EDDSA,
    ]
}

fn webauthn_core(rp_id: &str, origin: url::Url) -> WebauthnCore {
    WebauthnCore::new_unsafe_experts_only(
        RP_NAME,
        rp_id,
        vec![origin],
        Duration::from_millis(u64::from(PASSWORDLESS_TIMEOUT_MS)),
        None,
        None,
    )
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
    let exclude: Vec<Vec<u8>> = sh.with(|s| {
        s.passkeys
            .iter()
            .filter(|p| p.user_id == ctx.user_id)
            .filter_map(|p| p.credential.as_ref().map(|c| c.cred_id.clone()))
            .collect()
    });
    let core = webauthn_core(&rp_id, origin);
    let begin_failed = |e: WebauthnError| {
        tracing::warn!(error = %e, "BeginRegistration failed");
        ApiError::zitadel(13, "WEBAU-bM8sd", "Error on begin register")
    };
    let builder = core
        .new_challenge_register_builder(
            user.id.as_bytes(),
            &user.login_name(),
            &user.display_name(),
        )
        .map_err(begin_failed)?
        .attestation(AttestationConveyancePreference::None)
        .user_verification_policy(UserVerificationPolicy::Required)
        .credential_algorithms(zitadel_algorithms())
        .exclude_credentials((!exclude.is_empty()).then_some(exclude))
        .require_resident_key(false)
        .authenticator_attachment(None);
    let (ccr, reg_state) = core
        .generate_challenge_register(builder)
        .map_err(begin_failed)?;
    let o = ccr.public_key;
    let challenge = RAW_URL.encode(&o.challenge);
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
            challenge: challenge.clone(),
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
    let now = SystemTime::now();
    let seq = sh.with(|s| {
        s.passkeys
            .retain(|p| p.is_ready() || p.user_id != ctx.user_id);
        let id = s.next_id();
        s.passkeys.push(Passkey {
            user_id: ctx.user_id.clone(),
            rp_id: rp_id.clone(),
            id,
            name: None,
            challenge,
            reg_state: Some(reg_state),
            credential: None,
        });
        s.next_sequence()
    });
    tracing::info!(rp_id = %rp_id, "passwordless registration started");
    Ok(Json(json!({
        "key": {"publicKey": STANDARD.encode(json_bytes)},
        "details": details(seq, "creationDate", now),
    })))
}

/// Decodes a protobuf `bytes` JSON value: std or URL alphabet, padded or not (contract §1.1).
fn decode_proto_bytes(s: &str) -> Option<Vec<u8>> {
    let url = s.contains(['-', '_']);
    let padded = s.len().is_multiple_of(4);
    let engine = match (url, padded) {
        (false, true) => base64::engine::general_purpose::STANDARD,
        (false, false) => base64::engine::general_purpose::STANDARD_NO_PAD,
        (true, true) => base64::engine::general_purpose::URL_SAFE,
        (true, false) => base64::engine::general_purpose::URL_SAFE_NO_PAD,
    };
    engine.decode(s).ok()
}

fn field<'a>(
    obj: &'a serde_json::Map<String, Value>,
    camel: &str,
    snake: &str,
) -> Option<&'a Value> {
    obj.get(camel)
        .or_else(|| obj.get(snake))
        .filter(|v| !v.is_null())
}

fn bad_json(msg: &str) -> ApiError {
    ApiError::plain(3, format!("proto: syntax error: {msg}"))
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

/// go-webauthn `URLEncodedBase64`: trailing `=` trimmed, then RawURL-decoded; `null` is empty.
fn url_b64_member(v: Option<&Value>) -> Result<Vec<u8>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => RAW_URL
            .decode(s.trim_end_matches('='))
            .map_err(|e| format!("not base64url: {e}")),
        Some(_) => Err("not a string".into()),
    }
}

/// Parses the credential JSON with go-webauthn v0.10.2's rules (contract §3.2). The error text
/// is only logged; the client sees `WEBAU-sEr8c`.
fn parse_credential(bytes: &[u8]) -> Result<RegisterPublicKeyCredential, String> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("credential is not one JSON value: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("credential is not a JSON object".into());
    };
    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err("missing ID".into()),
    };
    match RAW_URL.decode(&id) {
        Ok(b) if !b.is_empty() => {}
        _ => return Err("ID not base64.RawURLEncoded".into()),
    }
    if obj.get("type").and_then(Value::as_str) != Some("public-key") {
        return Err("type is not public-key".into());
    }
    let raw_id = url_b64_member(obj.get("rawId")).map_err(|e| format!("rawId: {e}"))?;
    let Some(Value::Object(response)) = obj.get("response") else {
        return Err("missing response".into());
    };
    let client_data_json = url_b64_member(response.get("clientDataJSON"))
        .map_err(|e| format!("clientDataJSON: {e}"))?;
    match serde_json::from_slice::<Value>(&client_data_json) {
        Ok(Value::Object(_)) => {}
        _ => return Err("clientDataJSON is not a JSON object".into()),
    }
    let attestation_object = url_b64_member(response.get("attestationObject"))
        .map_err(|e| format!("attestationObject: {e}"))?;
    if attestation_object.is_empty() {
        return Err("missing attestationObject".into());
    }
    let raw_id = if raw_id.is_empty() {
        RAW_URL.decode(&id).unwrap_or_default()
    } else {
        raw_id
    };
    Ok(RegisterPublicKeyCredential {
        id,
        raw_id,
        response: AuthenticatorAttestationResponseRaw {
            attestation_object,
            client_data_json,
            transports: None,
        },
        type_: "public-key".into(),
        extensions: Default::default(),
    })
}

/// webauthn-rs errors that go-webauthn raises while *parsing* (CBOR, authData, JSON).
fn is_parse_error(e: &WebauthnError) -> bool {
    matches!(
        e,
        WebauthnError::ParseBase64Failure(_)
            | WebauthnError::ParseCBORFailure(_)
            | WebauthnError::ParseJSONFailure(_)
            | WebauthnError::ParseNOMFailure
            | WebauthnError::ParseInsufficientBytesAvailable
    )
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

/// Verifies a registration with webauthn-rs (RP ID `rp_id`, allowed origin `origin`, the
/// stored challenge state) and turns the pending passkey `pending_id` READY under `name`
/// (contract §3.3, §8.2). Shared by v1 VerifyMyPasswordless and v2 VerifyPasskeyRegistration.
pub(crate) fn finish_registration(
    sh: &Shared,
    rp_id: &str,
    origin: url::Url,
    reg: &RegisterPublicKeyCredential,
    reg_state: &RegistrationState,
    pending_id: &str,
    name: String,
) -> Result<(), ApiError> {
    let core = webauthn_core(rp_id, origin.clone());
    let credential = core.register_credential(reg, reg_state, None).map_err(|e| {
        tracing::debug!(error = %e, rp_id = %rp_id, origin = %origin, "registration verification failed");
        if is_parse_error(&e) {
            ApiError::parse_credential()
        } else {
            ApiError::create_failed()
        }
    })?;
    sh.with(|s| {
        let p = s
            .passkeys
            .iter_mut()
            .find(|p| p.id == pending_id && !p.is_ready())?;
        p.credential = Some(credential);
        p.name = Some(name);
        p.reg_state = None;
        Some(())
    })
    .ok_or_else(ApiError::webauthn_not_found)
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
