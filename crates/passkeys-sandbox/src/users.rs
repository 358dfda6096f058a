//! The sandbox's users: the demo user plus, by default, a second normal user ("alice") and a
//! helpdesk administrator ("admin") that holds the permissions to act on other users'
//! passkeys (contract §5: `user.credential.write`, `user.passkey.write`, `user.read`,
//! `user.write`).

/// `user.credential.write`: RegisterPasskey for another user (contract §5).
pub const PERMISSION_CREDENTIAL_WRITE: &str = "user.credential.write";
/// `user.passkey.write`: CreatePasskeyRegistrationLink (contract §5; needed even for oneself).
pub const PERMISSION_PASSKEY_WRITE: &str = "user.passkey.write";
/// `user.read`: ListPasskeys (and user lookups) for another user.
pub const PERMISSION_USER_READ: &str = "user.read";
/// `user.write`: RemovePasskey for another user.
pub const PERMISSION_USER_WRITE: &str = "user.write";

/// Login name of the second normal sandbox user.
pub const ALICE_USERNAME: &str = "alice";
/// Password of [`ALICE_USERNAME`].
pub const ALICE_PASSWORD: &str = "alice";
/// User id of [`ALICE_USERNAME`].
pub const ALICE_USER_ID: &str = "218662596918640898";
/// Login name of the sandbox's helpdesk administrator.
pub const ADMIN_USERNAME: &str = "admin";
/// Password of [`ADMIN_USERNAME`].
pub const ADMIN_PASSWORD: &str = "admin";
/// User id of [`ADMIN_USERNAME`].
pub const ADMIN_USER_ID: &str = "218662596918640899";

/// Login name of the user with a TOTP second factor (E3).
pub const MFA_USERNAME: &str = "mfa";
/// Password of [`MFA_USERNAME`].
pub const MFA_PASSWORD: &str = "mfa";
/// The one-time code the sandbox accepts for [`MFA_USERNAME`] (a fixed code stands in for TOTP).
pub const MFA_OTP: &str = "123456";
/// User id of [`MFA_USERNAME`].
pub const MFA_USER_ID: &str = "218662596918640900";
/// Login name of the user whose names need escaping (`Zoë & Co`), with an unverified e-mail
/// and no language (U2, U4, T18).
pub const ZOE_USERNAME: &str = "zoe";
/// Password of [`ZOE_USERNAME`].
pub const ZOE_PASSWORD: &str = "zoe";
/// User id of [`ZOE_USERNAME`].
pub const ZOE_USER_ID: &str = "218662596918640901";
/// Login name of the user with an empty display name (U6).
pub const BLANK_USERNAME: &str = "blank";
/// Password of [`BLANK_USERNAME`].
pub const BLANK_PASSWORD: &str = "blank";
/// User id of [`BLANK_USERNAME`].
pub const BLANK_USER_ID: &str = "218662596918640902";

/// User name of the machine user (U3).
pub const MACHINE_USERNAME: &str = "build-bot";
/// User id of the machine user.
pub const MACHINE_USER_ID: &str = "218662596918640903";
/// The machine user's personal access token (an opaque access token with the ZITADEL
/// audience, valid until the sandbox stops).
pub const MACHINE_PAT: &str =
    "sandbox-pat-Qm9vdHN0cmFwLXBhdC1mb3ItdGhlLW1hY2hpbmUtdXNlci1vZi10aGUtc2FuZGJveA";

/// The domain part of sandbox login names (`user@sandbox.localhost`).
pub const LOGIN_DOMAIN: &str = "sandbox.localhost";

/// One sandbox user (a ZITADEL human user in the demo organisation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxUser {
    /// ZITADEL user id (18-digit decimal string; the `sub` claim).
    pub id: String,
    /// User name, typed on the sign-in page (the login name `user@sandbox.localhost` works too).
    pub username: String,
    /// Password for the sign-in page.
    pub password: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Role permissions (e.g. [`PERMISSION_CREDENTIAL_WRITE`]). Acting on oneself needs none.
    pub permissions: Vec<String>,
    /// A second factor (TOTP) is set up: the one-time code the sign-in page accepts. Signing in
    /// with the password alone then gives tokens the Auth API refuses with 403
    /// `mfa required (AUTHZ-Kl3p0)` (E3).
    pub otp: Option<String>,
    /// Preferred language (`None`: not set ⇒ userinfo `locale: null`, GetMyUser `"und"`; U2, U5).
    pub preferred_language: Option<String>,
    /// Whether the e-mail address is verified (U2: `email_verified` omitted when false).
    pub email_verified: bool,
    /// A display name set explicitly (may be `""`, U6); `None`: "First Last".
    pub custom_display_name: Option<String>,
    /// A machine user (U3): `first_name` is its name; it has no e-mail and cannot use the
    /// sign-in page; it calls with this personal access token (PAT).
    pub machine_pat: Option<String>,
}

impl SandboxUser {
    /// A user without permissions.
    pub fn new(id: &str, username: &str, password: &str, first: &str, last: &str) -> Self {
        SandboxUser {
            id: id.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            first_name: first.to_string(),
            last_name: last.to_string(),
            permissions: Vec::new(),
            otp: None,
            preferred_language: None,
            email_verified: true,
            custom_display_name: None,
            machine_pat: None,
        }
    }

    /// A machine user named `name` that authenticates with the personal access token `pat`
    /// (U3). Its password is empty, so the sign-in page never accepts it.
    pub fn machine(id: &str, username: &str, name: &str, pat: &str) -> Self {
        let mut u = SandboxUser::new(id, username, "", name, "");
        u.machine_pat = Some(pat.to_string());
        u
    }

    /// Whether this is a machine user.
    pub fn is_machine(&self) -> bool {
        self.machine_pat.is_some()
    }

    /// The same user with a TOTP second factor whose current code is `code`.
    pub fn with_otp(mut self, code: &str) -> Self {
        self.otp = Some(code.to_string());
        self
    }

    /// The same user with a preferred language (e.g. `"de"`).
    pub fn with_language(mut self, language: &str) -> Self {
        self.preferred_language = Some(language.to_string());
        self
    }

    /// The same user with an unverified e-mail address.
    pub fn with_unverified_email(mut self) -> Self {
        self.email_verified = false;
        self
    }

    /// The same user with the display name `name` (`""` allowed, U6).
    pub fn with_display_name(mut self, name: &str) -> Self {
        self.custom_display_name = Some(name.to_string());
        self
    }

    /// The same user holding `permissions`.
    pub fn with_permissions(mut self, permissions: &[&str]) -> Self {
        self.permissions = permissions.iter().map(|p| p.to_string()).collect();
        self
    }

    /// `username@sandbox.localhost`.
    pub fn login_name(&self) -> String {
        format!("{}@{LOGIN_DOMAIN}", self.username)
    }

    /// The e-mail address (same as the login name).
    pub fn email(&self) -> String {
        self.login_name()
    }

    /// The display name: set explicitly, else "First Last".
    pub fn display_name(&self) -> String {
        match &self.custom_display_name {
            Some(n) => n.clone(),
            None => format!("{} {}", self.first_name, self.last_name),
        }
    }

    /// Whether the user holds `permission`.
    pub fn has(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    /// Whether `name` (user name or login name, case-insensitive) names this user.
    pub fn is_named(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.username) || name.eq_ignore_ascii_case(&self.login_name())
    }
}

/// demo (no permissions; the behaviour of the single-user sandbox), alice (no permissions),
/// admin (the four user permissions, like ZITADEL's IAM_USER_MANAGER role), mfa (a TOTP second
/// factor, code [`MFA_OTP`]), zoe (`Zoë & Co`, unverified e-mail, no language) and blank (empty
/// display name), and the machine user build-bot ([`MACHINE_PAT`]). Only alice has a preferred
/// language (`en`).
pub fn default_users() -> Vec<SandboxUser> {
    vec![
        SandboxUser::new(
            crate::DEMO_USER_ID,
            crate::DEMO_USERNAME,
            crate::DEMO_PASSWORD,
            "Demo",
            "User",
        ),
        SandboxUser::new(
            ALICE_USER_ID,
            ALICE_USERNAME,
            ALICE_PASSWORD,
            "Alice",
            "Example",
        )
        .with_language("en"),
        SandboxUser::new(
            ADMIN_USER_ID,
            ADMIN_USERNAME,
            ADMIN_PASSWORD,
            "Helpdesk",
            "Admin",
        )
        .with_permissions(&[
            PERMISSION_CREDENTIAL_WRITE,
            PERMISSION_PASSKEY_WRITE,
            PERMISSION_USER_READ,
            PERMISSION_USER_WRITE,
        ]),
        SandboxUser::new(MFA_USER_ID, MFA_USERNAME, MFA_PASSWORD, "Mia", "Factor")
            .with_otp(MFA_OTP),
        SandboxUser::new(ZOE_USER_ID, ZOE_USERNAME, ZOE_PASSWORD, "Zoë", "Co")
            .with_display_name("Zoë & Co")
            .with_unverified_email(),
        SandboxUser::new(BLANK_USER_ID, BLANK_USERNAME, BLANK_PASSWORD, "Bo", "Blank")
            .with_display_name(""),
        SandboxUser::machine(MACHINE_USER_ID, MACHINE_USERNAME, "Build Bot", MACHINE_PAT),
    ]
}
