//! Run the build-log diagnostics engine over a file and report what it
//! found and how fast (a benchmark, not a test; see `scripts/bench-diag.sh`).
//!
//! ```text
//! diag_bench FILE            timing + counts (one line of JSON)
//! diag_bench --report FILE   the whole report and the three excerpts
//! ```
//!
//! Gzip-compressed files are read through `maybe_gunzip`, like
//! `Input::open` does.

use std::fs::File;
use std::process::ExitCode;
use std::time::Instant;

use kcidb_harvest_parsers::diag::{Engine, ExcerptKind};
use kcidb_harvest_parsers::input::maybe_gunzip;
use kcidb_harvest_parsers::logscan::scan;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (report, path) = match args.as_slice() {
        [flag, path] if flag == "--report" => (true, path),
        [path] if !path.starts_with('-') => (false, path),
        _ => {
            eprintln!("usage: diag_bench [--report] FILE");
            return ExitCode::from(2);
        }
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("diag_bench: cannot open `{path}`: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let reader = match maybe_gunzip(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("diag_bench: cannot read `{path}`: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut engine = Engine::new();
    if let Err(e) = scan(path, reader, &mut [&mut engine]) {
        eprintln!("diag_bench: {e}");
        return ExitCode::FAILURE;
    }
    let diag = engine.finish();
    // The excerpts are part of the pass being measured.
    let excerpts = [
        ("fail", diag.excerpt(ExcerptKind::Fail)),
        ("warnings", diag.excerpt(ExcerptKind::Warnings)),
        ("tail", diag.excerpt(ExcerptKind::Tail)),
    ];
    let secs = started.elapsed().as_secs_f64();
    if report {
        match serde_json::to_string_pretty(&diag) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("diag_bench: {e}");
                return ExitCode::FAILURE;
            }
        }
        for (name, text) in &excerpts {
            println!("----- excerpt {name} -----");
            println!("{}", text.as_deref().unwrap_or("(none)"));
        }
        return ExitCode::SUCCESS;
    }
    let mb = diag.bytes as f64 / 1e6;
    println!(
        "{{\"bytes\":{},\"lines\":{},\"seconds\":{:.4},\"mb_per_s\":{:.1},\"warnings_raw\":{},\"errors_raw\":{},\"warnings\":{},\"errors\":{},\"excerpt_chars\":[{},{},{}]}}",
        diag.bytes,
        diag.lines,
        secs,
        mb / secs.max(1e-9),
        diag.warnings_raw,
        diag.errors_raw,
        diag.warnings,
        diag.errors,
        excerpts[0].1.as_deref().map_or(0, |s| s.chars().count()),
        excerpts[1].1.as_deref().map_or(0, |s| s.chars().count()),
        excerpts[2].1.as_deref().map_or(0, |s| s.chars().count()),
    );
    ExitCode::SUCCESS
}
