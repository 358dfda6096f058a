//! Shared helpers for the sandbox integration tests: a loopback callback listener, the PKCE
//! sign-in flow, and SoftToken registrations. Real HTTP over loopback, no sleeps.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use passkeys_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_authenticator_rs::AuthenticatorBackendHashedClientData;
use webauthn_rs_proto::PublicKeyCredentialCreationOptions;

/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const FULL_SCOPE: &str =
    "openid profile email offline_access urn:zitadel:iam:org:project:id:zitadel:aud";

pub async fn start() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).await.unwrap()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn url(sb: &Sandbox, path: &str) -> String {
    format!("{}{}", sb.issuer().as_str().trim_end_matches('/'), path)
}

/// A one-shot loopback HTTP listener standing in for the client's redirect_uri. It answers the
/// first request with 200 and hands over its request target (path + query).
pub struct Callback {
    pub port: u16,
    pub host: &'static str,
    rx: oneshot::Receiver<String>,
}

impl Callback {
    pub async fn bind_v4() -> Callback {
        Self::bind("127.0.0.1", "127.0.0.1:0").await
    }

    pub async fn bind(host: &'static str, addr: &str) -> Callback {
        let listener = TcpListener::bind(addr).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let text = String::from_utf8_lossy(&buf).into_owned();
            let target = text.split_whitespace().nth(1).unwrap_or("").to_string();
            let _ = tx.send(target);
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .await;
        });
        Callback { port, host, rx }
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://{}:{}/callback", self.host, self.port)
    }

    /// The query parameters the browser delivered.
    pub async fn params(self) -> std::collections::HashMap<String, String> {
        let target = self.rx.await.unwrap();
        let u = url::Url::parse(&format!("http://x{target}")).unwrap();
        u.query_pairs().into_owned().collect()
    }
}

pub fn authorize_url(
    sb: &Sandbox,
    redirect_uri: &str,
    scope: &str,
    challenge: &str,
    state: &str,
) -> String {
    let mut u = url::Url::parse(&url(sb, "/oauth/v2/authorize")).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", sb.client_id())
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("nonce", "n-0S6_WzA2Mj")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    u.to_string()
}

/// Runs authorize → login as the demo user and returns (code, redirect_uri).
pub async fn get_code(sb: &Sandbox, scope: &str) -> (String, String) {
    get_code_as(sb, scope, "demo", "demo").await
}

/// Runs authorize → login as `user` and returns (code, redirect_uri).
pub async fn get_code_as(
    sb: &Sandbox,
    scope: &str,
    user: &str,
    password: &str,
) -> (String, String) {
    let cb = Callback::bind_v4().await;
    let redirect_uri = cb.redirect_uri();
    let au = authorize_url(sb, &redirect_uri, scope, CHALLENGE, "st");
    passkeys_sandbox::browser::complete_login(&au, user, password)
        .await
        .unwrap();
    let params = cb.params().await;
    assert_eq!(params.get("state").map(String::as_str), Some("st"));
    (params["code"].clone(), redirect_uri)
}

pub async fn exchange(
    sb: &Sandbox,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> reqwest::Response {
    http()
        .post(url(sb, "/oauth/v2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", sb.client_id()),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

/// Signs the demo user in with `scope` and returns the token response JSON.
pub async fn tokens(sb: &Sandbox, scope: &str) -> Value {
    tokens_as(sb, scope, "demo", "demo").await
}

/// Signs `user` in with `scope` and returns the token response JSON.
pub async fn tokens_as(sb: &Sandbox, scope: &str, user: &str, password: &str) -> Value {
    let (code, redirect_uri) = get_code_as(sb, scope, user, password).await;
    let resp = exchange(sb, &code, &redirect_uri, VERIFIER).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Signs in with the full scope set and returns the access token.
pub async fn access_token(sb: &Sandbox) -> String {
    tokens(sb, FULL_SCOPE).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn api(
    sb: &Sandbox,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = http().request(method, url(sb, path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json, headers)
}

/// AddMyPasswordless; returns the decoded options document `{"publicKey":{…}}` and its raw
/// JSON text.
pub async fn add(sb: &Sandbox, token: &str) -> (Value, String) {
    let (status, body, _) = api(
        sb,
        reqwest::Method::POST,
        "/auth/v1/users/me/passwordless",
        token,
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let b64 = body["key"]["publicKey"].as_str().unwrap();
    let raw = STANDARD.decode(b64).expect("standard padded base64");
    let text = String::from_utf8(raw).unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

/// Makes a SoftToken credential for the decoded options; returns the credential JSON.
pub fn soft_register(token: &mut SoftToken, options: &Value, origin: &str) -> Value {
    let challenge = options["publicKey"]["challenge"].as_str().unwrap();
    // ZITADEL never sends requireResidentKey (contract §2.2) but webauthn-rs-proto's type
    // requires it: add the WebAuthn default, as a client must.
    let mut pk = options["publicKey"].clone();
    pk["authenticatorSelection"]["requireResidentKey"] = serde_json::json!(false);
    let opts: PublicKeyCredentialCreationOptions = serde_json::from_value(pk).unwrap();
    let client_data = serde_json::json!({
        "type": "webauthn.create",
        "challenge": challenge,
        "origin": origin,
        "crossOrigin": false,
    });
    let client_data = serde_json::to_vec(&client_data).unwrap();
    let hash = Sha256::digest(&client_data).to_vec();
    let mut cred =
        AuthenticatorBackendHashedClientData::perform_register(token, hash, opts, 60_000).unwrap();
    cred.response.client_data_json = client_data;
    cred.id = URL_SAFE_NO_PAD.encode(&cred.raw_id);
    serde_json::to_value(&cred).unwrap()
}

pub fn verify_body(credential: &Value, name: &str) -> Value {
    let bytes = serde_json::to_vec(credential).unwrap();
    serde_json::json!({"verification": {
        "publicKeyCredential": STANDARD.encode(bytes),
        "tokenName": name,
    }})
}

pub async fn verify(sb: &Sandbox, token: &str, body: Value) -> (u16, Value) {
    let (s, b, _) = api(
        sb,
        reqwest::Method::POST,
        "/auth/v1/users/me/passwordless/_verify",
        token,
        Some(body),
    )
    .await;
    (s, b)
}

pub fn origin(sb: &Sandbox) -> String {
    sb.issuer().as_str().trim_end_matches('/').to_string()
}

pub fn soft_token() -> SoftToken {
    SoftToken::new(true).unwrap().0
}

/// Full registration through the API; returns the READY passkey's token id.
pub async fn register(sb: &Sandbox, token: &str, name: &str) -> String {
    let (opts, _) = add(sb, token).await;
    let mut st = soft_token();
    let cred = soft_register(&mut st, &opts, &origin(sb));
    let (status, body) = verify(sb, token, verify_body(&cred, name)).await;
    assert_eq!(status, 200, "{body}");
    let ready = sb.inspect().passkeys();
    ready
        .iter()
        .rev()
        .find(|p| p.name.as_deref() == Some(name))
        .unwrap()
        .id
        .clone()
}

pub fn error_id(body: &Value) -> Option<&str> {
    body["details"][0]["id"].as_str()
}

/// Header and payload of a compact JWS.
pub fn jwt_parts(jwt: &str) -> (Value, Value) {
    use base64::Engine as _;
    let parts: Vec<&str> = jwt.split('.').collect();
    let dec = |s: &str| -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .unwrap(),
        )
        .unwrap()
    };
    (dec(parts[0]), dec(parts[1]))
}
