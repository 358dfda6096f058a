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
        }
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

    /// "First Last".
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
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

/// demo (no permissions; the behaviour of the single-user sandbox), alice (no permissions)
/// and admin (the four user permissions, like ZITADEL's IAM_USER_MANAGER role).
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
        ),
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
    ]
}
