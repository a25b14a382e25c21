//! `forms`: every domain rule the window clerk decides with.
//!
//! The catalogue of service items, the intake form engine, identifier checks,
//! the decision proposal and working-day arithmetic will all live here.
//!
//! Architecture invariant: this crate is pure. It reads only the catalogue
//! files it is pointed at and does no other I/O; it knows nothing of SQLite,
//! HTTP or Tauri.

pub mod applicant;
pub mod benchmark;
pub mod bundle;
pub mod calendar;
pub mod catalog;
pub mod decision;
pub mod error;
pub mod expression;
pub mod form;
pub mod fuzzing;
pub mod generator;
pub mod id_card;
pub mod identifiers;
pub mod intake;
pub mod loader;
pub mod samples;
pub mod search;
pub mod standards;
pub mod training;

pub use catalog::Catalog;
pub use error::{FormsError, SourceError};
pub use loader::load_catalog;
