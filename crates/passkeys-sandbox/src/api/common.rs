//! Plumbing shared by the Auth API v1 and the user service v2: ZITADEL's proto-JSON
//! conventions (contract §1.1), error bodies and status codes (§4), the fault middleware, and
//! the auth interceptor's checks (§1.1, §4.3, §6.6).

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::state::{Fault, Shared};
use crate::util::rfc3339;

pub(super) type Sh = State<Arc<Shared>>;

/// base64url without padding, as Go's `base64.RawURLEncoding` (lenient about trailing bits).
pub(super) const RAW_URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

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
    pub(super) fn zitadel(code: u16, id: &'static str, text: &str) -> Self {
        ApiError {
            code,
            message: format!("{text} ({id})"),
            detail: Some((id, text.to_string())),
        }
    }

    /// A native gRPC status (no details), e.g. PGV validation or "auth header missing".
    pub(super) fn plain(code: u16, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            detail: None,
        }
    }

    pub(super) fn token_invalid() -> Self {
        Self::zitadel(16, "AUTH-7fs1e", "Errors.Token.Invalid")
    }

    pub(super) fn webauthn_not_found() -> Self {
        Self::zitadel(13, "WEBAU-5M9so", "WebAuthN Token could not be found")
    }

    pub(super) fn parse_credential() -> Self {
        Self::zitadel(13, "WEBAU-sEr8c", "Error on parse credential data")
    }

    pub(super) fn create_failed() -> Self {
        Self::zitadel(13, "WEBAU-3Vb9s", "Error on create credentials")
    }
}

impl ApiError {
    /// The same error as a Connect error (https://connectrpc.com/docs/protocol, "Error
    /// end-stream"; connect-go `protocol_connect.go`): `code` as its name, the same message, and
    /// the `zitadel.v1.ErrorDetail` as `{type, value, debug}` with `value` the detail's protobuf
    /// encoding in unpadded standard base64 and `debug` its JSON form. HTTP status from the
    /// Connect code table, which equals grpc-gateway's for every code ZITADEL uses.
    pub(super) fn into_connect_response(self) -> Response {
        let name = match self.code {
            1 => "canceled",
            3 => "invalid_argument",
            4 => "deadline_exceeded",
            5 => "not_found",
            6 => "already_exists",
            7 => "permission_denied",
            8 => "resource_exhausted",
            9 => "failed_precondition",
            10 => "aborted",
            11 => "out_of_range",
            12 => "unimplemented",
            13 => "internal",
            14 => "unavailable",
            15 => "data_loss",
            16 => "unauthenticated",
            _ => "unknown",
        };
        let mut body = json!({"code": name, "message": self.message});
        if let (Some((id, text)), Some(obj)) = (&self.detail, body.as_object_mut()) {
            let value = prost::Message::encode_to_vec(&ErrorDetail {
                id: id.to_string(),
                message: text.to_string(),
            });
            obj.insert(
                "details".into(),
                json!([{
                    "type": "zitadel.v1.ErrorDetail",
                    "value": base64::engine::general_purpose::STANDARD_NO_PAD.encode(value),
                    "debug": {"id": id, "message": text},
                }]),
            );
        }
        let status = match self.code {
            9 | 11 => StatusCode::BAD_REQUEST,
            15 => StatusCode::INTERNAL_SERVER_ERROR,
            c => http_status(c),
        };
        (status, Json(body)).into_response()
    }
}

/// `zitadel.v1.ErrorDetail {string id = 1; string message = 2;}`, the detail ZITADEL puts in
/// its Connect errors (encoded with prost).
#[derive(Clone, PartialEq, prost::Message)]
struct ErrorDetail {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    message: String,
}

/// grpc-gateway v2 `HTTPStatusFromCode` (contract §4.2).
pub(super) fn http_status(code: u16) -> StatusCode {
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
pub(super) async fn protojson_whitespace(response: Response, slug: bool) -> Response {
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
            // Gateway errors only: a Connect error's detail has `type`, not `@type`.
            if let Some(d) = v
                .get_mut("details")
                .and_then(|d| d.get_mut(0))
                .filter(|d| d.get("@type").is_some())
            {
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

pub(super) struct Ctx {
    /// The signed-in user (the token's subject).
    pub(super) user_id: String,
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
pub(super) fn origin_allowed(sh: &Shared, origin: &str) -> bool {
    ["http://localhost", "http://127.0.0.1", "http://[::1]"].contains(&origin)
        || sh.cfg.additional_origins.iter().any(|o| o == origin)
}

/// Applies one-shot faults, then checks the request as ZITADEL's auth interceptor does
/// (`authz/context.go` `VerifyTokenAndCreateCtxData`, `token_verifier.go`):
/// `Authorization: Bearer <token>` live and unexpired (E2: 401 `AUTH-7fs1e`, or 403 code 7 on
/// pre-2.60 instances), granted with the ZITADEL audience scope, an `Origin` header (if any)
/// among the app's origins (E3 `AUTH-DZG21`), an existing `x-zitadel-orgid` (I11 `AUTH-Bs7Ds`),
/// and a second factor in the sign-in when the user has one set up (E3 `AUTHZ-Kl3p0`).
pub(super) fn authenticate(sh: &Shared, headers: &HeaderMap) -> Result<Ctx, ApiError> {
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
pub(super) fn request_domain(
    sh: &Shared,
    headers: &HeaderMap,
) -> Result<(String, url::Url), ApiError> {
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
pub(super) fn details(sequence: u64, date_field: &str, at: SystemTime) -> Value {
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
pub(super) fn empty_message(body: &[u8]) -> Result<(), ApiError> {
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

/// A JSON reply (protojson does not HTML-escape; the whitespace varies, see
/// `protojson_whitespace`).
pub(crate) fn proto_json(body: &Value) -> Response {
    Json(body.clone()).into_response()
}

/// Decodes a protobuf `bytes` JSON value: std or URL alphabet, padded or not (contract §1.1).
pub(super) fn decode_proto_bytes(s: &str) -> Option<Vec<u8>> {
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

pub(super) fn field<'a>(
    obj: &'a serde_json::Map<String, Value>,
    camel: &str,
    snake: &str,
) -> Option<&'a Value> {
    obj.get(camel)
        .or_else(|| obj.get(snake))
        .filter(|v| !v.is_null())
}

pub(super) fn bad_json(msg: &str) -> ApiError {
    ApiError::plain(3, format!("proto: syntax error: {msg}"))
}
