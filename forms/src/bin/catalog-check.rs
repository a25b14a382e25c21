//! `catalog-check DIR`: loads and validates a catalogue folder and prints
//! every error (file:line:column: message), or a summary of what it holds.
//! Exits 1 when there are errors, 2 on wrong usage.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = arguments.as_slice() else {
        eprintln!("usage: catalog-check DIR");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    match forms::load_catalog(&dir) {
        Ok(catalog) => {
            let summary = catalog.summary();
            println!(
                "{}: catalogue {} ({}){}",
                dir.display(),
                catalog.version,
                catalog.name_zh,
                if catalog.sample { " [sample data]" } else { "" }
            );
            println!(
                "  {} items, {} bundles, {} materials, {} fields, {} departments, {} back-office systems, {} code tables, {} kept item versions",
                summary.items,
                summary.bundles,
                summary.materials,
                summary.fields,
                summary.departments,
                summary.systems,
                summary.code_tables,
                catalog.history.len()
            );
            ExitCode::SUCCESS
        }
        Err(forms::FormsError::Load(errors)) => {
            for error in &errors {
                println!("{error}");
            }
            println!("{} error(s)", errors.len());
            ExitCode::FAILURE
        }
        Err(other) => {
            println!("{other}");
            ExitCode::FAILURE
        }
    }
}
