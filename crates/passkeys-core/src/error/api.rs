//! Error answers from ZITADEL's APIs (contract §4): the body `{code, message, details[{id}]}`
//! keyed on the stable ZITADEL error id.

use super::ErrorCode;
use serde::{Deserialize, Serialize};

/// What kind of API error this is, from the ZITADEL error id and the gRPC code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 401: token missing, invalid, expired, revoked or without the ZITADEL audience
    /// (AUTH-7fs1e, AUTH-toLo1).
    Unauthenticated,
    /// WEBAU-5M9so: no pending passkey registration.
    NoPendingRegistration,
    /// WEBAU-sEr8c: ZITADEL could not parse the credential.
    CredentialUnparsable,
    /// WEBAU-3Vb9s: challenge/origin/rpId/UP/UV/attestation check failed.
    CredentialRejected,
    /// 404 (e.g. COMMAND-DAfb2): no such passkey.
    NotFound,
    /// AUTHZ-Kl3p0: the token came from a single-factor login but MFA is required.
    MfaRequired,
    /// 403 otherwise.
    PermissionDenied,
    /// 400: the request failed validation.
    InvalidArgument,
    /// 429/503/504: try again later.
    Unavailable,
    /// Anything else.
    Other,
}

impl ApiErrorKind {
    /// Stable machine-readable code.
    pub fn code(self) -> ErrorCode {
        match self {
            ApiErrorKind::Unauthenticated => ErrorCode::SessionExpired,
            ApiErrorKind::NoPendingRegistration => ErrorCode::NoPendingRegistration,
            ApiErrorKind::CredentialUnparsable => ErrorCode::CredentialUnparsable,
            ApiErrorKind::CredentialRejected => ErrorCode::CredentialRejected,
            ApiErrorKind::NotFound => ErrorCode::NotFound,
            ApiErrorKind::MfaRequired => ErrorCode::MfaRequired,
            ApiErrorKind::PermissionDenied => ErrorCode::PermissionDenied,
            ApiErrorKind::InvalidArgument => ErrorCode::InvalidArgument,
            ApiErrorKind::Unavailable => ErrorCode::ServerUnavailable,
            ApiErrorKind::Other => ErrorCode::ServerError,
        }
    }

    fn advice(self) -> &'static str {
        match self {
            ApiErrorKind::Unauthenticated => "your session is no longer accepted; sign in again (if this keeps happening, the app's token may lack the ZITADEL API audience)",
            ApiErrorKind::NoPendingRegistration => "ZITADEL has no passkey registration waiting (it was replaced by a newer one or already finished); start again",
            ApiErrorKind::CredentialUnparsable => "ZITADEL could not read the passkey this app sent; this is a bug in Passkey Enroll, please report it with the log",
            ApiErrorKind::CredentialRejected => "ZITADEL rejected the new passkey (challenge, origin, rpId or user verification did not match); check that the issuer URL is the instance's public URL and try again",
            ApiErrorKind::NotFound => "ZITADEL has no such passkey; list the passkeys again to see the current ones",
            ApiErrorKind::MfaRequired => "your account has a second factor (or your organisation requires one) and this session was signed in without it, so ZITADEL refuses the request; sign in again and use your second factor",
            ApiErrorKind::PermissionDenied => "your account is not allowed to do this; ask your ZITADEL administrator",
            ApiErrorKind::InvalidArgument => "ZITADEL refused the request as invalid",
            ApiErrorKind::Unavailable => "ZITADEL is busy or unavailable; try again in a moment",
            ApiErrorKind::Other => "ZITADEL reported an internal error; try again, and contact your administrator if it persists",
        }
    }
}

/// An error answer from ZITADEL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} (HTTP {status}{})", kind.advice(), id.as_deref().map(|i| format!(", ZITADEL error {i}")).unwrap_or_default())]
pub struct ApiError {
    /// The kind, for programs.
    pub kind: ApiErrorKind,
    /// HTTP status.
    pub status: u16,
    /// gRPC code from the body, if any.
    pub grpc_code: Option<i32>,
    /// Stable ZITADEL error id (e.g. `WEBAU-3Vb9s`), if any.
    pub id: Option<String>,
    /// The server's message (may be an untranslated i18n key; for logs, not for people).
    pub server_message: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    /// A gRPC code number (REST gateway, contract §4) or a Connect code string
    /// (`"permission_denied"`, User service v2 over Connect, fidelity G4).
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

impl ApiError {
    /// Builds the error from an HTTP status and body (contract §4). Never fails: an
    /// unparsable body gives an [`ApiErrorKind`] from the status alone.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let grpc_code = parsed.as_ref().and_then(|b| match &b.code {
            Some(serde_json::Value::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
            Some(serde_json::Value::String(s)) => connect_code(s),
            _ => None,
        });
        let server_message = parsed
            .as_ref()
            .map(|b| b.message.clone())
            .unwrap_or_default();
        let id = parsed
            .as_ref()
            .and_then(|b| {
                b.details
                    .iter()
                    .find_map(|d| d.get("id").and_then(|v| v.as_str()).map(str::to_string))
            })
            .or_else(|| {
                // "<text> (<ID>)" when there are no details.
                let m = server_message.trim_end();
                let open = m.rfind('(')?;
                let inner = m.strip_suffix(')')?.get(open + 1..)?;
                (inner.contains('-') && !inner.contains(' ')).then(|| inner.to_string())
            });
        let kind = match id.as_deref() {
            Some("WEBAU-5M9so") => ApiErrorKind::NoPendingRegistration,
            Some("WEBAU-sEr8c") => ApiErrorKind::CredentialUnparsable,
            Some("WEBAU-3Vb9s") => ApiErrorKind::CredentialRejected,
            Some("AUTHZ-Kl3p0") => ApiErrorKind::MfaRequired,
            Some("COMMAND-DAfb2") => ApiErrorKind::NotFound,
            // Before v2.60 an expired or superseded token was answered with 403 (gRPC 7)
            // `Errors.OIDCSession.Token.Expired` / `…Token.Invalid` (zitadel/zitadel#8392, fixed
            // by PR #8476): a token problem, not a permission problem.
            _ if status == 403 && is_token_message(&server_message) => {
                ApiErrorKind::Unauthenticated
            }
            _ => match (status, grpc_code) {
                (401, _) | (_, Some(16)) => ApiErrorKind::Unauthenticated,
                (404, _) | (_, Some(5)) => ApiErrorKind::NotFound,
                (403, _) | (_, Some(7)) => ApiErrorKind::PermissionDenied,
                (400, _) | (_, Some(3)) => ApiErrorKind::InvalidArgument,
                (429 | 503 | 504, _) | (_, Some(14)) => ApiErrorKind::Unavailable,
                _ => ApiErrorKind::Other,
            },
        };
        ApiError {
            kind,
            status,
            grpc_code,
            id,
            server_message,
        }
    }
}

/// The gRPC code number of a Connect error code (https://connectrpc.com/docs/protocol, "Error
/// Codes"; the same names as gRPC's), so Connect and REST errors map to the same kinds.
fn connect_code(code: &str) -> Option<i32> {
    Some(match code {
        "canceled" => 1,
        "unknown" => 2,
        "invalid_argument" => 3,
        "deadline_exceeded" => 4,
        "not_found" => 5,
        "already_exists" => 6,
        "permission_denied" => 7,
        "resource_exhausted" => 8,
        "failed_precondition" => 9,
        "aborted" => 10,
        "out_of_range" => 11,
        "unimplemented" => 12,
        "internal" => 13,
        "unavailable" => 14,
        "data_loss" => 15,
        "unauthenticated" => 16,
        _ => return None,
    })
}

impl ApiError {
    /// True when the answer says the route or method does not exist on this instance, not
    /// that a resource is missing: grpc-gateway's unknown-route 404 `{"code":5,"message":"Not
    /// Found"}` (no ZITADEL error id), or `unimplemented` (HTTP 501, gRPC/Connect code 12)
    /// (docs/zitadel-fidelity.md G1–G3).
    pub fn is_not_served(&self) -> bool {
        let unknown_route =
            self.status == 404 && self.id.is_none() && self.server_message.trim() == "Not Found";
        unknown_route || self.status == 501 || self.grpc_code == Some(12)
    }
}

/// True for the messages ZITADEL gives a dead access token (`Errors.Token.Invalid`,
/// `Errors.OIDCSession.Token.Expired`, `Errors.OIDCSession.Token.Invalid`), keyed on the i18n key
/// the auth interceptor leaves untranslated.
fn is_token_message(message: &str) -> bool {
    message.contains("Errors.OIDCSession.Token") || message.contains("Errors.Token.Invalid")
}
