//! Who may call which command, checked on the Rust side for every call.
//!
//! [`COMMANDS`] is the one table: each command of the app with the roles
//! that may call it, or `Anyone` for what the sign-in screen itself needs.
//! Every command starts with [`require`] (or [`require_user`]); the command
//! tests walk the table, calling every command as every role, and
//! `docs/commands.md` is generated from it (a test fails when it is stale).
//!
//! A locked session (idle lock) keeps its user and the open draft, but
//! refuses every command of the table except those the lock screen needs.
//! The idle lock is kept here, not only in the window: a session with no
//! command for longer than the idle lock is locked on its next call.
//! This module never looks at cases: what a role may do to a case is
//! `offline_cache::lifecycle`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use offline_cache::accounts::User;
use offline_cache::cases::Actor;
use offline_cache::lifecycle::Role;

use crate::error::UiError;
use crate::state::AppState;

/// Who may call a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Also without a signed-in user (the sign-in and lock screens).
    Anyone,
    /// Only a signed-in, unlocked user with one of these roles.
    Roles(&'static [Role]),
}

use Role::{Admin, Clerk, Supervisor, Trainer};

/// The window's work: clerks, and supervisors standing in at a window.
const WINDOW: &[Role] = &[Clerk, Supervisor];
/// Looking things up: anyone signed in.
const EVERYONE: &[Role] = &[Clerk, Supervisor, Trainer, Admin];

/// Every command and who may call it. Keep in the order of `lib.rs`.
pub const COMMANDS: &[(&str, Access)] = &[
    ("app_info", Access::Anyone),
    ("session_status", Access::Anyone),
    ("create_first_admin", Access::Anyone),
    ("sign_in", Access::Anyone),
    ("sign_out", Access::Anyone),
    ("lock_session", Access::Anyone),
    ("unlock_session", Access::Anyone),
    // Key or pointer input in the window: a command that needs a session,
    // so it renews the session's activity (or finds it idle and locks it).
    ("note_activity", Access::Roles(EVERYONE)),
    ("list_accounts", Access::Roles(&[Admin])),
    ("create_account", Access::Roles(&[Admin])),
    ("set_account_disabled", Access::Roles(&[Admin])),
    ("reset_account_password", Access::Roles(&[Admin])),
    ("search_catalog", Access::Roles(EVERYONE)),
    ("item_guide", Access::Roles(EVERYONE)),
    ("cases_today", Access::Roles(WINDOW)),
    ("search_cases", Access::Roles(WINDOW)),
    ("case_detail", Access::Roles(WINDOW)),
    ("start_intake", Access::Roles(WINDOW)),
    ("resume_intake", Access::Roles(WINDOW)),
    ("open_intakes", Access::Roles(WINDOW)),
    ("save_intake", Access::Roles(WINDOW)),
    ("discard_intake", Access::Roles(WINDOW)),
    ("check_identifier", Access::Roles(WINDOW)),
    ("look_up_applicant", Access::Roles(WINDOW)),
    ("look_up_licence", Access::Roles(WINDOW)),
    ("commit_intake", Access::Roles(WINDOW)),
    ("sign_off_gaps", Access::Roles(WINDOW)),
    ("results_ready", Access::Roles(WINDOW)),
    ("issue_result", Access::Roles(WINDOW)),
    ("record_rating", Access::Roles(WINDOW)),
    ("supervisor_desk", Access::Roles(&[Supervisor])),
    ("desk_action", Access::Roles(&[Supervisor])),
    ("audit_entries", Access::Roles(&[Supervisor, Admin])),
    ("verify_audit_chain", Access::Roles(&[Supervisor, Admin])),
    ("statistics", Access::Roles(&[Supervisor, Admin])),
    ("queue_watch", Access::Roles(&[Supervisor, Admin])),
    ("export_statistics", Access::Roles(&[Supervisor, Admin])),
    ("open_follow_ups", Access::Roles(&[Supervisor])),
    ("close_follow_up", Access::Roles(&[Supervisor])),
    ("prepare_handover", Access::Roles(&[Clerk])),
    ("pending_handover", Access::Roles(WINDOW)),
    ("acknowledge_handover", Access::Roles(WINDOW)),
    ("print_handover_report", Access::Roles(WINDOW)),
    ("set_idle_lock", Access::Roles(&[Admin])),
    ("queue_today", Access::Roles(WINDOW)),
    ("issue_ticket", Access::Roles(WINDOW)),
    ("call_next", Access::Roles(WINDOW)),
    ("ticket_action", Access::Roles(WINDOW)),
    ("transfer_ticket", Access::Roles(WINDOW)),
    ("appointments_today", Access::Roles(WINDOW)),
    ("check_in_appointment", Access::Roles(WINDOW)),
    ("request_override", Access::Roles(WINDOW)),
    ("request_reopen", Access::Roles(WINDOW)),
    ("record_supplement", Access::Roles(WINDOW)),
    ("draft_sign_off", Access::Roles(WINDOW)),
    ("decide_sign_off", Access::Roles(&[Supervisor])),
    ("set_capture_target", Access::Roles(WINDOW)),
    ("captures", Access::Roles(WINDOW)),
    ("sort_capture", Access::Roles(WINDOW)),
    ("import_waiting_captures", Access::Roles(WINDOW)),
    ("device_folders", Access::Roles(EVERYONE)),
    ("catalog_status", Access::Roles(&[Supervisor, Admin])),
    ("reload_catalog_now", Access::Roles(&[Admin])),
    ("load_calendar_file", Access::Roles(&[Admin])),
    ("start_practice", Access::Roles(&[Trainer])),
    ("end_practice", Access::Roles(&[Trainer])),
    // Practice no trainer can end (its store does not open, the trainer is
    // gone): an administrator's password, checked against the real store's
    // accounts, is the proof, as nobody may be able to sign in.
    ("end_practice_as_admin", Access::Anyone),
    ("practice_scenarios", Access::Roles(EVERYONE)),
    ("start_scenario", Access::Roles(&[Clerk])),
    ("open_attempt", Access::Roles(WINDOW)),
    ("finish_scenario", Access::Roles(&[Clerk])),
    ("practice_results", Access::Roles(&[Trainer])),
    ("export_practice_results", Access::Roles(&[Trainer])),
    ("save_scenario", Access::Roles(&[Trainer])),
    ("get_preferences", Access::Anyone),
    ("set_language", Access::Anyone),
    ("sync_status", Access::Roles(EVERYONE)),
    ("sync_now", Access::Roles(&[Clerk, Supervisor, Admin])),
    ("retry_quarantined", Access::Roles(&[Supervisor, Admin])),
    ("retry_all_quarantined", Access::Roles(&[Supervisor, Admin])),
    ("correct_quarantined", Access::Roles(&[Supervisor])),
    ("refused_case_fields", Access::Roles(&[Supervisor])),
    ("resume_system", Access::Roles(&[Supervisor, Admin])),
    ("list_printers", Access::Roles(&[Clerk, Supervisor, Admin])),
    ("set_printing", Access::Roles(&[Clerk, Supervisor, Admin])),
    (
        "preview_test_page",
        Access::Roles(&[Clerk, Supervisor, Admin]),
    ),
    (
        "print_test_page",
        Access::Roles(&[Clerk, Supervisor, Admin]),
    ),
    ("issue_document", Access::Roles(WINDOW)),
    ("print_document", Access::Roles(WINDOW)),
    ("save_document", Access::Roles(WINDOW)),
    ("pending_recovery_key", Access::Roles(&[Admin])),
    ("acknowledge_recovery_key", Access::Roles(&[Admin])),
    ("renew_recovery_key", Access::Roles(&[Admin])),
    // Nobody can sign in while the store is closed for want of its key:
    // the recovery key itself is the proof.
    ("recover_store", Access::Anyone),
];

/// Commands the window calls on a timer rather than on the user's input
/// (the issuance list's refresh, a waiting sign-off's look): they need a
/// session but are not activity, or a window left on those screens would
/// never lock.
pub const POLLED: &[&str] = &["results_ready", "draft_sign_off"];

/// Who may call `command`; `None` for a command missing from the table.
pub fn access_of(command: &str) -> Option<Access> {
    COMMANDS
        .iter()
        .find(|(name, _)| *name == command)
        .map(|(_, access)| *access)
}

/// The signed-in user of this workstation.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// Locked after the idle time: the user and the open draft stay.
    pub locked: bool,
}

/// The workstation's session slot, with the time of the session's last
/// activity (every command that requires a session, and the window's
/// `note_activity`): a session idle for longer than the idle lock is locked
/// here, in Rust, whatever the window does ([`SessionSlot::active`]).
#[derive(Debug, Default)]
pub struct SessionSlot {
    slot: Mutex<Option<(Session, Instant)>>,
    /// Added to the clock: [`SessionSlot::advance_clock`] (tests).
    skew: Mutex<Duration>,
}

impl SessionSlot {
    fn now(&self) -> Instant {
        Instant::now()
            + *self
                .skew
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self) -> Option<Session> {
        self.slot
            .lock()
            .map(|slot| slot.as_ref().map(|(session, _)| session.clone()))
            .unwrap_or(None)
    }

    /// Puts a session in place (or none); its activity starts now.
    pub fn set(&self, session: Option<Session>) {
        let now = self.now();
        if let Ok(mut slot) = self.slot.lock() {
            *slot = session.map(|session| (session, now));
        }
    }

    /// The session, as of now: an unlocked session idle for longer than
    /// `idle_lock` is locked first (and `Expired` says so); otherwise, when
    /// `renew`, an unlocked session's activity is renewed.
    pub fn active(&self, idle_lock: Duration, renew: bool) -> Activity {
        let now = self.now();
        let Ok(mut slot) = self.slot.lock() else {
            return Activity::None;
        };
        match slot.as_mut() {
            None => Activity::None,
            Some((session, _)) if session.locked => Activity::Locked(session.clone()),
            Some((session, last)) if now.saturating_duration_since(*last) > idle_lock => {
                session.locked = true;
                Activity::Expired(session.clone())
            }
            Some((session, last)) => {
                if renew {
                    *last = now;
                }
                Activity::Active(session.clone())
            }
        }
    }

    /// Moves this slot's clock forward, as if `by` had passed: the tests'
    /// way to an idle session without waiting minutes.
    pub fn advance_clock(&self, by: Duration) {
        *self
            .skew
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) += by;
    }
}

/// The session as [`SessionSlot::active`] finds it.
#[derive(Debug, Clone)]
pub enum Activity {
    None,
    /// Locked before.
    Locked(Session),
    /// Locked now: idle for longer than the idle lock.
    Expired(Session),
    Active(Session),
}

/// The idle lock in force (the preferences', range-checked on load).
pub fn idle_lock(state: &AppState) -> Duration {
    let minutes = state
        .preferences
        .lock()
        .map(|preferences| preferences.idle_lock_minutes)
        .unwrap_or(crate::preferences::DEFAULT_IDLE_LOCK_MINUTES);
    let minutes = minutes.clamp(
        *crate::preferences::IDLE_LOCK_RANGE.start(),
        *crate::preferences::IDLE_LOCK_RANGE.end(),
    );
    Duration::from_secs(u64::from(minutes) * 60)
}

/// Checks the session against the idle lock (renewing its activity when
/// `renew`): a session that has just been locked for idleness is logged and
/// the clerk's capture target cleared.
pub fn session_now(state: &AppState, renew: bool) -> Activity {
    let activity = state.session.active(idle_lock(state), renew);
    if let Activity::Expired(session) = &activity {
        tracing::info!(
            role = session.user.role.as_str(),
            "the session was idle longer than the idle lock and is locked"
        );
        state.devices.clear_capture_target();
    }
    activity
}

fn locked() -> UiError {
    UiError {
        code: "session_locked".into(),
        message_zh: "工作站已锁定，请输入密码解锁。".into(),
        message_en: "The workstation is locked: enter your password to unlock it.".into(),
    }
}

pub fn not_signed_in() -> UiError {
    UiError {
        code: "not_signed_in".into(),
        message_zh: "请先登录。".into(),
        message_en: "Sign in first.".into(),
    }
}

fn refused(command: &str, role: Role) -> UiError {
    UiError {
        code: "not_allowed".into(),
        message_zh: format!("当前账号（{}）无权执行此操作（{command}）。", role_zh(role)),
        message_en: format!(
            "Your account ({}) may not do this ({command}).",
            role.as_str()
        ),
    }
}

/// The role's name in Chinese.
pub fn role_zh(role: Role) -> &'static str {
    match role {
        Role::Clerk => "窗口人员",
        Role::Supervisor => "值班长",
        Role::Trainer => "培训师",
        Role::Admin => "管理员",
        Role::System => "系统",
    }
}

/// Checks that the signed-in user may call `command`; returns the user.
pub fn require_user(state: &AppState, command: &str) -> Result<User, UiError> {
    let Some(Access::Roles(roles)) = access_of(command) else {
        return Err(UiError {
            code: "not_allowed".into(),
            message_zh: format!("操作 {command} 未登记权限，已拒绝。"),
            message_en: format!("The command {command} has no access rule and is refused."),
        });
    };
    let session = match session_now(state, !POLLED.contains(&command)) {
        Activity::None => return Err(not_signed_in()),
        Activity::Locked(_) | Activity::Expired(_) => return Err(locked()),
        Activity::Active(session) => session,
    };
    if roles.contains(&session.user.role) {
        Ok(session.user)
    } else {
        tracing::warn!(
            command,
            role = session.user.role.as_str(),
            "a command was refused for the role"
        );
        Err(refused(command, session.user.role))
    }
}

/// Like [`require_user`], returning who acts (for the audit log).
pub fn require(state: &AppState, command: &str) -> Result<Actor, UiError> {
    require_user(state, command).map(|user| user.actor())
}

/// The table as Markdown, for `docs/commands.md`.
pub fn table_markdown() -> String {
    let mut text = String::from(
        "# Commands and roles\n\n\
         Generated from `src-tauri/src/access.rs` by the command tests \
         (`ONEWINDOW_UPDATE_DOCS=1 cargo test -p onewindow --test commands`); \
         a test calls every command as every role and checks this table.\n\n\
         | command | anyone | clerk | supervisor | trainer | admin |\n\
         | --- | :---: | :---: | :---: | :---: | :---: |\n",
    );
    for (command, access) in COMMANDS {
        let mark = |role: Role| match access {
            Access::Anyone => "✓",
            Access::Roles(roles) if roles.contains(&role) => "✓",
            Access::Roles(_) => "",
        };
        text.push_str(&format!(
            "| `{command}` | {} | {} | {} | {} | {} |\n",
            if *access == Access::Anyone { "✓" } else { "" },
            mark(Clerk),
            mark(Supervisor),
            mark(Trainer),
            mark(Admin)
        ));
    }
    text
}
