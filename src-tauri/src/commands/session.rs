//! Signing in and out, the idle lock, the first administrator and the
//! administrator's account list. Passwords are checked in
//! `offline_cache::accounts`; who may call what is `crate::access`.

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use tauri_specta::Event;

use crate::access::{require, require_user, Session};
use crate::backoffice::cache_error;
use crate::error::UiError;
use crate::state::AppState;

/// A role as the UI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    Clerk,
    Supervisor,
    Trainer,
    Admin,
}

impl From<offline_cache::lifecycle::Role> for AccountRole {
    fn from(role: offline_cache::lifecycle::Role) -> Self {
        use offline_cache::lifecycle::Role;
        match role {
            Role::Supervisor => AccountRole::Supervisor,
            Role::Trainer => AccountRole::Trainer,
            Role::Admin => AccountRole::Admin,
            Role::Clerk | Role::System => AccountRole::Clerk,
        }
    }
}

impl From<AccountRole> for offline_cache::lifecycle::Role {
    fn from(role: AccountRole) -> Self {
        use offline_cache::lifecycle::Role;
        match role {
            AccountRole::Clerk => Role::Clerk,
            AccountRole::Supervisor => Role::Supervisor,
            AccountRole::Trainer => Role::Trainer,
            AccountRole::Admin => Role::Admin,
        }
    }
}

/// An account as lists and the top bar show it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AccountView {
    pub id: String,
    pub login: String,
    pub display_name: String,
    pub role: AccountRole,
    pub disabled: bool,
}

impl From<&offline_cache::accounts::User> for AccountView {
    fn from(user: &offline_cache::accounts::User) -> Self {
        AccountView {
            id: user.id.clone(),
            login: user.login.clone(),
            display_name: user.display_name.clone(),
            role: user.role.into(),
            disabled: user.disabled,
        }
    }
}

/// The session as the window shows it; sent as an event on every change.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct SessionView {
    /// No account exists yet: the first administrator must be made.
    pub first_start: bool,
    pub user: Option<AccountView>,
    pub locked: bool,
    /// Minutes without input before the workstation locks itself.
    pub idle_lock_minutes: u32,
    /// Real work or practice (the banner follows it).
    pub mode: crate::state::Mode,
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

async fn view(state: &AppState) -> Result<SessionView, UiError> {
    let sync = state.service()?;
    let has_accounts = sync
        .store
        .has_accounts()
        .await
        .map_err(|error| cache_error(&error))?;
    let session = state.session.get();
    Ok(SessionView {
        first_start: !has_accounts,
        user: session.as_ref().map(|session| (&session.user).into()),
        locked: session.is_some_and(|session| session.locked),
        mode: state.mode(),
        idle_lock_minutes: state
            .preferences
            .lock()
            .map(|preferences| preferences.idle_lock_minutes)
            .unwrap_or(5),
    })
}

/// Tells the window the session view changed (e.g. the idle lock's minutes).
pub(crate) async fn announce<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
) -> Result<SessionView, UiError> {
    changed(app, state).await
}

async fn changed<R: Runtime>(app: &AppHandle<R>, state: &AppState) -> Result<SessionView, UiError> {
    let view = view(state).await?;
    let _ = view.clone().emit(app);
    Ok(view)
}

/// Who is signed in, and whether this is the first start.
#[tauri::command]
#[specta::specta]
pub async fn session_status(state: State<'_, AppState>) -> Result<SessionView, UiError> {
    // A session idle past the idle lock shows as locked (it does not count
    // as activity: the window asks this when it starts and when it checks).
    crate::access::session_now(&state, false);
    view(&state).await
}

/// The window saw key or pointer input: the session stays active. Answers
/// `session_locked` when the session was idle longer than the idle lock
/// (the Rust side locks it whatever the window's own timer did).
#[tauri::command]
#[specta::specta]
pub fn note_activity(state: State<'_, AppState>) -> Result<(), UiError> {
    require(&state, "note_activity").map(|_| ())
}

/// Makes the first administrator at first start and signs them in.
#[tauri::command]
#[specta::specta]
pub async fn create_first_admin<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    login: String,
    display_name: String,
    password: String,
) -> Result<SessionView, UiError> {
    let sync = state.service()?;
    let user = sync
        .store
        .create_first_admin(login, display_name, password, now())
        .await
        .map_err(|error| cache_error(&error))?;
    state.session.set(Some(Session {
        user,
        locked: false,
    }));
    changed(&app, &state).await
}

/// Signs a user in (replacing whoever was signed in).
#[tauri::command]
#[specta::specta]
pub async fn sign_in<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    login: String,
    password: String,
) -> Result<SessionView, UiError> {
    let sync = state.service()?;
    let user = sync
        .store
        .verify_user(login, password, now())
        .await
        .map_err(|error| cache_error(&error))?;
    tracing::info!(role = user.role.as_str(), "signed in");
    state.session.set(Some(Session {
        user,
        locked: false,
    }));
    changed(&app, &state).await
}

/// Signs out. Open drafts stay saved for the next sign-in at this window.
#[tauri::command]
#[specta::specta]
pub async fn sign_out<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<SessionView, UiError> {
    state.session.set(None);
    state.devices.clear_capture_target();
    changed(&app, &state).await
}

/// Locks the workstation (after the idle time, or on request); the user and
/// the open draft stay.
#[tauri::command]
#[specta::specta]
pub async fn lock_session<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<SessionView, UiError> {
    if let Some(mut session) = state.session.get() {
        session.locked = true;
        state.session.set(Some(session));
    }
    state.devices.clear_capture_target();
    changed(&app, &state).await
}

/// Unlocks with the signed-in user's own password.
#[tauri::command]
#[specta::specta]
pub async fn unlock_session<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    password: String,
) -> Result<SessionView, UiError> {
    let sync = state.service()?;
    let session = state
        .session
        .get()
        .ok_or_else(crate::access::not_signed_in)?;
    let user = sync
        .store
        .verify_user(session.user.login.clone(), password, now())
        .await
        .map_err(|error| cache_error(&error))?;
    state.session.set(Some(Session {
        user,
        locked: false,
    }));
    changed(&app, &state).await
}

/// Every account (administrators only).
#[tauri::command]
#[specta::specta]
pub async fn list_accounts(state: State<'_, AppState>) -> Result<Vec<AccountView>, UiError> {
    require(&state, "list_accounts")?;
    let sync = state.service()?;
    let users = sync
        .store
        .users()
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(users.iter().map(AccountView::from).collect())
}

/// Creates an account (administrators only).
#[tauri::command]
#[specta::specta]
pub async fn create_account(
    state: State<'_, AppState>,
    login: String,
    display_name: String,
    role: AccountRole,
    password: String,
) -> Result<AccountView, UiError> {
    let admin = require_user(&state, "create_account")?;
    let sync = state.service()?;
    let user = sync
        .store
        .create_user(
            admin.actor(),
            offline_cache::accounts::NewUser {
                login,
                display_name,
                role: role.into(),
                password,
            },
            now(),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    Ok((&user).into())
}

/// Disables or enables an account (administrators only).
#[tauri::command]
#[specta::specta]
pub async fn set_account_disabled(
    state: State<'_, AppState>,
    user_id: String,
    disabled: bool,
) -> Result<(), UiError> {
    let admin = require(&state, "set_account_disabled")?;
    if disabled && admin.user_id == user_id {
        return Err(UiError {
            code: "own_account".into(),
            message_zh: "不能停用自己正在使用的账号。".into(),
            message_en: "You cannot disable the account you are using.".into(),
        });
    }
    let sync = state.service()?;
    sync.store
        .set_disabled(admin, user_id, disabled, now())
        .await
        .map_err(|error| cache_error(&error))
}

/// Sets a new password for an account (administrators only).
#[tauri::command]
#[specta::specta]
pub async fn reset_account_password(
    state: State<'_, AppState>,
    user_id: String,
    password: String,
) -> Result<(), UiError> {
    let admin = require(&state, "reset_account_password")?;
    let sync = state.service()?;
    sync.store
        .reset_password(admin, user_id, password, now())
        .await
        .map_err(|error| cache_error(&error))
}
