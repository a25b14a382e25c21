//! The store key's recovery key: shown once to an administrator (made at
//! the store's first creation, or again when it was never confirmed),
//! confirmed, made anew; and the recovery flow that opens a store whose key
//! the key store lost (`store_key_missing`). The rules are
//! `offline_cache::recovery`; nothing here decides.
//!
//! `recover_store` is open to anyone at the window: while the store is
//! closed no account can sign in, and typing the recovery key is itself
//! the proof. It does nothing unless the store is closed for want of its
//! key. These commands never log a key.

use std::sync::Arc;

use tauri::{AppHandle, Runtime, State};

use crate::access::require;
use crate::backoffice::{cache_error, store_file, SyncService};
use crate::error::UiError;
use crate::state::{AppState, Mode};

fn blocking_failed(error: impl std::fmt::Display) -> UiError {
    UiError {
        code: "services_failed".into(),
        message_zh: "操作未完成，请重试或联系系统管理员。".into(),
        message_en: format!(
            "The operation did not finish ({error}); try again or call your administrator."
        ),
    }
}

fn practice_refused() -> UiError {
    UiError {
        code: "recovery_in_practice".into(),
        message_zh: "练习模式中不能查看或更换恢复密钥，请先结束练习。".into(),
        message_en:
            "The recovery key cannot be shown or replaced during practice; end practice first."
                .into(),
    }
}

/// The recovery key made at this start, as a person types it, until an
/// administrator confirms keeping it; `None` when none is waiting.
#[tauri::command]
#[specta::specta]
pub async fn pending_recovery_key(state: State<'_, AppState>) -> Result<Option<String>, UiError> {
    require(&state, "pending_recovery_key")?;
    if state.mode() == Mode::Practice {
        return Ok(None);
    }
    Ok(state.service()?.pending_recovery_key())
}

/// The administrator has the recovery key on paper: it is forgotten here
/// and never shown again.
#[tauri::command]
#[specta::specta]
pub async fn acknowledge_recovery_key(state: State<'_, AppState>) -> Result<(), UiError> {
    let admin = require(&state, "acknowledge_recovery_key")?;
    if state.mode() == Mode::Practice {
        return Err(practice_refused());
    }
    let service = state.service()?;
    if service.pending_recovery_key().is_none() {
        return Ok(());
    }
    offline_cache::recovery::acknowledge(&store_file(&state.paths.data_dir))
        .map_err(|error| cache_error(&error))?;
    service.set_pending_recovery_key(None);
    tracing::info!("an administrator confirmed keeping the recovery key");
    service
        .store
        .record_act(
            admin,
            "store.recovery_key_kept",
            "store".into(),
            serde_json::json!({}),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(())
}

/// Makes a new recovery key (the old one stops working) and returns it to
/// be shown; it waits to be confirmed like the first.
#[tauri::command]
#[specta::specta]
pub async fn renew_recovery_key(state: State<'_, AppState>) -> Result<String, UiError> {
    let admin = require(&state, "renew_recovery_key")?;
    if state.mode() == Mode::Practice {
        return Err(practice_refused());
    }
    let service = state.service()?;
    let file = store_file(&state.paths.data_dir);
    let source = state.service_options.key.clone();
    let recovery = tauri::async_runtime::spawn_blocking(move || {
        let key = source.obtain(&file)?;
        let recovery = offline_cache::recovery::RecoveryKey::random();
        offline_cache::recovery::seal(&file, &key, &recovery)?;
        Ok::<_, offline_cache::CacheError>(recovery)
    })
    .await
    .map_err(blocking_failed)?
    .map_err(|error| cache_error(&error))?;
    let shown = recovery.display().to_string();
    service.set_pending_recovery_key(Some(recovery));
    tracing::info!("an administrator made a new recovery key");
    service
        .store
        .record_act(
            admin,
            "store.recovery_key_renewed",
            "store".into(),
            serde_json::json!({}),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(shown)
}

/// The recovery flow: the store is closed because its key is missing; the
/// typed recovery key unwraps the store key, which must open the store; it
/// is saved in the key store again and the store opens. A mistyped or
/// wrong key changes nothing.
#[tauri::command]
#[specta::specta]
pub async fn recover_store<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    recovery_key: String,
) -> Result<(), UiError> {
    match state.service() {
        Err(problem) if problem.code == "store_key_missing" => {}
        _ => {
            return Err(UiError {
                code: "recovery_not_needed".into(),
                message_zh: "办件库并非因缺少密钥而关闭，无需恢复密钥。".into(),
                message_en:
                    "The case store is not closed for want of its key: no recovery is needed."
                        .into(),
            })
        }
    }
    let data_dir = state.paths.data_dir.clone();
    let options = state.service_options.clone();
    let catalog = state.catalog();
    let practice = state.mode() == Mode::Practice;
    let next = tauri::async_runtime::spawn_blocking(move || {
        offline_cache::recovery::recover(&options.key, &store_file(&data_dir), &recovery_key)
            .map_err(|error| cache_error(&error))?;
        if practice {
            crate::practice::start_services(&data_dir, catalog.as_deref(), &options)
        } else {
            SyncService::start(&data_dir, catalog.as_deref(), &options).map(Arc::new)
        }
    })
    .await
    .map_err(blocking_failed)??;
    if state.service_options.background {
        next.spawn_loop(app.clone(), state.service_options.interval);
    }
    // Nobody can be signed in while the store is closed: the act is the
    // workstation's, recorded in the store it opened.
    let opened = next.store.clone();
    drop(state.swap_service(Ok(next)));
    tracing::warn!("the case store was opened with its recovery key");
    opened
        .record_act(
            offline_cache::cases::Actor {
                user_id: "workstation".into(),
                role: offline_cache::lifecycle::Role::System,
            },
            "store.recovered",
            "store".into(),
            serde_json::json!({}),
        )
        .await
        .map_err(|error| cache_error(&error))?;
    Ok(())
}
