//! Reading servers' replies with a size limit (issue 12, item 4).
//!
//! Every reply body this app reads from a server goes through [`read_capped`] (directly, or
//! through [`CappedClient`] for the requests `openidconnect` makes: discovery, JWKS, token), with
//! a limit that fits the job. A reply larger than its limit is refused as soon as the limit is
//! passed (or at once, when `Content-Length` announces it), with
//! [`Error::ResponseTooLarge`] naming the endpoint and the limit: a hostile or broken server
//! cannot make the process grow by sending an endless body.

use std::future::Future;
use std::pin::Pin;

use openidconnect::{HttpRequest, HttpResponse};

use crate::error::Error;

/// The largest OpenID discovery document read. ZITADEL's is about 3 KiB.
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;
/// The largest JWKS read. ZITADEL publishes a handful of keys (a few KiB); 256 KiB leaves room
/// for many RSA-4096 keys during rotations.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// The largest token-endpoint reply read (access, refresh and ID token: a few KiB).
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;
/// The largest userinfo reply read (names and e-mail fit in a few kilobytes).
pub const MAX_USERINFO_BYTES: usize = 64 * 1024;
/// The largest ZITADEL API reply read (the passkey list, creation options, the user, error
/// bodies: kilobytes; 4 MiB allows lists far longer than any account has).
pub const MAX_API_BYTES: usize = 4 * 1024 * 1024;

/// A limit on one kind of reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The endpoint, for the error message ("token endpoint").
    pub endpoint: &'static str,
    /// The most bytes read.
    pub bytes: usize,
}

/// The discovery document (`/.well-known/openid-configuration`).
pub const DISCOVERY: Limit = Limit {
    endpoint: "discovery document",
    bytes: MAX_DISCOVERY_BYTES,
};
/// The signing keys (`jwks_uri`).
pub const JWKS: Limit = Limit {
    endpoint: "signing keys (jwks_uri)",
    bytes: MAX_JWKS_BYTES,
};
/// The token endpoint (code exchange and refresh).
pub const TOKEN: Limit = Limit {
    endpoint: "token endpoint",
    bytes: MAX_TOKEN_BYTES,
};
/// The userinfo endpoint.
pub const USERINFO: Limit = Limit {
    endpoint: "userinfo endpoint",
    bytes: MAX_USERINFO_BYTES,
};
/// The ZITADEL API (`/auth/v1/…`, `/v2/…`, `/management/v1/…`).
pub const API: Limit = Limit {
    endpoint: "ZITADEL API",
    bytes: MAX_API_BYTES,
};

/// Why a capped read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The request could not be sent or the reply not read.
    #[error("{0}")]
    Request(#[source] reqwest::Error),
    /// The request could not be built.
    #[error("the request could not be built: {0}")]
    Build(String),
    /// The reply is larger than its limit.
    #[error("the {} at {url} sent a reply larger than {} KiB", limit.endpoint, limit.bytes / 1024)]
    TooLarge {
        /// The limit that was passed.
        limit: Limit,
        /// Where the reply came from.
        url: String,
    },
}

impl ReadError {
    /// The crate error: [`Error::ResponseTooLarge`] or [`Error::Network`].
    pub fn into_error(self, url: &str) -> Error {
        match self {
            ReadError::TooLarge { limit, url } => Error::ResponseTooLarge {
                endpoint: limit.endpoint,
                url,
                limit: limit.bytes,
            },
            ReadError::Request(e) => Error::Network {
                url: url.to_string(),
                reason: chain(&e),
            },
            ReadError::Build(reason) => Error::Network {
                url: url.to_string(),
                reason,
            },
        }
    }
}

/// An error and its sources, on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s = format!("{s}: {x}");
        src = x.source();
    }
    s
}

/// Reads `resp`'s body, at most `limit.bytes` of it: a longer body (or a `Content-Length` that
/// announces one) is refused without reading the rest.
pub async fn read_capped(
    mut resp: reqwest::Response,
    limit: Limit,
) -> std::result::Result<Vec<u8>, ReadError> {
    let too_large = |resp: &reqwest::Response| ReadError::TooLarge {
        limit,
        url: resp.url().to_string(),
    };
    if resp
        .content_length()
        .is_some_and(|n| n > limit.bytes as u64)
    {
        return Err(too_large(&resp));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Request)? {
        if body.len() + chunk.len() > limit.bytes {
            return Err(too_large(&resp));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An [`openidconnect::AsyncHttpClient`] over `reqwest` that reads every reply with
/// [`read_capped`], for the requests `openidconnect` makes itself (JWKS, token exchange,
/// refresh). Redirects, timeouts and TLS are those of the wrapped client.
#[derive(Debug, Clone, Copy)]
pub struct CappedClient<'a> {
    http: &'a reqwest::Client,
    limit: Limit,
}

impl<'a> CappedClient<'a> {
    /// Wraps `http`; replies larger than `limit` are refused.
    pub fn new(http: &'a reqwest::Client, limit: Limit) -> Self {
        Self { http, limit }
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for CappedClient<'_> {
    type Error = ReadError;
    type Future =
        Pin<Box<dyn Future<Output = std::result::Result<HttpResponse, ReadError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request =
                reqwest::Request::try_from(request).map_err(|e| ReadError::Build(chain(&e)))?;
            let resp = self
                .http
                .execute(request)
                .await
                .map_err(ReadError::Request)?;
            let mut builder = openidconnect::http::Response::builder()
                .status(resp.status())
                .version(resp.version());
            for (name, value) in resp.headers() {
                builder = builder.header(name, value);
            }
            let body = read_capped(resp, self.limit).await?;
            builder
                .body(body)
                .map_err(|e| ReadError::Build(e.to_string()))
        })
    }
}
