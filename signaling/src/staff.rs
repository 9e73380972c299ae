//! Staff accounts: roles, passwords (argon2id) and the growing delay after repeated
//! failed logins.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;

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
const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_LOGIN_CHARS: usize = 64;
const MAX_DISPLAY_NAME_CHARS: usize = 80;

/// Hashes a password with argon2id and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// A real hash of a random password, checked when a login name is unknown so that
/// both cases take as long (no hint about which names exist).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        hash_password(&crate::tokens::generate().plain).unwrap_or_default()
    });
    &DUMMY
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    password.len() <= MAX_PASSWORD_BYTES
        && Argon2::default()
            .verify_password(password.as_bytes(), phc)
            .is_ok()
}

/// A new account's details, from the one-time set-up page.
#[derive(Debug, Clone, Deserialize)]
pub struct AccountInput {
    pub login: String,
    pub display_name: String,
    pub password: String,
    pub password_again: String,
}

impl AccountInput {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        let login = self.login.trim();
        if login.is_empty() {
            errors.add("login", "required");
        } else if login.chars().count() > MAX_LOGIN_CHARS
            || !login
                .chars()
                .all(|c| c.is_alphanumeric() || "._-@".contains(c))
        {
            errors.add("login", "invalid_login");
        }
        let name = self.display_name.trim();
        if name.is_empty() {
            errors.add("display_name", "required");
        } else if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            errors.add("display_name", "too_long");
        }
        if self.password.chars().count() < MIN_PASSWORD_CHARS {
            errors.add("password", "password_too_short");
        } else if self.password.len() > MAX_PASSWORD_BYTES {
            errors.add("password", "too_long");
        } else if self.password != self.password_again {
            errors.add("password_again", "passwords_differ");
        }
        errors.into_result()
    }
}

/// Failed logins are counted per login name; after a few, each further attempt must
/// wait longer: 1 s, 2 s, 4 s … up to 15 minutes. Held in memory: a restart forgives,
/// which is acceptable because argon2 already makes each guess slow.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: DateTime<Utc>,
}

/// Failures allowed before delays start.
const FREE_FAILURES: u32 = 3;
const MAX_DELAY_SECS: i64 = 15 * 60;
/// More names than this are not tracked: an attacker inventing names cannot grow memory.
const MAX_TRACKED: usize = 10_000;

/// The wait imposed after `count` consecutive failures.
pub fn delay_after(count: u32) -> Duration {
    if count < FREE_FAILURES {
        return Duration::zero();
    }
    let exponent = (count - FREE_FAILURES).min(20);
    Duration::seconds((1i64 << exponent).min(MAX_DELAY_SECS))
}

impl LoginThrottle {
    fn key(login: &str) -> String {
        login.trim().to_lowercase()
    }

    /// Seconds the caller must still wait before trying this login again, if any.
    pub fn wait(&self, login: &str, now: DateTime<Utc>) -> Option<u64> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let f = failures.get(&Self::key(login))?;
        let until = f.last + delay_after(f.count);
        (until > now).then(|| {
            ((until - now).num_milliseconds() + 999)
                .div_euclid(1000)
                .max(1) as u64
        })
    }

    pub fn failed(&self, login: &str, now: DateTime<Utc>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, f| now - f.last < Duration::seconds(MAX_DELAY_SECS));
        }
        let key = Self::key(login);
        if failures.len() >= MAX_TRACKED && !failures.contains_key(&key) {
            return;
        }
        let entry = failures.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    pub fn succeeded(&self, login: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&Self::key(login));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_delay_grows_after_three_failures_and_is_capped() {
        assert_eq!(delay_after(2), Duration::zero());
        assert_eq!(delay_after(3), Duration::seconds(1));
        assert_eq!(delay_after(5), Duration::seconds(4));
        assert_eq!(delay_after(100), Duration::seconds(MAX_DELAY_SECS));
    }

    #[test]
    fn the_throttle_makes_the_next_attempt_wait_and_forgets_on_success() {
        let t = LoginThrottle::default();
        let now = Utc::now();
        for _ in 0..4 {
            t.failed("Admin", now);
        }
        assert_eq!(t.wait("admin", now), Some(2));
        assert_eq!(t.wait("admin", now + Duration::seconds(2)), None);
        t.succeeded("ADMIN");
        assert_eq!(t.wait("admin", now), None);
    }

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
