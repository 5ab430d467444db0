//! `parsers`, `completions` and `man`: what the tool knows about itself.

use std::path::Path;

use clap::CommandFactory;

use super::{print, CmdError};
use crate::cli::Cli;
use crate::exit_code::Verdict;
use crate::layout::LAYOUTS;

/// `kcidb-harvest parsers`.
pub fn parsers() -> Result<Verdict, CmdError> {
    let mut s = String::from("Layouts (detected in this order):\n");
    for l in LAYOUTS {
        s.push_str(&format!("  {:<24} {}\n", l.id, l.description));
        s.push_str(&format!("  {:<24} parsers: {}\n", "", l.parsers.join(", ")));
    }
    s.push_str("\nParsers:\n");
    for p in kcidb_harvest_parsers::PARSERS {
        s.push_str(&format!("  {:<16} {}\n", p.id(), p.description()));
        s.push_str(&format!("  {:<16} reads: {}\n", "", p.inputs().join(", ")));
    }
    print(&s)?;
    Ok(Verdict::default())
}

/// `kcidb-harvest completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> Result<Verdict, CmdError> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kcidb-harvest", &mut buf);
    print(&String::from_utf8_lossy(&buf))?;
    Ok(Verdict::default())
}

/// Every man page: `kcidb-harvest` and one per subcommand
/// (`kcidb-harvest-send`, …), as (file name, roff).
fn man_pages() -> Result<Vec<(String, Vec<u8>)>, CmdError> {
    let render = |cmd: clap::Command| -> Result<Vec<u8>, CmdError> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut buf)
            .map_err(|e| CmdError::Usage(format!("cannot render the man page: {e}")))?;
        Ok(buf)
    };
    let mut pages = vec![("kcidb-harvest.1".to_string(), render(Cli::command())?)];
    // built, so clap's own `help` subcommand (which the main page lists) has a page too
    let mut cmd = Cli::command();
    cmd.build();
    for sub in cmd.get_subcommands() {
        let name = format!("kcidb-harvest-{}", sub.get_name());
        // clap keeps command names for the program's life: leaked, once
        let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
        let page = render(sub.clone().name(leaked).bin_name(leaked))?;
        pages.push((format!("{name}.1"), page));
    }
    Ok(pages)
}

/// `kcidb-harvest man [PAGE] [--dir DIR]`: one page on stdout
/// (`kcidb-harvest`, or the subcommand `PAGE`), or every page written into
/// `DIR` so the pages' references to each other resolve.
pub fn man(page: Option<&str>, dir: Option<&Path>) -> Result<Verdict, CmdError> {
    let pages = man_pages()?;
    if let Some(dir) = dir {
        for (name, roff) in &pages {
            let path = dir.join(name);
            std::fs::write(&path, roff).map_err(|source| CmdError::Output {
                target: path.display().to_string(),
                source,
            })?;
        }
        return Ok(Verdict::default());
    }
    let want = match page {
        None => "kcidb-harvest.1".to_string(),
        Some(p) => format!("kcidb-harvest-{}.1", p.trim_start_matches("kcidb-harvest-")),
    };
    let Some((_, roff)) = pages.iter().find(|(n, _)| *n == want) else {
        let names: Vec<&str> = pages
            .iter()
            .skip(1)
            .map(|(n, _)| {
                n.trim_start_matches("kcidb-harvest-")
                    .trim_end_matches(".1")
            })
            .collect();
        return Err(CmdError::Usage(format!(
            "no man page `{}`: the pages are kcidb-harvest and {}",
            page.unwrap_or(""),
            names.join(", ")
        )));
    };
    print(&String::from_utf8_lossy(roff))?;
    Ok(Verdict::default())
}
