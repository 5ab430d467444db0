//! Time `ktest_log::Framing` on a log: line by line vs its bulk fast path.
//! `cargo run --release -p kcidb-harvest-parsers --example framing_bench -- LOG`

use std::time::Instant;

use kcidb_harvest_parsers::ktest_log::Framing;
use kcidb_harvest_parsers::logscan::LineSink;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: framing_bench LOG");
        std::process::exit(2);
    };
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    // Whole lines, in 256 KiB pieces as `scan` reads them.
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let end = (start + 256 * 1024).min(data.len());
        let cut = memchr::memrchr(b'\n', &data[start..end]).map_or(end, |p| start + p + 1);
        chunks.push((start, cut));
        start = cut;
    }
    for mode in ["per-line", "bulk"] {
        let t = Instant::now();
        let mut f = Framing::new("log");
        let mut lineno = 1u64;
        for &(s, e) in &chunks {
            let text = &data[s..e];
            if mode == "bulk" {
                lineno += f.lines(lineno, text);
            } else {
                let mut st = 0;
                for nl in memchr::memchr_iter(b'\n', text) {
                    let l = &text[st..nl];
                    f.line(lineno, l.strip_suffix(b"\r").unwrap_or(l));
                    lineno += 1;
                    st = nl + 1;
                }
            }
        }
        let facts = f.into_facts();
        println!(
            "{mode}: {:.3} s, {} lines, {} facts",
            t.elapsed().as_secs_f64(),
            lineno - 1,
            facts.items().len()
        );
    }
}
