//! OIDC endpoints (contract §6 and §8.1 O1–O6): discovery, authorize + sign-in page, token
//! (authorization code with PKCE S256, refresh-token rotation), userinfo, revocation,
//! end-session and the JWKS.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::keys::IdTokenInput;
use crate::pages;
use crate::state::{
    later, random_token, unix_secs, AccessTokenRec, AuthRequest, CodeGrant, Fault, Inner, Session,
    Shared,
};

type Sh = State<Arc<Shared>>;

/// Lifetime of an authorization code.
const CODE_TTL: Duration = Duration::from_secs(600);

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth/v2/authorize", get(authorize))
        .route("/login", post(login))
        .route("/oauth/v2/token", post(token))
        .route("/oauth/v2/keys", get(keys))
        .route("/oauth/v2/revoke", post(revoke))
        .route("/oidc/v1/userinfo", get(userinfo).post(userinfo))
        .route("/oidc/v1/end_session", get(end_session))
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

/// O1: the discovery document. All URLs are built from the issuer (no trailing slash).
async fn discovery(State(sh): Sh) -> Response {
    let wrong = sh.with(|s| s.has_fault(Fault::WrongDiscoveryIssuer));
    let iss = sh.issuer.as_str();
    let issuer = if wrong {
        format!("{iss}/not-this-issuer")
    } else {
        iss.to_string()
    };
    Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{iss}/oauth/v2/authorize"),
        "token_endpoint": format!("{iss}/oauth/v2/token"),
        "introspection_endpoint": format!("{iss}/oauth/v2/introspect"),
        "userinfo_endpoint": format!("{iss}/oidc/v1/userinfo"),
        "revocation_endpoint": format!("{iss}/oauth/v2/revoke"),
        "end_session_endpoint": format!("{iss}/oidc/v1/end_session"),
        "jwks_uri": format!("{iss}/oauth/v2/keys"),
        "scopes_supported": [
            "openid", "profile", "email", "phone", "address", "offline_access",
            crate::ZITADEL_AUD_SCOPE
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "request_object_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "azp", "at_hash",
            "name", "given_name", "family_name", "preferred_username", "email", "email_verified"
        ],
        "request_parameter_supported": false,
        "ui_locales_supported": ["en"]
    }))
    .into_response()
}

/// The loopback rule for native apps (contract §6.3, case C09): http(s) on `localhost` or a
/// loopback IP, any port, with one of the registered paths and no query or fragment.
pub(crate) fn is_loopback_redirect(uri: &str, paths: &[String]) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return false;
    }
    let host_ok = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    host_ok && paths.iter().any(|p| p == url.path())
}

fn is_any_loopback(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, Html(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
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
        Err(_) => html(
            StatusCode::BAD_REQUEST,
            pages::error("Bad redirect", "The redirect target is not a valid URL."),
        ),
    }
}

/// Appends query parameters to a (validated) redirect URI.
fn with_params(redirect_uri: &str, params: &[(&str, Option<&str>)]) -> Option<String> {
    let mut url = url::Url::parse(redirect_uri).ok()?;
    {
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
        None => html(
            StatusCode::BAD_REQUEST,
            pages::error("Sign-in request refused", description),
        ),
    }
}

/// O2: validates the authorization request and shows the sign-in page.
async fn authorize(State(sh): Sh, RawQuery(query): RawQuery) -> Response {
    let p = parse_form(query.unwrap_or_default().as_bytes());
    match nonempty(&p, "client_id") {
        Some(c) if c == sh.client_id => {}
        Some(_) => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error(
                    "Unknown application",
                    "The requested client_id is not known (invalid_client). Check the application's client id.",
                ),
            )
        }
        None => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error("Invalid request", "The client_id parameter is missing."),
            )
        }
    }
    let redirect_uri = match nonempty(&p, "redirect_uri") {
        Some(r) if is_loopback_redirect(r, &sh.redirect_paths) => r.to_string(),
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error(
                    "Invalid redirect_uri",
                    "The requested redirect_uri is missing in the client configuration. \
                     If you have any questions, you may contact the administrator of the application.",
                ),
            )
        }
    };
    let state = p.get("state").cloned();
    let state_ref = state.as_deref();
    if p.get("response_type").map(String::as_str) != Some("code") {
        return redirect_error(
            &redirect_uri,
            "unsupported_response_type",
            "The response_type must be code.",
            state_ref,
        );
    }
    let scopes: Vec<String> = p
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    if !scopes.iter().any(|s| s == "openid") {
        return redirect_error(
            &redirect_uri,
            "invalid_scope",
            "The scope openid is missing in your request.",
            state_ref,
        );
    }
    let Some(code_challenge) = nonempty(&p, "code_challenge") else {
        return redirect_error(
            &redirect_uri,
            "invalid_request",
            "code_challenge required (PKCE with S256).",
            state_ref,
        );
    };
    if p.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return redirect_error(
            &redirect_uri,
            "invalid_request",
            "code_challenge_method must be S256.",
            state_ref,
        );
    }
    let id = random_token(16);
    let now = SystemTime::now();
    let req = AuthRequest {
        client_id: sh.client_id.clone(),
        redirect_uri,
        state,
        nonce: p.get("nonce").cloned().filter(|n| !n.is_empty()),
        scopes,
        code_challenge: code_challenge.to_string(),
        created: now,
    };
    sh.with(|s| {
        s.prune(now);
        s.auth_requests.insert(id.clone(), req);
    });
    let login_hint = p.get("login_hint").map(String::as_str).unwrap_or("");
    html(StatusCode::OK, pages::login(&id, login_hint, None))
}

/// The sign-in form's target: checks the demo credentials and redirects to the client with a
/// code and the echoed `state`.
async fn login(State(sh): Sh, body: Bytes) -> Response {
    let p = parse_form(&body);
    let id = p
        .get(pages::AUTH_REQUEST_FIELD)
        .cloned()
        .unwrap_or_default();
    let username = p.get("username").cloned().unwrap_or_default();
    let password = p.get("password").cloned().unwrap_or_default();
    let known = sh.with(|s| s.auth_requests.contains_key(&id));
    if !known {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(
                "Sign-in expired",
                "This sign-in request is unknown or has expired. Start the sign-in again from the application.",
            ),
        );
    }
    let user_id = sh.with(|s| {
        s.users
            .iter()
            .find(|u| u.is_named(&username) && u.password == password)
            .map(|u| u.id.clone())
    });
    let Some(user_id) = user_id else {
        tracing::info!("sandbox sign-in refused: wrong login name or password");
        return html(
            StatusCode::UNAUTHORIZED,
            pages::login(&id, &username, Some("Wrong login name or password.")),
        );
    };
    let now = SystemTime::now();
    let code = random_token(32);
    let Some(req) = sh.with(|s| {
        let req = s.auth_requests.remove(&id)?;
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
                auth_time: now,
                expires: later(now, CODE_TTL),
            },
        );
        Some(req)
    }) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("Sign-in expired", "This sign-in request was already used."),
        );
    };
    tracing::info!("sandbox sign-in succeeded; redirecting to the client");
    match with_params(
        &req.redirect_uri,
        &[("code", Some(&code)), ("state", req.state.as_deref())],
    ) {
        Some(loc) => found(&loc),
        None => html(
            StatusCode::BAD_REQUEST,
            pages::error("Bad redirect", "The redirect_uri is not a valid URL."),
        ),
    }
}

/// An OAuth error kept small inside the state lock; rendered by [`oauth_error`].
struct OAuthErr(StatusCode, &'static str, &'static str);

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut resp = (
        status,
        Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Client id from the form, or from HTTP Basic authentication (`client_id:` with an empty
/// secret), as OAuth 2 libraries may send it.
fn client_id_of(headers: &HeaderMap, p: &HashMap<String, String>) -> Option<String> {
    if let Some(c) = nonempty(p, "client_id") {
        return Some(c.to_string());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = auth.strip_prefix("Basic ")?;
    let raw = STANDARD.decode(b64.trim()).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let user = raw.split(':').next()?;
    let decoded: String = url::form_urlencoded::parse(format!("u={user}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    Some(decoded).filter(|s| !s.is_empty())
}

/// `BASE64URL-NOPAD(SHA-256(ASCII(verifier)))` (RFC 7636 §4.2).
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

struct Issued {
    user_id: String,
    access_token: String,
    refresh_token: Option<String>,
    scopes: Vec<String>,
    nonce: Option<String>,
    auth_time: SystemTime,
}

/// Creates the tokens of a session (new or rotated) inside the lock.
fn issue(s: &mut Inner, session_id: &str, ttl: Duration, now: SystemTime) -> Option<Issued> {
    let access = random_token(32);
    let session = s.sessions.get_mut(session_id)?;
    let old_access = session.access_token.replace(access.clone());
    let wants_refresh =
        session.scopes.iter().any(|x| x == "offline_access") || session.refresh_token.is_some();
    let new_refresh = wants_refresh.then(|| random_token(32));
    let old_refresh = if wants_refresh {
        std::mem::replace(&mut session.refresh_token, new_refresh.clone())
    } else {
        None
    };
    let issued = Issued {
        user_id: session.user_id.clone(),
        access_token: access.clone(),
        refresh_token: new_refresh.clone(),
        scopes: session.scopes.clone(),
        nonce: session.nonce.clone(),
        auth_time: session.auth_time,
    };
    if let Some(old) = old_access {
        s.access_tokens.remove(&old);
    }
    if let Some(old) = old_refresh {
        s.refresh_tokens.remove(&old);
    }
    s.access_tokens.insert(
        access,
        AccessTokenRec {
            session_id: session_id.to_string(),
            expires: later(now, ttl),
        },
    );
    if let Some(rt) = new_refresh {
        s.refresh_tokens.insert(rt, session_id.to_string());
    }
    Some(issued)
}

fn token_response(sh: &Shared, issued: Issued, now: SystemTime) -> Response {
    let ttl = sh.access_token_ttl;
    let has = |x: &str| issued.scopes.iter().any(|s| s == x);
    let Some(user) = sh.with(|s| s.user(&issued.user_id).cloned()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the user of this session no longer exists",
        );
    };
    let id_token = sh.signing_key.id_token(&IdTokenInput {
        issuer: &sh.issuer,
        client_id: &sh.client_id,
        subject: &user.id,
        user: &user,
        nonce: issued.nonce.as_deref(),
        auth_time: unix_secs(issued.auth_time),
        issued_at: unix_secs(now),
        expires_at: unix_secs(later(now, ttl)),
        access_token: &issued.access_token,
        profile: has("profile"),
        email: has("email"),
    });
    let id_token = match id_token {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot sign the ID token");
            return oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "cannot sign the ID token",
            );
        }
    };
    let mut body = serde_json::json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
        "id_token": id_token,
        "scope": issued.scopes.join(" "),
    });
    if let (Some(rt), Some(obj)) = (issued.refresh_token, body.as_object_mut()) {
        obj.insert("refresh_token".into(), serde_json::Value::String(rt));
    }
    let mut resp = Json(body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// O3: the token endpoint.
async fn token(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let p = parse_form(&body);
    let grant_type = p.get("grant_type").cloned().unwrap_or_default();
    sh.with(|s| *s.token_calls.entry(grant_type.clone()).or_default() += 1);
    let Some(client_id) = client_id_of(&headers, &p) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id missing",
        );
    };
    if client_id != sh.client_id {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client not found",
        );
    }
    match grant_type.as_str() {
        "authorization_code" => code_grant(&sh, &p),
        "refresh_token" => refresh_grant(&sh, &p),
        "" => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type missing",
        ),
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "the grant_type is not supported by the sandbox",
        ),
    }
}

fn code_grant(sh: &Shared, p: &HashMap<String, String>) -> Response {
    let Some(code) = nonempty(p, "code") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "code missing");
    };
    let redirect_uri = p.get("redirect_uri").map(String::as_str).unwrap_or("");
    let verifier = nonempty(p, "code_verifier");
    let now = SystemTime::now();
    let ttl = sh.access_token_ttl;
    let result: Result<Issued, OAuthErr> = sh.with(|s| {
        let grant = match s.codes.get(code) {
            Some(g) if g.expires > now => g,
            _ => {
                return Err(OAuthErr(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "invalid code: unknown, expired or already used",
                ))
            }
        };
        if grant.client_id != sh.client_id {
            return Err(OAuthErr(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "code was not issued to this client",
            ));
        }
        if grant.redirect_uri != redirect_uri {
            return Err(OAuthErr(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "redirect_uri does not correspond",
            ));
        }
        let Some(verifier) = verifier else {
            return Err(OAuthErr(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "code_verifier required",
            ));
        };
        if s256(verifier) != grant.code_challenge {
            return Err(OAuthErr(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "invalid code_verifier",
            ));
        }
        let Some(grant) = s.codes.remove(code) else {
            return Err(OAuthErr(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "invalid code",
            ));
        };
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
            },
        );
        issue(s, &session_id, ttl, now).ok_or(OAuthErr(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "session lost",
        ))
    });
    match result {
        Ok(issued) => token_response(sh, issued, now),
        Err(e) => oauth_error(e.0, e.1, e.2),
    }
}

fn refresh_grant(sh: &Shared, p: &HashMap<String, String>) -> Response {
    let Some(refresh) = nonempty(p, "refresh_token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token missing",
        );
    };
    let requested: Option<Vec<String>> =
        nonempty(p, "scope").map(|s| s.split_whitespace().map(str::to_string).collect());
    let now = SystemTime::now();
    let ttl = sh.access_token_ttl;
    let result: Result<Issued, OAuthErr> = sh.with(|s| {
        let invalid = || {
            OAuthErr(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Errors.OIDCSession.RefreshTokenInvalid",
            )
        };
        let session_id = s.refresh_tokens.get(refresh).cloned().ok_or_else(invalid)?;
        let session = s.sessions.get_mut(&session_id).ok_or_else(invalid)?;
        if session.client_id != sh.client_id {
            return Err(invalid());
        }
        if let Some(req) = requested {
            if !req.iter().all(|r| session.scopes.contains(r)) {
                return Err(OAuthErr(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "the requested scope exceeds the granted scope",
                ));
            }
            session.scopes = req;
        }
        issue(s, &session_id, ttl, now).ok_or_else(invalid)
    });
    match result {
        Ok(issued) => token_response(sh, issued, now),
        Err(e) => oauth_error(e.0, e.1, e.2),
    }
}

/// O4 lookup: the session of a live, unexpired access token.
pub(crate) fn session_of<'a>(s: &'a Inner, token: &str, now: SystemTime) -> Option<&'a Session> {
    let rec = s.access_tokens.get(token)?;
    if rec.expires <= now {
        return None;
    }
    s.sessions.get(&rec.session_id)
}

/// O4: userinfo with a Bearer access token.
async fn userinfo(State(sh): Sh, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let now = SystemTime::now();
    let found = token.and_then(|t| {
        sh.with(|s| {
            let session = session_of(s, &t, now)?;
            Some((session.scopes.clone(), s.user(&session.user_id)?.clone()))
        })
    });
    let Some((scopes, user)) = found else {
        let mut resp = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "access token missing, invalid or expired",
        );
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer error="invalid_token""#),
        );
        return resp;
    };
    let has = |x: &str| scopes.iter().any(|s| s == x);
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), user.id.clone().into());
    if has("profile") {
        claims.insert("name".into(), user.display_name().into());
        claims.insert("given_name".into(), user.first_name.clone().into());
        claims.insert("family_name".into(), user.last_name.clone().into());
        claims.insert("preferred_username".into(), user.login_name().into());
        claims.insert("locale".into(), "en".into());
    }
    if has("email") {
        claims.insert("email".into(), user.email().into());
        claims.insert("email_verified".into(), true.into());
    }
    Json(serde_json::Value::Object(claims)).into_response()
}

/// O5: token revocation (RFC 7009). Unknown tokens still get 200. Revoking a refresh token ends
/// the whole session, its access token included.
async fn revoke(State(sh): Sh, headers: HeaderMap, body: Bytes) -> Response {
    let p = parse_form(&body);
    let Some(token) = nonempty(&p, "token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token missing");
    };
    if let Some(c) = client_id_of(&headers, &p) {
        if c != sh.client_id {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client not found",
            );
        }
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
    StatusCode::OK.into_response()
}

/// O6: end session. Redirects to a loopback `post_logout_redirect_uri` (with `state`), otherwise
/// shows a small "signed out" page.
async fn end_session(RawQuery(query): RawQuery) -> Response {
    let p = parse_form(query.unwrap_or_default().as_bytes());
    if let Some(uri) = nonempty(&p, "post_logout_redirect_uri") {
        if is_any_loopback(uri) {
            if let Some(loc) = with_params(uri, &[("state", p.get("state").map(String::as_str))]) {
                return found(&loc);
            }
        }
    }
    html(StatusCode::OK, pages::signed_out())
}

/// The JWKS with the RS256 public key.
async fn keys(State(sh): Sh) -> Response {
    Json(sh.signing_key.jwks().clone()).into_response()
}
