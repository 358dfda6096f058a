//! OIDC endpoints as ZITADEL v4 serves them (docs/zitadel-fidelity.md §1–§5; row ids in the
//! comments): discovery, authorize + sign-in page with a browser SSO session, token
//! (authorization code with PKCE, refresh-token rotation), userinfo, revocation, end-session,
//! introspection, device authorization (refused) and the JWKS.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::keys::go_escape;
use crate::pages;
use crate::profile::{AccessTokenType, RefreshGrant, TokenFormat};
use crate::state::{
    jwe_token, opaque_token, AccessTokenRec, AuthRequest, Challenge, CodeGrant, Fault, Inner,
    LoginSession, Session, Shared,
};
use crate::util::{later, random_token, unix_secs};

type Sh = State<Arc<Shared>>;

/// The issuer of the request's instance domain (D1), set by [`instance_host`].
#[derive(Clone, Debug)]
pub(crate) struct Issuer(pub String);

/// Internal header carrying the request's issuer to the API handlers (always overwritten by
/// [`instance_host`], so a client cannot set it).
pub(crate) const ISSUER_HEADER: &str = "x-sandbox-issuer";

/// Lifetime of an authorization code.
const CODE_TTL: Duration = Duration::from_secs(600);
/// ZITADEL's user agent cookie (T3, T9 `Set-Cookie: zitadel.useragent=…`).
pub(crate) const UA_COOKIE: &str = "zitadel.useragent";

/// The routes; the OAuth/OIDC endpoints live under `prefix` (D3 `OIDC.CustomEndpoints`; `""`
/// = ZITADEL's default paths). Discovery stays at `/.well-known/openid-configuration`.
pub(crate) fn routes(prefix: &str) -> Router<Arc<Shared>> {
    let endpoints = Router::new()
        .route("/oauth/v2/authorize", get(authorize))
        .route("/oauth/v2/token", post(token))
        .route("/oauth/v2/keys", get(keys))
        .route("/oauth/v2/revoke", post(revoke))
        .route("/oauth/v2/introspect", post(introspect))
        .route("/oauth/v2/device_authorization", post(device_authorization))
        .route("/oidc/v1/userinfo", get(userinfo).post(userinfo))
        .route("/oidc/v1/end_session", get(end_session).post(end_session));
    let base = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/login", post(login));
    if prefix.is_empty() {
        base.merge(endpoints)
    } else {
        base.nest(prefix, endpoints)
    }
}

/// Whether `prefix` is usable as an endpoint path prefix (`/a/b`, no trailing slash, no route
/// syntax).
pub(crate) fn valid_prefix(prefix: &str) -> bool {
    prefix.is_empty()
        || (prefix.starts_with('/')
            && prefix.len() > 1
            && !prefix.ends_with('/')
            && !prefix.contains("//")
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.')))
}

// ---------------------------------------------------------------------------------------------
// Instance domains (D1, D2, D16)

/// D1/D16: derives the issuer from `x-zitadel-instance-host`, then `X-Forwarded-Host` /
/// `Forwarded`, else `Host` (port kept as sent), and the scheme from `X-Forwarded-Proto` /
/// `Forwarded: proto=` (else `http`) — ZITADEL `origin_interceptor.go` `composeDomainContext`.
/// Unknown instance hosts get 404 text/plain (`instance_interceptor.go`).
pub(crate) async fn instance_host(
    State(sh): Sh,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let h = request.headers();
    let first = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let forwarded = |key: &str| {
        h.get("forwarded")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split([';', ','])
                    .filter_map(|kv| kv.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.trim().trim_matches('"').to_string())
            })
            .filter(|v| !v.is_empty())
    };
    let host = first("x-zitadel-instance-host")
        .or_else(|| first("x-forwarded-host"))
        .or_else(|| forwarded("host"))
        .or_else(|| first("host"))
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    let proto = first("x-forwarded-proto")
        .or_else(|| forwarded("proto"))
        .filter(|p| p == "http" || p == "https")
        .unwrap_or_else(|| "http".to_string());
    let issuer = match host {
        None => sh.issuer.clone(),
        Some(host) => {
            let name = url::Url::parse(&format!("http://{host}"))
                .ok()
                .filter(|u| u.path() == "/")
                .and_then(|u| u.host_str().map(str::to_string));
            let known = name.as_deref().is_some_and(|n| {
                sh.cfg
                    .instance_hosts
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(n))
            });
            if !known {
                let body = format!(
                    "unable to set instance using origin {proto}://{host} (ExternalDomain is localhost): \
                     ID=QUERY-1kIjX Message=Errors.IAM.NotFound Parent=(sql: no rows in result set)\n"
                );
                let mut resp = (StatusCode::NOT_FOUND, body).into_response();
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                return resp;
            }
            format!("{proto}://{host}")
        }
    };
    if let Ok(v) = HeaderValue::from_str(&issuer) {
        request.headers_mut().insert(ISSUER_HEADER, v);
    } else {
        request.headers_mut().remove(ISSUER_HEADER);
    }
    request.extensions_mut().insert(Issuer(issuer));
    next.run(request).await
}

/// Parses `application/x-www-form-urlencoded` data (query string or body); the first value of a
/// repeated parameter wins. Never fails: malformed escapes are decoded leniently.
pub(crate) fn parse_form(data: &[u8]) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(data) {
        map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    map
}

fn nonempty<'a>(p: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    p.get(key).map(String::as_str).filter(|s| !s.is_empty())
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

// ---------------------------------------------------------------------------------------------
// Discovery (D1–D15, Appendix A)

/// The discovery document in Go struct order (D15) with v4's values (Appendix A); v2/v3
/// profiles list only RS256 (D11) and no back-channel logout flags (D14).
async fn discovery(State(sh): Sh, Extension(Issuer(iss)): Extension<Issuer>) -> Response {
    let (wrong, no_port, https) = sh.with(|s| {
        (
            s.has_fault(Fault::WrongDiscoveryIssuer),
            s.has_fault(Fault::IssuerWithoutPort),
            s.has_fault(Fault::IssuerHttps),
        )
    });
    // D1 faults: a proxy that drops the port (#11380) or TLS terminated before ZITADEL with
    // the scheme reported wrongly (#8675, #12065): issuer and endpoints change together.
    let iss = if no_port || https {
        let mut u = url::Url::parse(&iss).ok();
        if let Some(u) = u.as_mut() {
            if no_port {
                let _ = u.set_port(None);
            }
            if https {
                let _ = u.set_scheme("https");
            }
        }
        u.map(|u| u.as_str().trim_end_matches('/').to_string())
            .unwrap_or(iss)
    } else {
        iss
    };
    let issuer = if wrong {
        format!("{iss}/not-this-issuer")
    } else {
        iss.clone()
    };
    let p = sh.cfg.endpoint_prefix.as_str();
    let v4 = sh.cfg.version.web_keys();
    let algs: &[&str] = if v4 {
        &[
            "EdDSA", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
        ]
    } else {
        &["RS256"]
    };
    let auth_methods = [
        "none",
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ];
    let mut fields: Vec<(&str, serde_json::Value)> = vec![
        ("issuer", issuer.into()),
        (
            "authorization_endpoint",
            format!("{iss}{p}/oauth/v2/authorize").into(),
        ),
        ("token_endpoint", format!("{iss}{p}/oauth/v2/token").into()),
        (
            "introspection_endpoint",
            format!("{iss}{p}/oauth/v2/introspect").into(),
        ),
        (
            "userinfo_endpoint",
            format!("{iss}{p}/oidc/v1/userinfo").into(),
        ),
        (
            "revocation_endpoint",
            format!("{iss}{p}/oauth/v2/revoke").into(),
        ),
        (
            "end_session_endpoint",
            format!("{iss}{p}/oidc/v1/end_session").into(),
        ),
        (
            "device_authorization_endpoint",
            format!("{iss}{p}/oauth/v2/device_authorization").into(),
        ),
        ("jwks_uri", format!("{iss}{p}/oauth/v2/keys").into()),
        // D8: the urn:zitadel scopes are accepted but not listed.
        (
            "scopes_supported",
            serde_json::json!([
                "openid",
                "profile",
                "email",
                "phone",
                "address",
                "offline_access"
            ]),
        ),
        (
            "response_types_supported",
            serde_json::json!(["code", "id_token", "id_token token"]),
        ),
        (
            "response_modes_supported",
            serde_json::json!(["query", "fragment", "form_post"]),
        ),
        (
            "grant_types_supported",
            serde_json::json!([
                "authorization_code",
                "implicit",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "urn:ietf:params:oauth:grant-type:device_code"
            ]),
        ),
        ("subject_types_supported", serde_json::json!(["public"])),
        (
            "id_token_signing_alg_values_supported",
            serde_json::json!(algs),
        ),
        (
            "request_object_signing_alg_values_supported",
            serde_json::json!(["RS256"]),
        ),
        (
            "token_endpoint_auth_methods_supported",
            serde_json::json!(auth_methods),
        ),
        (
            "token_endpoint_auth_signing_alg_values_supported",
            serde_json::json!(["RS256"]),
        ),
        (
            "revocation_endpoint_auth_methods_supported",
            serde_json::json!(auth_methods),
        ),
        (
            "revocation_endpoint_auth_signing_alg_values_supported",
            serde_json::json!(["RS256"]),
        ),
        (
            "introspection_endpoint_auth_methods_supported",
            serde_json::json!(["client_secret_basic", "private_key_jwt"]),
        ),
        (
            "introspection_endpoint_auth_signing_alg_values_supported",
            serde_json::json!(["RS256"]),
        ),
        (
            "claims_supported",
            serde_json::json!([
                "sub",
                "aud",
                "exp",
                "iat",
                "iss",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "c_hash",
                "at_hash",
                "act",
                "scopes",
                "client_id",
                "azp",
                "preferred_username",
                "name",
                "family_name",
                "given_name",
                "locale",
                "email",
                "email_verified",
                "phone_number",
                "phone_number_verified"
            ]),
        ),
        (
            "code_challenge_methods_supported",
            serde_json::json!(["S256"]),
        ),
        (
            "ui_locales_supported",
            serde_json::json!([
                "ar", "bg", "cs", "de", "en", "es", "fr", "hu", "id", "it", "ja", "ko", "mk", "nl",
                "pl", "pt", "ro", "ru", "sv", "tr", "uk", "zh"
            ]),
        ),
        ("request_parameter_supported", true.into()),
        ("request_uri_parameter_supported", false.into()),
    ];
    if v4 {
        fields.push(("backchannel_logout_supported", true.into()));
        fields.push(("backchannel_logout_session_supported", true.into()));
    }
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{}", serde_json::Value::from(*k), v))
        .collect();
    json_response(StatusCode::OK, format!("{{{}}}\n", body.join(",")))
}

// ---------------------------------------------------------------------------------------------
// Redirect URIs (T2, V4)

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// T2 (zitadel/oidc `validateAuthReqRedirectURINative`, `equalURI`): an http(s) URI on
/// `localhost` or a loopback IP matches a registered loopback URI with equal `Path` and
/// `RawQuery`; port and loopback host are ignored. Registered entries are path[+query]
/// (`/callback`, `/callback?src=app`). `/callback/` ≠ `/callback`.
pub(crate) fn is_loopback_redirect(uri: &str, paths: &[String]) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https")
        || url.fragment().is_some()
        || !url.username().is_empty()
        || !is_loopback_host(&url)
    {
        return false;
    }
    let path_query = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    paths.contains(&path_query)
}

fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut resp = StatusCode::FOUND.into_response();
            resp.headers_mut().insert(header::LOCATION, v);
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "invalid redirect target",
        ),
    }
}

/// Appends query parameters to a (validated) redirect URI.
fn with_params(redirect_uri: &str, params: &[(&str, Option<&str>)]) -> Option<String> {
    let mut url = url::Url::parse(redirect_uri).ok()?;
    if params.iter().any(|(_, v)| v.is_some()) {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
    }
    Some(url.to_string())
}

fn redirect_error(
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Response {
    match with_params(
        redirect_uri,
        &[
            ("error", Some(error)),
            ("error_description", Some(description)),
            ("state", state),
        ],
    ) {
        Some(loc) => found(&loc),
        None => oauth_error(StatusCode::BAD_REQUEST, error, description),
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, Html(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

// ---------------------------------------------------------------------------------------------
// Browser session cookie (T3)

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

fn set_ua_cookie(resp: &mut Response, ua: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{UA_COOKIE}={ua}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

// ---------------------------------------------------------------------------------------------
// Authorize and sign-in

/// T1: validation errors (client, redirect_uri, scope, response_type) go to the browser as
/// JSON 400, never redirected (zitadel/oidc `AuthRequestError` with redirect disabled).
async fn authorize(State(sh): Sh, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let p = parse_form(query.unwrap_or_default().as_bytes());
    match nonempty(&p, "client_id") {
        Some(c) if c == sh.client_id => {}
        // (code reading: zitadel/oidc `ValidateAuthRequest` "unable to retrieve client by id")
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "unable to retrieve client by id",
            )
        }
    }
    let scopes: Vec<String> = p
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    if scopes.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The scope of your request is missing. Please ensure some scopes are requested. \
             If you have any questions, you may contact the administrator of the application.",
        );
    }
    let redirect_uri = match nonempty(&p, "redirect_uri") {
        Some(r) if is_loopback_redirect(r, &sh.redirect_paths) => r.to_string(),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The requested redirect_uri is missing in the client configuration. \
                 If you have any questions, you may contact the administrator of the application.",
            )
        }
    };
    match p.get("response_type").map(String::as_str) {
        Some("code") => {}
        None | Some("") => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The response type is missing in your request. \
                 If you have any questions, you may contact the administrator of the application.",
            )
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "The requested response type is missing in the client configuration. \
                 If you have any questions, you may contact the administrator of the application.",
            )
        }
    }
    let state = p.get("state").cloned();
    // T1: no PKCE enforcement; a missing method stores the challenge as plain
    // (ZITADEL `CodeChallengeToBusiness`).
    let code_challenge = match nonempty(&p, "code_challenge") {
        None => None,
        Some(c) => match p.get("code_challenge_method").map(String::as_str) {
            None | Some("") | Some("plain") => Some(Challenge {
                value: c.to_string(),
                plain: true,
            }),
            Some("S256") => Some(Challenge {
                value: c.to_string(),
                plain: false,
            }),
            Some(_) => {
                return redirect_error(
                    &redirect_uri,
                    "invalid_request",
                    "unsupported code_challenge_method",
                    state.as_deref(),
                )
            }
        },
    };
    let prompts: Vec<String> = p
        .get("prompt")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let has_prompt = |x: &str| prompts.iter().any(|p| p == x);
    if has_prompt("none") && prompts.len() > 1 {
        return redirect_error(
            &redirect_uri,
            "invalid_request",
            "The prompt parameter `none` must only be used as a single value",
            state.as_deref(),
        );
    }
    let now = SystemTime::now();
    let req = AuthRequest {
        client_id: sh.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        nonce: p.get("nonce").cloned().filter(|n| !n.is_empty()),
        scopes,
        code_challenge,
        created: now,
    };
    let (ua, new_ua) = match cookie(&headers, UA_COOKIE) {
        Some(ua) => (ua, false),
        None => (random_token(16), true),
    };
    // T3: one active session in this browser and no prompt forcing the UI ⇒ reuse it silently
    // (ZITADEL `nextStepsUser`: "a single active user session was found, use that
    // automatically"); several ⇒ account picker.
    let sessions = sh.with(|s| s.browser_sessions(&ua));
    let jwe = sh.cfg.token_format == TokenFormat::Jwe;
    let forced = has_prompt("login") || has_prompt("select_account") || has_prompt("create");
    let mut resp = if !forced && sessions.len() == 1 {
        let sid = sessions[0].clone();
        match sh.with(|s| issue_code(s, &req, &sid, now, jwe)) {
            Some(code) => {
                tracing::info!("sandbox SSO: reusing the browser's session");
                callback_redirect(&req, &code)
            }
            None => html(
                StatusCode::BAD_REQUEST,
                pages::error("Sign-in failed", "The session ended."),
            ),
        }
    } else if has_prompt("none") {
        let err = if sessions.is_empty() {
            "login_required"
        } else {
            "interaction_required"
        };
        redirect_error(
            &redirect_uri,
            err,
            "no single active session",
            state.as_deref(),
        )
    } else {
        let id = random_token(16);
        let accounts: Vec<String> = sh.with(|s| {
            sessions
                .iter()
                .filter_map(|sid| s.login_sessions.get(sid))
                .filter_map(|ls| s.user(&ls.user_id).map(|u| u.login_name()))
                .collect()
        });
        sh.with(|s| {
            s.prune(now);
            s.auth_requests.insert(id.clone(), req);
        });
        let login_hint = p.get("login_hint").map(String::as_str).unwrap_or("");
        html(
            StatusCode::OK,
            pages::login_page(&id, login_hint, None, &accounts),
        )
    };
    if new_ua {
        set_ua_cookie(&mut resp, &ua);
    }
    resp
}

/// Creates a code for `req` from the login session `sid`.
fn issue_code(
    s: &mut Inner,
    req: &AuthRequest,
    sid: &str,
    now: SystemTime,
    jwe: bool,
) -> Option<String> {
    let ls = s.login_sessions.get(sid)?;
    let (user_id, auth_time, amr) = (ls.user_id.clone(), ls.auth_time, ls.amr.clone());
    // T4: long base64url codes with '-'/'_' (SQLPage#965), or JWE-shaped (PR #12017).
    let code = if jwe { jwe_token() } else { opaque_token(46) };
    s.last_login = Some(now);
    s.issued_codes.push(code.clone());
    s.codes.insert(
        code.clone(),
        CodeGrant {
            user_id,
            client_id: req.client_id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            nonce: req.nonce.clone(),
            scopes: req.scopes.clone(),
            code_challenge: req.code_challenge.clone(),
            auth_time,
            expires: later(now, CODE_TTL),
            sid: sid.to_string(),
            amr,
        },
    );
    Some(code)
}

fn callback_redirect(req: &AuthRequest, code: &str) -> Response {
    // T4: `code` and `state` as sent; no `iss` parameter.
    match with_params(
        &req.redirect_uri,
        &[("code", Some(code)), ("state", req.state.as_deref())],
    ) {
        Some(loc) => found(&loc),
        None => html(
            StatusCode::BAD_REQUEST,
            pages::error("Bad redirect", "The redirect_uri is not a valid URL."),
        ),
    }
}

/// The sign-in form's target: checks the credentials (and the one-time code of a user with a
/// second factor, E3), creates a login session in this browser and redirects with a code.
async fn login(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let p = parse_form(&body);
    let id = p
        .get(pages::AUTH_REQUEST_FIELD)
        .cloned()
        .unwrap_or_default();
    let username = p.get("username").cloned().unwrap_or_default();
    let password = p.get("password").cloned().unwrap_or_default();
    let otp = p.get("otp").cloned().unwrap_or_default();
    let Some(req) = sh.with(|s| s.auth_requests.get(&id).cloned()) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(
                "Sign-in expired",
                "This sign-in request is unknown or has expired. Start the sign-in again from the application.",
            ),
        );
    };
    let user = sh.with(|s| {
        s.users
            .iter()
            .find(|u| u.is_named(&username) && u.password == password && !u.is_machine())
            .cloned()
    });
    let Some(user) = user else {
        tracing::info!("sandbox sign-in refused: wrong login name or password");
        return html(
            StatusCode::UNAUTHORIZED,
            pages::login_page(&id, &username, Some("Wrong login name or password."), &[]),
        );
    };
    // T15: amr per login method; password ⇒ ["pwd"], password + TOTP ⇒ ["pwd","otp","mfa"].
    let amr: Vec<String> = if otp.is_empty() {
        vec!["pwd".into()]
    } else if user.otp.as_deref() == Some(otp.trim()) {
        vec!["pwd".into(), "otp".into(), "mfa".into()]
    } else {
        return html(
            StatusCode::UNAUTHORIZED,
            pages::login_page(&id, &username, Some("Wrong one-time code."), &[]),
        );
    };
    let now = SystemTime::now();
    let jwe = sh.cfg.token_format == TokenFormat::Jwe;
    let (ua, new_ua) = match cookie(&headers, UA_COOKIE) {
        Some(ua) => (ua, false),
        None => (random_token(16), true),
    };
    let code = sh.with(|s| {
        s.auth_requests.remove(&id)?;
        let sid = s.next_id();
        s.login_sessions.insert(
            sid.clone(),
            LoginSession {
                user_id: user.id.clone(),
                auth_time: now,
                amr,
            },
        );
        // One session per user and browser: a new sign-in replaces the user's old entry.
        let list = s.user_agents.entry(ua.clone()).or_default();
        let old: Vec<String> = list.clone();
        list.clear();
        for o in old {
            let same_user = s
                .login_sessions
                .get(&o)
                .is_some_and(|l| l.user_id == user.id);
            if !same_user {
                s.user_agents.entry(ua.clone()).or_default().push(o);
            }
        }
        s.user_agents
            .entry(ua.clone())
            .or_default()
            .push(sid.clone());
        issue_code(s, &req, &sid, now, jwe)
    });
    let Some(code) = code else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("Sign-in expired", "This sign-in request was already used."),
        );
    };
    tracing::info!("sandbox sign-in succeeded; redirecting to the client");
    let mut resp = callback_redirect(&req, &code);
    if new_ua {
        set_ua_cookie(&mut resp, &ua);
    }
    resp
}

// ---------------------------------------------------------------------------------------------
// Token endpoint (T5–T23, R1–R7)

/// An OAuth error kept small inside the state lock; rendered by [`oauth_error`].
struct OAuthErr(StatusCode, &'static str, String);

fn err(status: StatusCode, error: &'static str, description: impl Into<String>) -> OAuthErr {
    OAuthErr(status, error, description.into())
}

fn bad_request(error: &'static str, description: impl Into<String>) -> OAuthErr {
    err(StatusCode::BAD_REQUEST, error, description)
}

/// `{"error","error_description"}` with Cache-Control no-store / Pragma no-cache (T9).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": error, "error_description": description});
    let mut resp = json_response(status, format!("{body}\n"));
    no_store(&mut resp);
    resp
}

fn no_store(resp: &mut Response) {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// T5/V1 (zitadel/oidc `parseClientCredentials`): Basic wins over the form; both unescaped.
fn client_id_of(headers: &HeaderMap, p: &HashMap<String, String>) -> Option<String> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|raw| {
            let user = raw.split(':').next()?.to_string();
            url::form_urlencoded::parse(format!("u={user}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        })
        .filter(|s| !s.is_empty());
    basic.or_else(|| nonempty(p, "client_id").map(str::to_string))
}

/// T8/V1: the client of a token/revocation request. Missing ⇒ 400 `invalid_request`; unknown
/// ⇒ 400 `invalid_client` "no active client not found" (ZITADEL `client.go` `VerifyClient`).
fn known_client(
    sh: &Shared,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Result<String, OAuthErr> {
    let Some(c) = client_id_of(headers, p) else {
        return Err(bad_request(
            "invalid_request",
            "client_id or client_assertion must be provided",
        ));
    };
    let known = c == sh.client_id
        || sh.cfg.sibling_client_ids.contains(&c)
        || sh.cfg.other_project_client_ids.contains(&c)
        || sh.with(|s| s.added_apps.contains(&c));
    if known {
        Ok(c)
    } else {
        Err(bad_request("invalid_client", "no active client not found"))
    }
}

/// `BASE64URL-NOPAD(SHA-256(ASCII(verifier)))` (RFC 7636 §4.2).
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

struct Issued {
    user_id: String,
    client_id: String,
    access_token: String,
    refresh_token: Option<String>,
    scopes: Vec<String>,
    nonce: Option<String>,
    auth_time: SystemTime,
    sid: String,
    amr: Vec<String>,
}

/// The `aud` of ID tokens and JWT access tokens (T13): the project's app client ids (the first
/// sibling, ours, other siblings, apps added at run time), the project id, and the ZITADEL
/// project id when its audience scope was asked for. Our id is therefore not first.
fn audience(sh: &Shared, s: &Inner, client_id: &str, scopes: &[String]) -> Vec<String> {
    let mut apps: Vec<String> = Vec::new();
    let mut siblings = sh.cfg.sibling_client_ids.iter();
    if let Some(first) = siblings.next() {
        apps.push(first.clone());
    }
    apps.push(sh.client_id.clone());
    apps.extend(siblings.cloned());
    apps.extend(s.added_apps.iter().cloned());
    // zitadel/oidc `AppendClientIDToAudience`: the client id only if missing.
    if !apps.iter().any(|a| a == client_id) {
        apps.push(client_id.to_string());
    }
    apps.push(sh.cfg.project_id.clone());
    if scopes.iter().any(|x| x == crate::ZITADEL_AUD_SCOPE) {
        apps.push(sh.cfg.zitadel_project_id.clone());
    }
    let mut seen = std::collections::HashSet::new();
    apps.retain(|a| seen.insert(a.clone()));
    apps
}

/// JWT access token (T21 "Auth Token Type JWT"): `iss sub aud exp iat nbf client_id jti`.
#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a [String],
    exp: i64,
    iat: i64,
    nbf: i64,
    client_id: &'a str,
    jti: String,
}

/// Creates the tokens of a session (new or rotated) inside the lock.
fn issue(
    sh: &Shared,
    s: &mut Inner,
    session_id: &str,
    issuer: &str,
    now: SystemTime,
) -> Result<Issued, OAuthErr> {
    let ttl = sh.access_token_ttl;
    let server = || {
        err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Errors.Internal",
        )
    };
    let (user_id, client_id, scopes) = {
        let session = s.sessions.get(session_id).ok_or_else(server)?;
        (
            session.user_id.clone(),
            session.client_id.clone(),
            session.scopes.clone(),
        )
    };
    let jwt = sh.cfg.access_token_type == AccessTokenType::Jwt;
    let access = if jwt {
        let aud = audience(sh, s, &client_id, &scopes);
        let jti = s.next_id();
        let claims = AccessClaims {
            iss: issuer,
            sub: &user_id,
            aud: &aud,
            exp: unix_secs(later(now, ttl)).saturating_add(sh.cfg.clock_offset_secs),
            iat: unix_secs(now).saturating_add(sh.cfg.clock_offset_secs),
            nbf: unix_secs(now).saturating_add(sh.cfg.clock_offset_secs),
            client_id: &client_id,
            jti,
        };
        let payload = serde_json::to_string(&claims).map_err(|_| server())?;
        let key = s
            .keys
            .as_ref()
            .and_then(|k| k.active())
            .ok_or_else(server)?;
        key.sign_jwt(&payload).map_err(|_| server())?
    } else {
        match sh.cfg.token_format {
            TokenFormat::Opaque => opaque_token(100),
            TokenFormat::Jwe => jwe_token(),
        }
    };
    let refresh_allowed = sh.cfg.refresh_grant != RefreshGrant::DisabledNoToken;
    let session = s.sessions.get_mut(session_id).ok_or_else(server)?;
    let old_access = session.access_token.replace(access.clone());
    let wants_refresh = refresh_allowed
        && (session.scopes.iter().any(|x| x == "offline_access")
            || session.refresh_token.is_some());
    let new_refresh = wants_refresh.then(|| match sh.cfg.token_format {
        TokenFormat::Opaque => opaque_token(104),
        TokenFormat::Jwe => jwe_token(),
    });
    let old_refresh = if wants_refresh {
        session.refresh_issued = now;
        std::mem::replace(&mut session.refresh_token, new_refresh.clone())
    } else {
        None
    };
    let issued = Issued {
        user_id,
        client_id,
        access_token: access.clone(),
        refresh_token: new_refresh.clone(),
        scopes,
        nonce: session.nonce.clone(),
        auth_time: session.auth_time,
        sid: session.sid.clone(),
        amr: session.amr.clone(),
    };
    if let Some(old) = old_access {
        // R5: the previous access token dies at refresh.
        s.access_tokens.remove(&old);
        s.superseded_access_tokens.insert(old);
    }
    if let Some(old) = old_refresh {
        s.refresh_tokens.remove(&old);
        s.dead_refresh_tokens.insert(old);
    }
    s.access_tokens.insert(
        access,
        AccessTokenRec {
            session_id: session_id.to_string(),
            expires: later(now, ttl),
            issuer: issuer.to_string(),
            jwt,
        },
    );
    if let Some(rt) = new_refresh {
        s.refresh_tokens.insert(rt, session_id.to_string());
    }
    Ok(issued)
}

/// ID token claims in ZITADEL's struct order (T12, T18):
/// `iss, sub, aud, exp, iat, auth_time, nonce?, amr, azp, client_id, at_hash, sid`.
#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Vec<String>,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    amr: &'a [String],
    azp: &'a str,
    client_id: &'a str,
    at_hash: String,
    sid: &'a str,
}

/// The userinfo claims of `user` for `scopes` (U2, U6), as a JSON object.
pub(crate) fn user_claims(
    user: &crate::users::SandboxUser,
    scopes: &[String],
) -> serde_json::Map<String, serde_json::Value> {
    let has = |x: &str| scopes.iter().any(|s| s == x);
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), user.id.clone().into());
    if user.is_machine() {
        // U3: machine users: name, updated_at, preferred_username; nothing for `email`.
        if has("profile") {
            claims.insert("name".into(), user.first_name.clone().into());
            claims.insert("updated_at".into(), 1_782_892_800i64.into());
            claims.insert("preferred_username".into(), user.username.clone().into());
        }
        return claims;
    }
    if has("profile") {
        let mut put = |k: &str, v: String| {
            if !v.is_empty() {
                claims.insert(k.into(), v.into());
            }
        };
        put("name", user.display_name());
        put("given_name", user.first_name.clone());
        put("family_name", user.last_name.clone());
        put("preferred_username", user.login_name());
        // U2: `locale` is present, JSON null when the user has no language.
        claims.insert(
            "locale".into(),
            user.preferred_language
                .clone()
                .map(serde_json::Value::from)
                .unwrap_or(serde_json::Value::Null),
        );
        // U2: integer seconds.
        claims.insert("updated_at".into(), 1_782_892_800i64.into());
    }
    if has("email") {
        claims.insert("email".into(), user.email().into());
        // U2: `email_verified` only when true (Bool + omitempty).
        if user.email_verified {
            claims.insert("email_verified".into(), true.into());
        }
    }
    claims
}

fn token_response(
    sh: &Shared,
    issued: Issued,
    issuer: &str,
    now: SystemTime,
) -> Result<Response, OAuthErr> {
    let ttl = sh.access_token_ttl;
    let skew = sh.cfg.clock_skew;
    let server = || {
        err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Errors.Internal",
        )
    };
    let user = sh
        .with(|s| s.user(&issued.user_id).cloned())
        .ok_or_else(|| bad_request("invalid_request", "Errors.User.NotActive"))?;
    // T1: no `openid`, no ID token.
    let id_token = if issued.scopes.iter().any(|s| s == "openid") {
        let (aud, key_result) = sh.with(|s| {
            let aud = audience(sh, s, &issued.client_id, &issued.scopes);
            let key = s.keys.as_ref().and_then(|k| k.active());
            let at_hash = key.map(|k| k.at_hash(&issued.access_token));
            (aud, at_hash)
        });
        let at_hash = key_result.ok_or_else(server)?;
        // T16: iat and auth_time backdated by the clock skew, exp extended by it; I15: the
        // server's clock may differ from the client's (`clock_offset_secs`).
        let off = sh.cfg.clock_offset_secs;
        let back = |t: SystemTime| unix_secs(t.checked_sub(skew).unwrap_or(t)).saturating_add(off);
        let claims = IdClaims {
            iss: issuer,
            sub: &user.id,
            aud,
            exp: unix_secs(later(later(now, ttl), skew)).saturating_add(off),
            iat: back(now),
            auth_time: back(issued.auth_time),
            // R4: refreshed ID tokens repeat the original nonce.
            nonce: issued.nonce.as_deref(),
            amr: &issued.amr,
            azp: &issued.client_id,
            client_id: &issued.client_id,
            at_hash,
            sid: &issued.sid,
        };
        let payload = if sh.cfg.userinfo_in_id_token {
            // T12 "User Info inside ID Token"; T18: extra claims ⇒ keys sorted (serde_json's map).
            let mut m = match serde_json::to_value(&claims).map_err(|_| server())? {
                serde_json::Value::Object(m) => m,
                _ => return Err(server()),
            };
            for (k, v) in user_claims(&user, &issued.scopes) {
                m.entry(k).or_insert(v);
            }
            serde_json::Value::Object(m).to_string()
        } else {
            serde_json::to_string(&claims).map_err(|_| server())?
        };
        let payload = go_escape(&payload);
        let signed = sh.with(|s| {
            s.keys
                .as_ref()
                .and_then(|k| k.active())
                .map(|k| k.sign_jwt(&payload))
        });
        Some(signed.ok_or_else(server)?.map_err(|_| server())?)
    } else {
        None
    };
    // T9: no `scope`, no `state`; expires_in = floor((exp − now)/1s) = ttl − 1.
    #[derive(Serialize)]
    struct Reply {
        access_token: String,
        token_type: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        refresh_token: Option<String>,
        expires_in: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        id_token: Option<String>,
    }
    let reply = Reply {
        access_token: issued.access_token,
        token_type: "Bearer",
        refresh_token: issued.refresh_token,
        expires_in: ttl.as_secs().saturating_sub(1),
        id_token,
    };
    let body = serde_json::to_string(&reply).map_err(|_| server())?;
    let mut resp = json_response(StatusCode::OK, format!("{body}\n"));
    no_store(&mut resp);
    // T9: further headers seen live (PR #7419 capture).
    let h = resp.headers_mut();
    h.insert(header::EXPIRES, HeaderValue::from_static("0"));
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    h.append(header::VARY, HeaderValue::from_static("Cookie"));
    h.insert("x-robots-tag", HeaderValue::from_static("none"));
    Ok(resp)
}

/// The token endpoint.
async fn token(
    State(sh): Sh,
    Extension(Issuer(issuer)): Extension<Issuer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = parse_form(&body);
    let grant_type = p.get("grant_type").cloned().unwrap_or_default();
    sh.with(|s| *s.token_calls.entry(grant_type.clone()).or_default() += 1);
    if sh.with(|s| s.take_fault(Fault::TokenServerError)) {
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Errors.Internal",
        );
    }
    let result = match grant_type.as_str() {
        "" => Err(bad_request("invalid_request", "grant_type missing")),
        "authorization_code" | "refresh_token" => known_client(&sh, &headers, &p).and_then(|c| {
            if sh.cfg.other_project_client_ids.contains(&c) {
                // T8: an app without this grant type (zitadel/oidc `withClient`).
                Err(bad_request(
                    "unauthorized_client",
                    format!("grant_type \"{grant_type}\" not allowed"),
                ))
            } else if grant_type == "authorization_code" {
                code_grant(&sh, &p, &c, &issuer)
            } else {
                refresh_grant(&sh, &p, &c, &issuer)
            }
        }),
        other => Err(bad_request(
            "unsupported_grant_type",
            format!("{other} not supported"),
        )),
    };
    match result {
        Ok(resp) => resp,
        Err(e) => oauth_error(e.0, e.1, &e.2),
    }
}

fn code_grant(
    sh: &Shared,
    p: &HashMap<String, String>,
    client_id: &str,
    issuer: &str,
) -> Result<Response, OAuthErr> {
    let Some(code) = nonempty(p, "code") else {
        return Err(bad_request("invalid_request", "code missing"));
    };
    let redirect_uri = nonempty(p, "redirect_uri");
    let verifier = nonempty(p, "code_verifier");
    let now = SystemTime::now();
    let issued = sh.with(|s| {
        // T7: garbage/expired ⇒ Errors.User.Code.Invalid; already exchanged ⇒
        // Errors.AuthRequest.NoCode; always invalid_request (ZITADEL `error.go` `oidcError`).
        let grant = match s.codes.get(code) {
            Some(g) if g.expires > now => g,
            _ if s.used_codes.contains(code) => {
                return Err(bad_request("invalid_request", "Errors.AuthRequest.NoCode"))
            }
            _ => return Err(bad_request("invalid_request", "Errors.User.Code.Invalid")),
        };
        if grant.client_id != client_id {
            return Err(bad_request("invalid_request", "Errors.User.Code.Invalid"));
        }
        // T5.
        let Some(redirect_uri) = redirect_uri else {
            return Err(bad_request("invalid_request", "redirect_uri missing"));
        };
        if grant.redirect_uri != redirect_uri {
            return Err(bad_request(
                "invalid_grant",
                "redirect_uri does not correspond",
            ));
        }
        // T6: zitadel/oidc `AuthorizeCodeChallenge`.
        match (&grant.code_challenge, verifier) {
            (Some(_), None) => {
                return Err(bad_request("invalid_request", "code_verifier required"))
            }
            (Some(c), Some(v)) => {
                let ok = if c.plain {
                    c.value == v
                } else {
                    s256(v) == c.value
                };
                if !ok {
                    return Err(bad_request("invalid_grant", "invalid code_verifier"));
                }
            }
            (None, Some(_)) => {
                return Err(bad_request(
                    "invalid_request",
                    "code_verifier unexpectedly provided",
                ))
            }
            (None, None) => {}
        }
        let Some(grant) = s.codes.remove(code) else {
            return Err(bad_request("invalid_request", "Errors.User.Code.Invalid"));
        };
        s.used_codes.insert(code.to_string());
        let session_id = random_token(16);
        s.sessions.insert(
            session_id.clone(),
            Session {
                user_id: grant.user_id,
                client_id: grant.client_id,
                scopes: grant.scopes,
                nonce: grant.nonce,
                auth_time: grant.auth_time,
                access_token: None,
                refresh_token: None,
                sid: grant.sid,
                amr: grant.amr,
                created: now,
                refresh_issued: now,
            },
        );
        issue(sh, s, &session_id, issuer, now)
    })?;
    token_response(sh, issued, issuer, now)
}

fn refresh_grant(
    sh: &Shared,
    p: &HashMap<String, String>,
    client_id: &str,
    issuer: &str,
) -> Result<Response, OAuthErr> {
    // T10: app without the REFRESH_TOKEN grant type (zitadel/oidc `withClient`).
    if sh.cfg.refresh_grant != RefreshGrant::Enabled {
        return Err(bad_request(
            "unauthorized_client",
            "grant_type \"refresh_token\" not allowed",
        ));
    }
    let Some(refresh) = nonempty(p, "refresh_token") else {
        return Err(bad_request("invalid_request", "refresh_token missing"));
    };
    let requested: Option<Vec<String>> =
        nonempty(p, "scope").map(|s| s.split_whitespace().map(str::to_string).collect());
    let now = SystemTime::now();
    let idle = sh.cfg.refresh_idle_ttl;
    let absolute = sh.cfg.refresh_absolute_ttl;
    let issued = sh.with(|s| {
        // R3: reused / expired / revoked ⇒ 400 invalid_request
        // Errors.OIDCSession.RefreshTokenInvalid; never invalid_grant (ZITADEL `error.go`).
        let invalid = || bad_request("invalid_request", "Errors.OIDCSession.RefreshTokenInvalid");
        let Some(session_id) = s.refresh_tokens.get(refresh).cloned() else {
            if s.dead_refresh_tokens.contains(refresh) {
                return Err(invalid());
            }
            // R3: a token ZITADEL cannot decrypt.
            return Err(bad_request(
                "invalid_request",
                "Errors.User.RefreshToken.Invalid",
            ));
        };
        let session = s.sessions.get_mut(&session_id).ok_or_else(invalid)?;
        // R1: other client.
        if session.client_id != client_id {
            return Err(bad_request(
                "invalid_client",
                "client_id does not correspond to the client_id in the refresh token",
            ));
        }
        // R6: idle and absolute lifetimes.
        let older = |t: SystemTime, d: Duration| now.duration_since(t).is_ok_and(|x| x >= d);
        if older(session.refresh_issued, idle) || older(session.created, absolute) {
            return Err(invalid());
        }
        if let Some(req) = requested {
            // R1: a subset of the granted scope, else invalid_scope without description.
            if !req.iter().all(|r| session.scopes.contains(r)) {
                return Err(bad_request("invalid_scope", ""));
            }
            session.scopes = req;
        }
        issue(sh, s, &session_id, issuer, now)
    })?;
    token_response(sh, issued, issuer, now)
}

// ---------------------------------------------------------------------------------------------
// Access token lookup (userinfo, Auth API)

/// Why an access token is not accepted.
pub(crate) enum TokenProblem {
    /// Never issued, revoked, or from a terminated session.
    Invalid,
    /// Expired (`exp` passed).
    Expired,
    /// Replaced by a refresh (R5).
    Superseded,
}

/// The session of a live access token used on the instance domain `issuer` (JWT access
/// tokens only work where they were minted, D2).
pub(crate) fn check_access_token<'a>(
    s: &'a Inner,
    token: &str,
    issuer: &str,
    now: SystemTime,
) -> Result<&'a Session, TokenProblem> {
    let Some(rec) = s.access_tokens.get(token) else {
        return Err(if s.superseded_access_tokens.contains(token) {
            TokenProblem::Superseded
        } else {
            TokenProblem::Invalid
        });
    };
    if rec.jwt && rec.issuer != issuer {
        return Err(TokenProblem::Invalid);
    }
    if rec.jwt {
        // The signature must still verify against the JWKS (a deleted key kills it, T20).
        if s.keys.as_ref().and_then(|k| k.verify(token)).is_none() {
            return Err(TokenProblem::Invalid);
        }
    }
    if rec.expires <= now {
        return Err(TokenProblem::Expired);
    }
    s.sessions.get(&rec.session_id).ok_or(TokenProblem::Invalid)
}

// ---------------------------------------------------------------------------------------------
// Userinfo (U1–U4)

/// U1: GET and POST; bearer header or form `access_token`. Missing ⇒ 401 `invalid_request`
/// "access token missing"; invalid/expired ⇒ 401 `access_denied` "access token invalid"; no
/// `WWW-Authenticate` (ZITADEL `userinfo.go`, zitadel/oidc `userInfoHandler`).
async fn userinfo(
    State(sh): Sh,
    Extension(Issuer(issuer)): Extension<Issuer>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let token = from_header.or_else(|| {
        (method == Method::POST)
            .then(|| parse_form(&body).get("access_token").cloned())
            .flatten()
            .filter(|t| !t.is_empty())
    });
    let Some(token) = token else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "access token missing",
        );
    };
    let now = SystemTime::now();
    let found = sh.with(|s| {
        let session = check_access_token(s, &token, &issuer, now).ok()?;
        Some((session.scopes.clone(), s.user(&session.user_id).cloned()))
    });
    let Some((scopes, user)) = found else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "access_denied",
            "access token invalid",
        );
    };
    let Some(user) = user else {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "no active user");
    };
    let claims = user_claims(&user, &scopes);
    // U4: Go's encoder escapes <>& and ends with a newline.
    let text = go_escape(&serde_json::Value::Object(claims).to_string());
    json_response(StatusCode::OK, format!("{text}\n"))
}

// ---------------------------------------------------------------------------------------------
// Revocation (V1–V3)

/// V1/V2: `client_id` required; 200 with `Content-Type: application/json` and an empty body,
/// also for unknown tokens. V3: an access token dies alone; a refresh token takes the access
/// token with it. The browser session survives.
async fn revoke(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let p = parse_form(&body);
    let client = match known_client(&sh, &headers, &p) {
        Ok(c) => c,
        Err(e) => return oauth_error(e.0, e.1, &e.2),
    };
    let Some(token) = nonempty(&p, "token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token missing");
    };
    // V2 (#7117): the caller must be in the token's audience (sibling apps are).
    let foreign = sh.with(|s| {
        let session_id = s
            .refresh_tokens
            .get(token)
            .cloned()
            .or_else(|| s.access_tokens.get(token).map(|r| r.session_id.clone()))?;
        let session = s.sessions.get(&session_id)?;
        Some(!audience(&sh, s, &session.client_id, &session.scopes).contains(&client))
    });
    if foreign == Some(true) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "token was not issued for this client",
        );
    }
    sh.with(|s| {
        if let Some(session_id) = s.refresh_tokens.get(token).cloned() {
            s.end_session(&session_id);
        } else if let Some(rec) = s.access_tokens.remove(token) {
            if let Some(session) = s.sessions.get_mut(&rec.session_id) {
                session.access_token = None;
            }
        }
    });
    json_response(StatusCode::OK, String::new())
}

// ---------------------------------------------------------------------------------------------
// End session (V4–V6)

/// V4: `post_logout_redirect_uri` only when `client_id` or a valid `id_token_hint` names the app
/// and the URI is registered (native loopback rule); `state` appended. V5: errors as 400 JSON.
/// V6: a hint with `sid` ends that login session and all its tokens; without a hint, the
/// browser's sessions end (Login V1 behaviour).
async fn end_session(
    State(sh): Sh,
    Extension(Issuer(issuer)): Extension<Issuer>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let p = if method == Method::POST {
        parse_form(&body)
    } else {
        parse_form(query.unwrap_or_default().as_bytes())
    };
    let hint = match nonempty(&p, "id_token_hint") {
        None => None,
        Some(h) => {
            // Signature against the current JWKS (removed keys fail, #7035), issuer of this
            // domain; expiry is not checked (expired hints are accepted).
            let claims = sh.with(|s| s.keys.as_ref().and_then(|k| k.verify(h)));
            match claims.filter(|c| c.get("iss").and_then(|i| i.as_str()) == Some(&issuer)) {
                Some(c) => Some(c),
                None => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "id_token_hint invalid",
                    )
                }
            }
        }
    };
    let hint_azp = hint
        .as_ref()
        .and_then(|c| c.get("azp").and_then(|a| a.as_str()).map(str::to_string));
    let client_id = nonempty(&p, "client_id").map(str::to_string);
    if let (Some(c), Some(azp)) = (&client_id, &hint_azp) {
        if c != azp {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_id does not match azp of id_token_hint",
            );
        }
    }
    let app = client_id.or(hint_azp);
    let redirect = match (nonempty(&p, "post_logout_redirect_uri"), &app) {
        (Some(uri), Some(app)) => {
            if *app != sh.client_id
                || !is_loopback_redirect(uri, &sh.cfg.post_logout_redirect_paths)
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "post_logout_redirect_uri invalid",
                );
            }
            Some(uri.to_string())
        }
        _ => None,
    };
    let sid = hint
        .as_ref()
        .and_then(|c| c.get("sid").and_then(|s| s.as_str()).map(str::to_string));
    let ua = cookie(&headers, UA_COOKIE);
    sh.with(|s| match (&sid, &ua) {
        (Some(sid), _) => s.terminate_login_session(sid),
        (None, Some(ua)) => {
            for sid in s.user_agents.get(ua).cloned().unwrap_or_default() {
                s.terminate_login_session(&sid);
            }
        }
        (None, None) => {}
    });
    match redirect {
        Some(uri) => match with_params(&uri, &[("state", p.get("state").map(String::as_str))]) {
            Some(loc) => found(&loc),
            None => html(StatusCode::OK, pages::signed_out()),
        },
        None => html(StatusCode::OK, pages::signed_out()),
    }
}

// ---------------------------------------------------------------------------------------------
// JWKS, introspection, device authorization

/// T19: the JWKS with `Cache-Control: max-age=300, must-revalidate` (0 ⇒ `no-store`); the
/// fault [`Fault::EmptyJwksOnce`] serves `{"keys":[]}` once (T20).
async fn keys(State(sh): Sh) -> Response {
    let empty = sh.with(|s| s.take_fault(Fault::EmptyJwksOnce));
    let jwks = if empty {
        serde_json::json!({"keys": []})
    } else {
        sh.with(|s| s.keys.as_ref().map(|k| k.jwks()))
            .unwrap_or_else(|| serde_json::json!({"keys": []}))
    };
    let mut resp = json_response(StatusCode::OK, format!("{jwks}\n"));
    let cc = if sh.cfg.jwks_max_age == 0 {
        "no-store".to_string()
    } else {
        format!("max-age={}, must-revalidate", sh.cfg.jwks_max_age)
    };
    if let Ok(v) = HeaderValue::from_str(&cc) {
        resp.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    resp
}

/// D7: introspection needs client authentication (Basic or a JWT assertion); a public client
/// (auth method `none`) cannot introspect.
async fn introspect(headers: HeaderMap, body: Bytes) -> Response {
    let p = parse_form(&body);
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Basic "));
    if !basic && nonempty(&p, "client_assertion").is_none() {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client must be authenticated",
        );
    }
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "invalid client credentials",
    )
}

/// D3: the endpoint exists; our native app has no device-code grant type.
async fn device_authorization() -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        "grant_type \"urn:ietf:params:oauth:grant-type:device_code\" not allowed",
    )
}
