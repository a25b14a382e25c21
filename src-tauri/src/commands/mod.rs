//! The Tauri commands, one small file per area. A command checks what it
//! must, calls a core function and maps the error; any logic that grows here
//! belongs in a core crate with its tests.

pub mod app;
pub mod calendar;
pub mod cases;
pub mod catalog;
pub mod desk;
pub mod handover;
pub mod intake;
pub mod preferences;
pub mod printing;
pub mod queue;
pub mod recovery;
pub mod results;
pub mod session;
pub mod sign_offs;
pub mod statistics;
pub mod sync;
