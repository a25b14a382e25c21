//! A minimal Tauri 2 window: one page with one input, nothing else. The
//! window benchmark (`./x bench`) starts it beside OneWindow, in the same
//! run and the same way, as the floor for cold start and memory.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the minimal window runs");
}
