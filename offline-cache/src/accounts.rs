//! Accounts of the people who use the workstation: clerks, supervisors,
//! trainers and administrators.
//!
//! - Passwords (at least 8 characters) or PINs (at least 6 digits) are kept
//!   only as argon2id hashes (PHC strings with their own salt and cost).
//! - Five failed sign-ins in a row lock the account for five minutes; a
//!   locked or disabled account cannot sign in even with the right password.
//!   An unknown login, a wrong password, a locked and a disabled account get
//!   the same answer (`sign_in_failed`) and cost the same: every check runs
//!   one argon2 verification (against a dummy hash when there is no
//!   account), so neither the message nor the time tells whether a login
//!   exists. The audit log keeps the real reason.
//! - A supervisor's password typed into the sign-off dialog at someone
//!   else's window ([`verify_at_window`]) never counts toward the
//!   supervisor's lock: its failures count against the person at the
//!   window, whose dialog pauses after five in a row.
//! - The first account of a store is an administrator, made once; after that
//!   only an administrator creates, disables or resets accounts.
//! - Every sign-in (good or bad), creation, disabling and reset is audited,
//!   never with the password.
//!
//! This module never decides what a role may do with cases: that is
//! `lifecycle::check_transition` and the app's command table.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::cases::Actor;
use crate::error::CacheError;
use crate::lifecycle::Role;
use crate::store::{CaseStore, StoreMode};

/// Failed sign-ins in a row that lock an account.
pub const LOCK_AFTER_FAILURES: i64 = 5;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 5;

/// An account as the rest of the app sees it (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
}

impl User {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id.clone(),
            role: self.role,
        }
    }
}

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

fn refused(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> CacheError {
    CacheError::Refused {
        code,
        message_zh: zh.into(),
        message_en: en.into(),
    }
}

fn role_text(role: Role) -> Result<&'static str, CacheError> {
    match role {
        Role::Clerk | Role::Supervisor | Role::Trainer | Role::Admin => Ok(role.as_str()),
        Role::System => Err(refused(
            "role",
            "不能为“系统”角色创建账号。",
            "No account can have the system role.",
        )),
    }
}

fn parse_role(text: &str) -> Result<Role, CacheError> {
    match text {
        "clerk" => Ok(Role::Clerk),
        "supervisor" => Ok(Role::Supervisor),
        "trainer" => Ok(Role::Trainer),
        "admin" => Ok(Role::Admin),
        other => Err(CacheError::Database(format!("unknown role `{other}`"))),
    }
}

/// Checks a new password or PIN against the minimum length.
pub fn check_password(password: &str) -> Result<(), CacheError> {
    let count = password.chars().count();
    let pin = !password.is_empty() && password.chars().all(|c| c.is_ascii_digit());
    if (pin && count >= 6) || (!pin && count >= 8) {
        Ok(())
    } else {
        Err(refused(
            "password_too_short",
            "密码至少 8 位，或使用至少 6 位数字的 PIN 码。",
            "A password needs at least 8 characters, or a PIN at least 6 digits.",
        ))
    }
}

fn hash(password: &str) -> Result<String, CacheError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| CacheError::Database(format!("password hashing failed: {error}")))
}

/// id, login, display name, role, disabled.
type UserRow = (String, String, String, String, bool);
/// A user row with its hash, failures in a row and lock end.
type CredentialRow = (UserRow, Option<String>, i64, Option<String>);

fn user_row(row: &rusqlite::Row) -> rusqlite::Result<UserRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get::<_, i64>(4)? != 0,
    ))
}

fn to_user(
    (id, login, display_name, role, disabled): (String, String, String, String, bool),
) -> Result<User, CacheError> {
    Ok(User {
        id,
        login,
        display_name,
        role: parse_role(&role)?,
        disabled,
    })
}

const USER_COLUMNS: &str = "SELECT id, login, display_name, role, disabled FROM users";

fn insert(
    transaction: &rusqlite::Transaction,
    user: &NewUser,
    at: &str,
) -> Result<User, CacheError> {
    let login = user.login.trim().to_lowercase();
    if login.is_empty() || user.display_name.trim().is_empty() {
        return Err(refused(
            "account_incomplete",
            "请填写登录名和姓名。",
            "Enter a login and a display name.",
        ));
    }
    check_password(&user.password)?;
    let taken: bool = transaction.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE login = ?1)",
        params![login],
        |row| row.get(0),
    )?;
    if taken {
        return Err(refused(
            "login_taken",
            format!("登录名“{login}”已被使用。"),
            format!("The login `{login}` is taken."),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    crate::store::exec(
        transaction,
        "INSERT INTO users (id, login, display_name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, login, user.display_name.trim(), role_text(user.role)?, hash(&user.password)?, at],
    )?;
    Ok(User {
        id,
        login,
        display_name: user.display_name.trim().to_owned(),
        role: user.role,
        disabled: false,
    })
}

/// Whether the store has any account yet (the first start has none).
pub fn has_accounts(connection: &Connection) -> Result<bool, CacheError> {
    Ok(connection.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |row| row.get(0))?)
}

/// Creates the first account, an administrator; refused once any exists.
pub fn create_first_admin(
    connection: &mut Connection,
    login: &str,
    display_name: &str,
    password: &str,
    at: DateTime<FixedOffset>,
) -> Result<User, CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if has_accounts(&transaction)? {
        return Err(refused(
            "accounts_exist",
            "已有账号，首个管理员只能在首次启动时创建。",
            "Accounts exist: the first administrator is made only at first start.",
        ));
    }
    let at = at.to_rfc3339();
    let user = insert(
        &transaction,
        &NewUser {
            login: login.into(),
            display_name: display_name.into(),
            role: Role::Admin,
            password: password.into(),
        },
        &at,
    )?;
    audit::append(
        &transaction,
        &at,
        &user.id,
        "account.first_admin",
        &user.id,
        &json!({ "login": user.login }),
    )?;
    transaction.commit()?;
    Ok(user)
}

fn require_admin(actor: &Actor) -> Result<(), CacheError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(refused(
            "not_allowed",
            "只有管理员可以管理账号。",
            "Only an administrator manages accounts.",
        ))
    }
}

/// An administrator creates an account.
pub fn create_user(
    connection: &mut Connection,
    actor: &Actor,
    user: &NewUser,
    at: DateTime<FixedOffset>,
) -> Result<User, CacheError> {
    require_admin(actor)?;
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let at = at.to_rfc3339();
    let created = insert(&transaction, user, &at)?;
    audit::append(
        &transaction,
        &at,
        &actor.user_id,
        "account.created",
        &created.id,
        &json!({ "login": created.login, "role": created.role.as_str() }),
    )?;
    transaction.commit()?;
    Ok(created)
}

/// An administrator disables an account (or enables it again).
pub fn set_disabled(
    connection: &mut Connection,
    actor: &Actor,
    user_id: &str,
    disabled: bool,
    at: DateTime<FixedOffset>,
) -> Result<(), CacheError> {
    require_admin(actor)?;
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let changed = crate::store::exec(
        &transaction,
        "UPDATE users SET disabled = ?2 WHERE id = ?1",
        params![user_id, disabled],
    )?;
    if changed == 0 {
        return Err(refused(
            "unknown_account",
            "找不到该账号。",
            "No such account.",
        ));
    }
    let at = at.to_rfc3339();
    audit::append(
        &transaction,
        &at,
        &actor.user_id,
        if disabled {
            "account.disabled"
        } else {
            "account.enabled"
        },
        user_id,
        &json!({}),
    )?;
    transaction.commit()?;
    Ok(())
}

/// An administrator sets a new password (and lifts a lock).
pub fn reset_password(
    connection: &mut Connection,
    actor: &Actor,
    user_id: &str,
    password: &str,
    at: DateTime<FixedOffset>,
) -> Result<(), CacheError> {
    require_admin(actor)?;
    check_password(password)?;
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let changed = crate::store::exec(
        &transaction,
        "UPDATE users SET password_hash = ?2, failed_attempts = 0, locked_until = NULL WHERE id = ?1",
        params![user_id, hash(password)?],
    )?;
    if changed == 0 {
        return Err(refused(
            "unknown_account",
            "找不到该账号。",
            "No such account.",
        ));
    }
    let at = at.to_rfc3339();
    audit::append(
        &transaction,
        &at,
        &actor.user_id,
        "account.password_reset",
        user_id,
        &json!({}),
    )?;
    transaction.commit()?;
    Ok(())
}

/// The one answer to every failed sign-in: unknown login, wrong password,
/// locked or disabled account alike.
fn sign_in_failed() -> CacheError {
    refused(
        "sign_in_failed",
        "无法登录：登录名或密码不正确，或账号已锁定、已停用。请核对后重试，仍不能登录请联系管理员。",
        "Cannot sign in: the login or the password is wrong, or the account is locked or disabled. Check and try again; if it still fails, ask an administrator.",
    )
}

/// A hash of no one's password, so that a login without an account costs
/// one argon2 verification like any other (made once per process, at the
/// first check, whatever its outcome).
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| hash("onewindow: there is no such account").ok())
        .as_deref()
}

/// Whether `password` matches `stored`; always one argon2 verification
/// (against the dummy hash when there is no usable stored hash).
fn password_matches(stored: Option<&str>, password: &str) -> bool {
    let dummy = dummy_hash();
    let parsed = stored.and_then(|text| PasswordHash::new(text).ok());
    match parsed {
        Some(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        None => {
            if let Some(parsed) = dummy.and_then(|text| PasswordHash::new(text).ok()) {
                let _ = Argon2::default().verify_password(password.as_bytes(), &parsed);
            }
            false
        }
    }
}

fn credentials(connection: &Connection, login: &str) -> Result<Option<CredentialRow>, CacheError> {
    Ok(connection
        .query_row(
            "SELECT id, login, display_name, role, disabled, password_hash, failed_attempts, locked_until FROM users WHERE login = ?1",
            params![login.trim().to_lowercase()],
            |row| Ok((user_row(row)?, row.get(5)?, row.get(6)?, row.get(7)?)),
        )
        .optional()?)
}

fn locked_at(locked_until: Option<&str>, at: DateTime<FixedOffset>) -> bool {
    locked_until
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .is_some_and(|until| until > at)
}

/// Checks a login and password; counts failures and locks as the module
/// comment says. The outcome is audited either way.
pub fn verify(
    connection: &mut Connection,
    login: &str,
    password: &str,
    at: DateTime<FixedOffset>,
) -> Result<User, CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = credentials(&transaction, login)?;
    // One verification whatever follows: the time tells nothing.
    let good = password_matches(
        found
            .as_ref()
            .and_then(|(_, stored, _, _)| stored.as_deref()),
        password,
    );
    let stamp = at.to_rfc3339();
    let Some((row, _, failures, locked_until)) = found else {
        audit::append(
            &transaction,
            &stamp,
            "unknown",
            "account.sign_in_failed",
            "unknown",
            &json!({ "reason": "unknown_login" }),
        )?;
        transaction.commit()?;
        return Err(sign_in_failed());
    };
    let user = to_user(row)?;
    if locked_at(locked_until.as_deref(), at) {
        audit::append(
            &transaction,
            &stamp,
            &user.id,
            "account.sign_in_refused",
            &user.id,
            &json!({ "reason": "locked", "until": locked_until }),
        )?;
        transaction.commit()?;
        return Err(sign_in_failed());
    }
    if user.disabled {
        audit::append(
            &transaction,
            &stamp,
            &user.id,
            "account.sign_in_refused",
            &user.id,
            &json!({ "reason": "disabled" }),
        )?;
        transaction.commit()?;
        return Err(sign_in_failed());
    }
    if good {
        crate::store::exec(
            &transaction,
            "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?1",
            params![user.id],
        )?;
        audit::append(
            &transaction,
            &stamp,
            &user.id,
            "account.signed_in",
            &user.id,
            &json!({ "role": user.role.as_str() }),
        )?;
        transaction.commit()?;
        return Ok(user);
    }
    let failures = failures + 1;
    let lock = (failures >= LOCK_AFTER_FAILURES)
        .then(|| (at + Duration::minutes(LOCK_MINUTES)).to_rfc3339());
    crate::store::exec(
        &transaction,
        "UPDATE users SET failed_attempts = ?2, locked_until = ?3 WHERE id = ?1",
        params![user.id, if lock.is_some() { 0 } else { failures }, lock],
    )?;
    audit::append(
        &transaction,
        &stamp,
        &user.id,
        "account.sign_in_failed",
        &user.id,
        &json!({ "failures": failures, "locked": lock.is_some() }),
    )?;
    transaction.commit()?;
    Err(sign_in_failed())
}

/// A password typed into the supervisor's dialog at a window (the gaps'
/// sign-off), by `at_window`, the person signed in there. Checked like a
/// sign-in, with the same one answer for every failure, but a failure
/// never counts toward the account's own lock: a clerk mistyping (or
/// guessing) cannot lock the supervisor out. Failures count against
/// `at_window` instead: after [`LOCK_AFTER_FAILURES`] in a row the dialog
/// at their session pauses for [`LOCK_MINUTES`] (`window_check_paused`).
/// Every check is audited under `at_window`.
pub fn verify_at_window(
    connection: &mut Connection,
    login: &str,
    password: &str,
    at_window: &Actor,
    at: DateTime<FixedOffset>,
) -> Result<User, CacheError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stamp = at.to_rfc3339();
    let (failures, paused_until): (i64, Option<String>) = transaction
        .query_row(
            "SELECT failures, paused_until FROM window_check_failures WHERE asked_by = ?1",
            params![at_window.user_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, None));
    if let Some(until) = paused_until
        .as_deref()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .filter(|until| *until > at)
    {
        return Err(refused(
            "window_check_paused",
            format!(
                "值班长密码连续输错，本窗口的签批暂停至 {}；值班长也可在自己的工作台签批。",
                until.format("%H:%M")
            ),
            format!(
                "Too many wrong supervisor passwords at this window: sign-offs here pause until {}; the supervisor can also sign off at their own desk.",
                until.format("%H:%M")
            ),
        ));
    }
    let found = credentials(&transaction, login)?;
    let good = password_matches(
        found
            .as_ref()
            .and_then(|(_, stored, _, _)| stored.as_deref()),
        password,
    );
    let user = match found {
        Some((row, _, _, locked_until)) => {
            let user = to_user(row)?;
            let usable = !user.disabled && !locked_at(locked_until.as_deref(), at);
            Some(user).filter(|_| usable)
        }
        None => None,
    };
    match user {
        Some(user) if good => {
            crate::store::exec(
                &transaction,
                "DELETE FROM window_check_failures WHERE asked_by = ?1",
                params![at_window.user_id],
            )?;
            audit::append(
                &transaction,
                &stamp,
                &at_window.user_id,
                "account.window_check",
                &user.id,
                &json!({ "role": user.role.as_str() }),
            )?;
            transaction.commit()?;
            Ok(user)
        }
        user => {
            let failures = failures + 1;
            let pause = (failures >= LOCK_AFTER_FAILURES)
                .then(|| (at + Duration::minutes(LOCK_MINUTES)).to_rfc3339());
            crate::store::exec(
                &transaction,
                "INSERT INTO window_check_failures (asked_by, failures, paused_until) VALUES (?1, ?2, ?3)
                 ON CONFLICT (asked_by) DO UPDATE SET failures = excluded.failures, paused_until = excluded.paused_until",
                params![at_window.user_id, if pause.is_some() { 0 } else { failures }, pause],
            )?;
            audit::append(
                &transaction,
                &stamp,
                &at_window.user_id,
                "account.window_check_failed",
                user.as_ref().map_or("unknown", |user| user.id.as_str()),
                &json!({ "failures": failures, "paused": pause.is_some() }),
            )?;
            transaction.commit()?;
            Err(sign_in_failed())
        }
    }
}

/// Every account, by login.
pub fn users(connection: &Connection) -> Result<Vec<User>, CacheError> {
    let mut statement = connection.prepare_cached(&format!("{USER_COLUMNS} ORDER BY login"))?;
    let rows = statement.query_map([], user_row)?;
    rows.map(|row| to_user(row?)).collect()
}

impl<M: StoreMode> CaseStore<M> {
    pub async fn has_accounts(&self) -> Result<bool, CacheError> {
        self.read(has_accounts).await
    }

    pub async fn create_first_admin(
        &self,
        login: String,
        display_name: String,
        password: String,
        at: DateTime<FixedOffset>,
    ) -> Result<User, CacheError> {
        self.write(move |connection| {
            create_first_admin(connection, &login, &display_name, &password, at)
        })
        .await
    }

    pub async fn create_user(
        &self,
        actor: Actor,
        user: NewUser,
        at: DateTime<FixedOffset>,
    ) -> Result<User, CacheError> {
        self.write(move |connection| create_user(connection, &actor, &user, at))
            .await
    }

    pub async fn set_disabled(
        &self,
        actor: Actor,
        user_id: String,
        disabled: bool,
        at: DateTime<FixedOffset>,
    ) -> Result<(), CacheError> {
        self.write(move |connection| set_disabled(connection, &actor, &user_id, disabled, at))
            .await
    }

    pub async fn reset_password(
        &self,
        actor: Actor,
        user_id: String,
        password: String,
        at: DateTime<FixedOffset>,
    ) -> Result<(), CacheError> {
        self.write(move |connection| reset_password(connection, &actor, &user_id, &password, at))
            .await
    }

    pub async fn verify_user(
        &self,
        login: String,
        password: String,
        at: DateTime<FixedOffset>,
    ) -> Result<User, CacheError> {
        self.write(move |connection| verify(connection, &login, &password, at))
            .await
    }

    pub async fn verify_at_window(
        &self,
        login: String,
        password: String,
        at_window: Actor,
        at: DateTime<FixedOffset>,
    ) -> Result<User, CacheError> {
        self.write(move |connection| {
            verify_at_window(connection, &login, &password, &at_window, at)
        })
        .await
    }

    pub async fn users(&self) -> Result<Vec<User>, CacheError> {
        self.read(users).await
    }
}
