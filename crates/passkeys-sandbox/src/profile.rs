//! Version profiles and app-setting switches of the sandbox (docs/zitadel-fidelity.md). The
//! default is current ZITADEL v4 with a native app's default settings.

use std::time::Duration;

use crate::SandboxConfig;

/// The ZITADEL release line the sandbox imitates where the wire behaviour differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ZitadelVersion {
    /// v2.60 – v2.7x: legacy RS256 signing keys (one key at a time, auto-rotated), discovery
    /// lists only `RS256` (D11, T20).
    V2_6x,
    /// v3.0 – v3.3 without the `web_key` feature: like [`ZitadelVersion::V2_6x`] on the wire.
    V3,
    /// v4.x (default): web keys (active + next key in the JWKS), seven algorithms in discovery.
    #[default]
    V4,
}

impl ZitadelVersion {
    /// Whether the instance uses web keys (v3.4+/v4) rather than legacy auto-rotated keys.
    pub fn web_keys(self) -> bool {
        matches!(self, ZitadelVersion::V4)
    }
}

/// The app setting "Auth Token Type" (T21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AccessTokenType {
    /// Opaque access tokens (default).
    #[default]
    Bearer,
    /// JWT access tokens (`typ: JWT`, claims `iss sub aud exp iat nbf client_id jti`), accepted
    /// by the API on the same instance domain only (D2).
    Jwt,
}

/// The algorithm of the active signing key (T11, web keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SigningAlg {
    /// RSA 2048, RS256 (default).
    #[default]
    Rs256,
    /// P-256, ES256.
    Es256,
    /// Ed25519, EdDSA.
    EdDsa,
}

impl SigningAlg {
    /// The JOSE `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
            SigningAlg::EdDsa => "EdDSA",
        }
    }
}

/// Whether the app has the `REFRESH_TOKEN` grant type (T10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RefreshGrant {
    /// Refresh tokens for `offline_access` (default).
    #[default]
    Enabled,
    /// Grant type off, Login V2 / v2 auth requests: no `refresh_token` in the token reply.
    DisabledNoToken,
    /// Grant type off, Login V1 path: a refresh token is issued, but using it answers 400
    /// `unauthorized_client` `grant_type "refresh_token" not allowed`.
    DisabledRejected,
}

/// The shape of opaque tokens and codes (T4, T21, T22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenFormat {
    /// ≤ v4.13.1: base64url without padding, ≈100 characters, no dots (default).
    #[default]
    Opaque,
    /// After PR #12017: JWE compact serialisation, ≈300 characters with 4 dots.
    Jwe,
}

impl SandboxConfig {
    /// The named profiles the CLI's integration tests run the main job against: ZITADEL
    /// versions and app settings (docs/zitadel-fidelity.md, "Profiles").
    pub fn profiles() -> Vec<(&'static str, SandboxConfig)> {
        let d = SandboxConfig::default;
        vec![
            ("v4-default", d()),
            (
                "v4-userinfo-in-id-token-jwt-at",
                SandboxConfig {
                    userinfo_in_id_token: true,
                    access_token_type: AccessTokenType::Jwt,
                    clock_skew: Duration::from_secs(5),
                    ..d()
                },
            ),
            (
                "v4-es256",
                SandboxConfig {
                    signing_alg: SigningAlg::Es256,
                    ..d()
                },
            ),
            (
                "v4-eddsa",
                SandboxConfig {
                    signing_alg: SigningAlg::EdDsa,
                    ..d()
                },
            ),
            (
                "v3-legacy-keys",
                SandboxConfig {
                    version: ZitadelVersion::V3,
                    ..d()
                },
            ),
            (
                "v2.60-pre-403",
                SandboxConfig {
                    version: ZitadelVersion::V2_6x,
                    pre_2_60_forbidden: true,
                    ..d()
                },
            ),
            (
                "v2.58-v1-only",
                SandboxConfig {
                    version: ZitadelVersion::V2_6x,
                    pre_2_60_forbidden: true,
                    user_v2_rest_passkeys: false,
                    user_v2_connect: false,
                    ..d()
                },
            ),
            (
                "v3-no-connect",
                SandboxConfig {
                    version: ZitadelVersion::V3,
                    user_v2_connect: false,
                    ..d()
                },
            ),
            (
                "no-refresh-grant",
                SandboxConfig {
                    refresh_grant: RefreshGrant::DisabledNoToken,
                    ..d()
                },
            ),
            (
                "jwe-tokens",
                SandboxConfig {
                    token_format: TokenFormat::Jwe,
                    ..d()
                },
            ),
        ]
    }

    /// One profile per set of passkey API generations (docs/zitadel-fidelity.md G1–G4), for a
    /// client that chooses its API by itself: only Auth API v1, only User service v2 REST,
    /// only User service v2 Connect, and v2 on both transports without v1 (a future instance,
    /// zitadel/zitadel#10899, which also answers no `GET /auth/v1/users/me`). All three at once is `v4-default` in [`SandboxConfig::profiles`].
    /// Not part of `profiles()`: a client that speaks only v1 fails the profiles without it.
    pub fn api_generation_profiles() -> Vec<(&'static str, SandboxConfig)> {
        let only = |v1: bool, rest: bool, connect: bool| SandboxConfig {
            auth_v1_passkeys: v1,
            user_v2_rest_passkeys: rest,
            user_v2_connect: connect,
            ..SandboxConfig::default()
        };
        vec![
            ("api-v1-only", only(true, false, false)),
            ("api-v2-rest-only", only(false, true, false)),
            ("api-v2-connect-only", only(false, false, true)),
            (
                "api-future-no-v1",
                SandboxConfig {
                    auth_v1_users_me: false,
                    ..only(false, true, true)
                },
            ),
        ]
    }

    /// The profile called `name` in [`SandboxConfig::profiles`] or
    /// [`SandboxConfig::api_generation_profiles`], if any.
    pub fn profile(name: &str) -> Option<SandboxConfig> {
        Self::profiles()
            .into_iter()
            .chain(Self::api_generation_profiles())
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c)
    }
}
