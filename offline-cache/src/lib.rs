//! `offline_cache`: the workstation's case store.
//!
//! Cases, drafts, attachments, the audit chain, the outbox and the sync
//! engine will live here, so the window keeps working through any network
//! or back-office outage.
//!
//! Architecture invariant: this crate owns every SQL statement and knows
//! nothing of Tauri or the UI.
