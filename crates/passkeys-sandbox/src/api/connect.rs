//! User service v2 over the Connect protocol (ZITADEL v4+, docs/zitadel-fidelity.md "API
//! generations"): `POST /zitadel.user.v2.UserService/<Method>` with `Content-Type:
//! application/json` (Connect unary, JSON codec, https://connectrpc.com/docs/protocol). The
//! path parameters of the REST gateway (`userId`, `passkeyId`) are fields of the request body.
//! This module only parses and renders: each operation is the one the REST gateway runs
//! (`super::v2`).
//!
//! ZITADEL v4.0.0 serves the v2 services with connect-go (commit `9ebf2316c`, #10145;
//! `internal/api/grpc/user/v2/server.go` `RegisterConnectServer`). Errors are connect errors
//! built by `internal/api/grpc/gerrors/zitadel_errors.go` `ZITADELToConnectError`: the message
//! `<key> (<id>)` with one `zitadel.v1.ErrorDetail {id, message}` detail, written by connect-go as
//! `{"code":"permission_denied","message":…,"details":[{"type","value","debug"}]}` with the HTTP
//! status of the Connect protocol's code table.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

use super::common::{field, ApiError, Sh};
use super::v2;
use crate::state::Shared;

/// The service's path prefix (connect-go codegen `UserServiceName`).
const SERVICE: &str = "zitadel.user.v2.UserService";

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/zitadel.user.v2.UserService/{method}", post(unary))
}

/// One unary JSON call: checks the codec, decodes the request message, runs the operation.
async fn unary(
    State(sh): Sh,
    headers: HeaderMap,
    Path(method): Path<String>,
    body: Bytes,
) -> Response {
    // connect-go answers a content type it has no codec for with 415 and `Accept-Post`
    // (`handler.go` `ServeHTTP`); the sandbox has the JSON codec only.
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        let mut resp = StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
        resp.headers_mut()
            .insert("accept-post", HeaderValue::from_static("application/json"));
        return resp;
    }
    match call(&sh, &headers, &method, &body).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_connect_response(),
    }
}

async fn call(
    sh: &Shared,
    headers: &HeaderMap,
    method: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    const METHODS: [&str; 6] = [
        "GetUserByID",
        "RegisterPasskey",
        "VerifyPasskeyRegistration",
        "ListPasskeys",
        "RemovePasskey",
        "CreatePasskeyRegistrationLink",
    ];
    if !METHODS.contains(&method) {
        // connect-go's generated `UnimplementedUserServiceHandler`: the other methods of the
        // service exist in ZITADEL but not in the sandbox.
        return Err(ApiError::plain(
            12,
            format!("{SERVICE}.{method} is not implemented"),
        ));
    }
    // connect-go's JSON codec (`codec.go` `protoJSONCodec.Unmarshal`): an empty body is not a
    // message; unknown fields are discarded.
    if body.is_empty() {
        return Err(ApiError::plain(
            3,
            "unmarshal message: zero-length payload is not a valid JSON object",
        ));
    }
    let req = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(ApiError::plain(
                3,
                "unmarshal message: proto: syntax error: expected a JSON object",
            ))
        }
    };
    let string = |camel: &str, snake: &str| -> Result<String, ApiError> {
        match field(&req, camel, snake) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(ApiError::plain(
                3,
                format!("unmarshal message: proto: invalid value for string field {camel}"),
            )),
        }
    };
    let user_id = string("userId", "user_id")?;
    match method {
        "GetUserByID" => v2::get_user_by_id(sh, headers, &user_id),
        "RegisterPasskey" => v2::register_passkey(sh, headers, &user_id, body).await,
        "VerifyPasskeyRegistration" => {
            let passkey_id = string("passkeyId", "passkey_id")?;
            v2::verify_passkey_registration(sh, headers, &user_id, &passkey_id, body).await
        }
        "ListPasskeys" => v2::list_passkeys(sh, headers, &user_id, body).await,
        "RemovePasskey" => {
            let passkey_id = string("passkeyId", "passkey_id")?;
            v2::remove_passkey(sh, headers, &user_id, &passkey_id).await
        }
        _ => v2::create_registration_link(sh, headers, &user_id, body).await,
    }
}
