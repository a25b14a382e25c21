//! `backoffice-sim [--port N] [--database FILE] [--delay-ms N]`: runs the
//! simulated back offices on 127.0.0.1 (the demo back office of `./x run`),
//! with the demo tokens `demo-token-<system>`, until stopped. `--delay-ms`
//! adds latency to every answer (benchmarks).

use std::path::PathBuf;

#[tokio::main]
async fn main() {
    let mut port = 8790u16;
    let mut database = std::env::temp_dir().join("onewindow-backoffice-sim.db");
    let mut delay_ms = 0u64;
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        match (argument.as_str(), arguments.next()) {
            ("--port", Some(value)) => match value.parse() {
                Ok(value) => port = value,
                Err(_) => usage(&format!("--port {value} is not a port number")),
            },
            ("--database", Some(value)) => database = PathBuf::from(value),
            ("--delay-ms", Some(value)) => match value.parse() {
                Ok(value) => delay_ms = value,
                Err(_) => usage(&format!("--delay-ms {value} is not a number")),
            },
            (other, _) => usage(&format!("unknown argument {other}")),
        }
    }
    let mut config = backoffice_sim::Config::demo(&database);
    config.port = port;
    if delay_ms > 0 {
        for system in backoffice_sim::System::all() {
            config.faults.insert(
                system.id().into(),
                backoffice_sim::Faults {
                    delay_ms,
                    ..Default::default()
                },
            );
        }
    }
    let simulator = match backoffice_sim::Simulator::start(config).await {
        Ok(simulator) => simulator,
        Err(error) => {
            eprintln!("backoffice-sim: cannot start on 127.0.0.1:{port}: {error}");
            std::process::exit(1);
        }
    };
    println!(
        "backoffice-sim listening on {} (database {})",
        simulator.url(),
        database.display()
    );
    let _ = tokio::signal::ctrl_c().await;
    simulator.stop().await;
}

fn usage(problem: &str) -> ! {
    eprintln!("backoffice-sim: {problem}\nusage: backoffice-sim [--port N] [--database FILE] [--delay-ms N]");
    std::process::exit(2);
}
