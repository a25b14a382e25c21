//! `offline_cache`: the workstation's encrypted case store.
//!
//! Cases, drafts, attachments, the audit chain and the outbox live here, in
//! one SQLCipher file per mode (the real store and the practice store), so
//! the window keeps working through any network or back-office outage and
//! never loses an acknowledged case.
//!
//! Architecture invariant: this crate owns every SQL statement and knows
//! nothing of Tauri or the UI. API boundary: [`CaseStore`] and the record
//! types; [`lifecycle::check_transition`] is the one place case states move.

pub mod accounts;
pub mod appointments;
pub mod attachments;
pub mod audit;
pub mod cases;
pub mod desk;
pub mod documents;
pub mod drafts;
pub mod error;
pub mod exports;
pub mod handover;
pub mod inbox;
pub mod key;
pub mod lifecycle;
pub mod numbering;
mod outbox;
pub mod practice;
pub mod queue;
pub mod queue_watch;
pub mod recovery;
pub mod results;
pub mod sample;
pub mod schema;
pub mod settings;
pub mod sign_offs;
pub mod statistics;
pub mod store;
pub mod sync;

pub use error::CacheError;
pub use key::{KeySource, StoreKey};
pub use store::{CaseStore, Practice, Production, StoreMode, StoreOptions};
