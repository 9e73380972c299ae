//! Staff accounts: roles, what a new account must look like. Passwords are hashed in
//! `passwords`, failed logins slowed down in `throttle`.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::validation::{self, FieldErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including settings, devices and staff accounts.
    Admin,
    /// Residents and visits.
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: String,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
}

/// Who did something, for the audit list and permission checks: a person or an API
/// token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub label: String,
    pub role: Role,
    pub staff_id: Option<String>,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// How long a staff session lasts.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);
/// How long a one-time account set-up link works.
pub const SETUP_LINK_LIFETIME: Duration = Duration::hours(24);

pub const MIN_PASSWORD_CHARS: usize = 10;
const MAX_LOGIN_CHARS: usize = 64;
const MAX_DISPLAY_NAME_CHARS: usize = 80;

/// A stored hash no password matches (its output is not the hash of anything
/// known), checked when a login name is unknown so that both cases take as long.
pub const UNKNOWN_ACCOUNT_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bWVua2FpLXVua25vd24$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// A new account's details, from the one-time set-up page.
#[derive(Debug, Clone, Deserialize)]
pub struct AccountInput {
    pub login: String,
    pub display_name: String,
    pub password: String,
    pub password_again: String,
}

impl AccountInput {
    /// Checks every field; returns the input as stored (login and name cleaned).
    pub fn validate(mut self) -> Result<AccountInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let login = validation::normalize(&self.login);
        if login.is_empty() {
            errors.add("login", "required");
        } else if login.chars().count() > MAX_LOGIN_CHARS
            || !login
                .chars()
                .all(|c| c.is_alphanumeric() || "._-@".contains(c))
        {
            errors.add("login", "invalid_login");
        }
        let name = validation::name(&self.display_name, MAX_DISPLAY_NAME_CHARS);
        if let Some(name) = errors.check("display_name", name) {
            self.display_name = name;
        }
        self.login = login;
        if self.password.chars().count() < MIN_PASSWORD_CHARS {
            errors.add("password", "password_too_short");
        } else if self.password.len() > crate::passwords::MAX_PASSWORD_BYTES {
            errors.add("password", "too_long");
        } else if self.password != self.password_again {
            errors.add("password_again", "passwords_differ");
        }
        errors.into_result().map(|()| self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_input_is_checked() {
        let input = AccountInput {
            login: "bad login!".into(),
            display_name: "".into(),
            password: "short".into(),
            password_again: "short".into(),
        };
        let e = input.validate().unwrap_err();
        assert_eq!(e.code_for("login"), Some("invalid_login"));
        assert_eq!(e.code_for("display_name"), Some("required"));
        assert_eq!(e.code_for("password"), Some("password_too_short"));
    }
}
