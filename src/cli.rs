//! The command line (README "Commands"). Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit_code;

const AFTER_HELP: &str = concat!(
    "Configuration precedence (highest first):\n",
    "  flags > KCIDB_REST=https://TOKEN@host[:port][/path] (and KCI_STORAGE_URL + KCI_STORAGE_TOKEN)\n",
    "  > kci-dev.toml instance (--settings FILE, ./.kci-dev.toml, ~/.config/kci-dev/kci-dev.toml, /etc/kci-dev.toml)\n",
    "  With no REST endpoint, validated reports go to the spool (send them later with `kcidb-harvest send`).\n\n",
);

/// Harvest Linux kernel build result directories into KCIDB v5.3 reports and deliver them.
///
/// Example: kcidb-harvest ./stable_test_6.1_daCG4 --origin gregkh
#[derive(Debug, Parser)]
#[command(name = "kcidb-harvest", version, about, long_about = None)]
#[command(after_help = format!("{AFTER_HELP}{}", exit_code::HELP))]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub harvest: HarvestArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deliver reports saved in the spool, oldest first (e.g. `kcidb-harvest send ./kcidb-spool`)
    Send(SendArgs),
    /// Check KCIDB JSON files against schema v5.3 (e.g. `kcidb-harvest validate report.json`, `-` for stdin)
    Validate {
        /// The files to check, or `-` for standard input
        #[arg(value_name = "FILE", required = true)]
        files: Vec<String>,
    },
    /// List layouts and parsers (e.g. `kcidb-harvest parsers`)
    Parsers,
    /// List every distinct warning and error of each build (e.g. `kcidb-harvest diagnostics ./remote_dir --origin gregkh`)
    Diagnostics(DiagnosticsArgs),
    /// List the distinct diagnostics new and gone between two builds (e.g. `kcidb-harvest diff ./6.1.171 ./6.1.172 --origin gregkh`), or since a build's previous build
    Diff(DiffArgs),
    /// Show every inferred field with its value and source (e.g. `kcidb-harvest explain ./remote_dir`)
    Explain(ExplainArgs),
    /// Write the history as one self-contained HTML page: counts and statuses over time, recurring diagnostics, every build (e.g. `kcidb-harvest report -o report.html`)
    Report(ReportArgs),
    /// Print shell completions (e.g. `kcidb-harvest completions bash > /etc/bash_completion.d/kcidb-harvest`)
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Print a man page in roff (e.g. `kcidb-harvest man | man -l -`), or install them all (`--dir`)
    Man {
        /// The subcommand's page (e.g. `send`); default: the main page
        #[arg(value_name = "PAGE")]
        page: Option<String>,
        /// Write every page (kcidb-harvest.1, kcidb-harvest-send.1, …) into DIR
        /// (e.g. --dir /usr/local/share/man/man1)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// One line per directory on stderr, like the maintainer's mail subject
    #[default]
    Human,
    /// One JSON object per directory on stderr (JSON Lines), then a summary object
    Json,
}

#[derive(Debug, Args, Clone, Default)]
pub struct HarvestArgs {
    /// Result directories to harvest (with -r: roots to search)
    #[arg(value_name = "DIR", required_unless_present = "show_config")]
    pub dirs: Vec<PathBuf>,

    /// KCIDB origin, [a-z0-9_]+ (e.g. --origin gregkh)
    #[arg(long, env = "KCIDB_HARVEST_ORIGIN")]
    pub origin: Option<String>,

    /// Do everything up to validation and print the KCIDB JSON on stdout; no network, spool or journal
    #[arg(long)]
    pub dry_run: bool,

    /// Also write the report JSON to FILE (as validated, with the log URLs it is delivered with; e.g. -o report.json)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Treat each DIR as a root and harvest every result directory below it (backfill)
    #[arg(short, long)]
    pub recursive: bool,

    /// Parallel jobs for batch runs (default: number of cores; e.g. -j 2)
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,

    /// With -r: do not descend more than N levels below a root (e.g. --max-depth 3)
    #[arg(long, value_name = "N")]
    pub max_depth: Option<usize>,

    /// With -r: skip paths matching GLOB (repeatable; e.g. --exclude '*/old/*')
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// What to print per directory on stderr
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Harvest runs that look in progress (no KTEST_RUN line, log modified < 10 min ago)
    #[arg(long)]
    pub assume_finished: bool,

    /// Deliver again what the journal says was already delivered
    #[arg(long)]
    pub force: bool,

    /// Deliver checkouts whose base commit is unknown (otherwise refused)
    #[arg(long)]
    pub allow_unknown_commit: bool,

    /// Which distinct diagnostics become KCIDB issues, with an incident per build
    #[arg(long, value_enum, value_name = "WHICH", default_value_t = crate::report::issues::IssueMode::Errors)]
    pub issues: crate::report::issues::IssueMode,

    #[command(flatten)]
    pub history: HistoryArgs,

    #[command(flatten)]
    pub delivery: DeliveryArgs,

    #[command(flatten)]
    pub overrides: Overrides,

    /// More output (-v info, -vv debug, -vvv trace)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The local history of builds and their diagnostics (README "History").
#[derive(Debug, Args, Clone, Default)]
pub struct HistoryArgs {
    /// History database (default: $XDG_DATA_HOME/kcidb-harvest/history.sqlite, i.e. ~/.local/share/…)
    #[arg(
        long,
        value_name = "FILE",
        env = "KCIDB_HARVEST_HISTORY",
        help_heading = "History"
    )]
    pub history: Option<PathBuf>,

    /// Neither read nor write the history (no "new" counts; wins over --history and KCIDB_HARVEST_HISTORY)
    #[arg(long, help_heading = "History")]
    pub no_history: bool,
}

impl HistoryArgs {
    /// The history file, unless turned off (or no home to put it in).
    pub fn path(&self) -> Option<PathBuf> {
        if self.no_history {
            return None;
        }
        self.history.clone().or_else(crate::history::default_path)
    }
}

/// Where and how reports are delivered (docs/kcidb.md#delivery-configuration).
#[derive(Debug, Args, Clone, Default)]
pub struct DeliveryArgs {
    /// KCIDB REST submit URL (e.g. https://db.kernelci.org/submit); needs --kcidb-token
    #[arg(long, value_name = "URL")]
    pub kcidb_rest_url: Option<String>,

    /// KCIDB REST token (JWT); prefer --kcidb-token-file or KCIDB_REST
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    pub kcidb_token: Option<crate::settings::Secret>,

    /// Read the KCIDB token from FILE (e.g. --kcidb-token-file ~/.kcidb-token)
    #[arg(long, value_name = "FILE")]
    pub kcidb_token_file: Option<PathBuf>,

    /// kernelci-storage base URL (e.g. https://files.kernelci.org)
    #[arg(long, value_name = "URL")]
    pub storage_url: Option<String>,

    /// kernelci-storage token (JWT with an email claim)
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    pub storage_token: Option<crate::settings::Secret>,

    /// Logs are published elsewhere under URL: compute log URLs, upload nothing (e.g. https://logs.example.org/builds)
    #[arg(long, value_name = "URL")]
    pub log_url_base: Option<String>,

    /// Submit without log URLs (upload nothing)
    #[arg(long)]
    pub no_upload: bool,

    /// Where undelivered reports wait (default: ./kcidb-spool; e.g. --spool /var/spool/kcidb)
    #[arg(long, value_name = "DIR", env = "KCIDB_HARVEST_SPOOL")]
    pub spool: Option<PathBuf>,

    /// Delivery journal (default: <spool>/journal.jsonl)
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    /// kci-dev.toml instance to use (e.g. --instance staging)
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,

    /// kci-dev.toml file (default search: ./.kci-dev.toml, ~/.config/kci-dev/kci-dev.toml, /etc/kci-dev.toml)
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,

    /// Per-request timeout (e.g. 30s, 2m)
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub timeout: String,

    /// After a 200, poll the receiver's /status until processed or failed
    #[arg(long)]
    pub wait: bool,

    /// Allow sending tokens over plain http:// to non-loopback hosts
    #[arg(long)]
    pub allow_insecure: bool,

    /// Print the resolved settings with their sources (tokens redacted) and exit
    #[arg(long)]
    pub show_config: bool,

    /// Most builds per submission (large runs are split)
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub max_objects: usize,

    /// Most bytes per submission (e.g. 8000000)
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_bytes: usize,

    /// Keep retrying a failing request for up to DURATION, then spool (default 5m; e.g. --retry-for 30m)
    #[arg(long, value_name = "DURATION")]
    pub retry_for: Option<String>,

    /// Delay before the first retry, doubled each time up to 60s (default 1s)
    #[arg(long, value_name = "DURATION")]
    pub retry_delay: Option<String>,
}

/// Values that win over everything the directory says.
#[derive(Debug, Args, Clone, Default)]
pub struct Overrides {
    /// Checkout git repository URL, https only (e.g. https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git)
    #[arg(long, value_name = "URL", help_heading = "Overrides")]
    pub git_repo_url: Option<String>,
    /// Checkout branch (e.g. linux-6.1.y)
    #[arg(long, value_name = "BRANCH", help_heading = "Overrides")]
    pub git_branch: Option<String>,
    /// Base commit, 40 hex (e.g. 19463f7e3ad6bee028585a29c8f9bd10fc6bcab6)
    #[arg(long, value_name = "SHA", help_heading = "Overrides")]
    pub git_commit_hash: Option<String>,
    /// patchset_hash, 64 hex or "" (e.g. --patchset-hash "")
    #[arg(long, value_name = "HASH", help_heading = "Overrides")]
    pub patchset_hash: Option<String>,
    /// Tree name (e.g. stable-rc)
    #[arg(long, value_name = "NAME", help_heading = "Overrides")]
    pub tree_name: Option<String>,
    /// Architecture, KernelCI name (e.g. x86_64)
    #[arg(long, value_name = "ARCH", help_heading = "Overrides")]
    pub arch: Option<String>,
    /// Compiler (e.g. "gcc (Debian 12.2.0-14+deb12u1) 12.2.0")
    #[arg(long, value_name = "CC", help_heading = "Overrides")]
    pub compiler: Option<String>,
    /// Config name (e.g. allmodconfig)
    #[arg(long, value_name = "NAME", help_heading = "Overrides")]
    pub config_name: Option<String>,
    /// Build status (PASS, FAIL, ERROR, MISS, DONE, SKIP)
    #[arg(long, value_name = "STATUS", help_heading = "Overrides")]
    pub status: Option<String>,
    /// Build start time, RFC 3339 or epoch seconds (e.g. 2026-11-28T23:34:01Z)
    #[arg(long, value_name = "TIME", help_heading = "Overrides")]
    pub build_start_time: Option<String>,
    /// Build duration in seconds (e.g. 640)
    #[arg(long, value_name = "SECONDS", help_heading = "Overrides")]
    pub duration: Option<f64>,
    /// Run id seeding the build id (default: sha256 of the build log)
    #[arg(long, value_name = "ID", help_heading = "Overrides")]
    pub build_run_id: Option<String>,
    /// Build comment
    #[arg(long, value_name = "TEXT", help_heading = "Overrides")]
    pub comment: Option<String>,
    /// Build command
    #[arg(long, value_name = "CMD", help_heading = "Overrides")]
    pub command: Option<String>,
    /// Checkout id, used as is (e.g. gregkh:my-checkout)
    #[arg(long, value_name = "ID", help_heading = "Overrides")]
    pub checkout_id: Option<String>,
    /// Build id, used as is (e.g. gregkh:my-build)
    #[arg(long, value_name = "ID", help_heading = "Overrides")]
    pub build_id: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct SendArgs {
    /// Spool directory (default: --spool, else ./kcidb-spool)
    #[arg(value_name = "SPOOL", id = "spool_dir")]
    pub spool: Option<PathBuf>,

    #[command(flatten)]
    pub delivery: DeliveryArgs,

    /// The history whose builds are marked delivered when sent (only if it exists)
    #[command(flatten)]
    pub history: HistoryArgs,

    /// What to print per report on stderr
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Args, Clone)]
pub struct DiagnosticsArgs {
    /// Result directories
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,

    /// KCIDB origin, for the build ids shown (e.g. --origin gregkh)
    #[arg(long, env = "KCIDB_HARVEST_ORIGIN")]
    pub origin: Option<String>,

    /// Human lines grouped by kind, or JSON Lines (one object per diagnostic) on stdout
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Args, Clone)]
pub struct DiffArgs {
    /// The older build: a result directory or a build id in the history (alone: the build to compare with its previous build)
    #[arg(value_name = "A")]
    pub a: String,

    /// The newer build: a result directory or a build id in the history
    #[arg(value_name = "B")]
    pub b: Option<String>,

    /// KCIDB origin, for the build ids of directories (e.g. --origin gregkh)
    #[arg(long, env = "KCIDB_HARVEST_ORIGIN")]
    pub origin: Option<String>,

    /// Human lines, or JSON Lines (one object per new or gone diagnostic, then a `diff` line) on stdout
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    #[command(flatten)]
    pub history: HistoryArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// The history to show (default: $XDG_DATA_HOME/kcidb-harvest/history.sqlite, i.e. ~/.local/share/…)
    #[arg(long, value_name = "FILE", env = "KCIDB_HARVEST_HISTORY")]
    pub history: Option<PathBuf>,

    /// Where to write the page, `-` for standard output (e.g. -o stable-6.1.html)
    #[arg(short, long, value_name = "FILE", default_value = "report.html")]
    pub output: String,

    /// Only this tree: its name, or its repository URL when it has no name (e.g. --tree stable)
    #[arg(long, value_name = "TREE")]
    pub tree: Option<String>,

    /// Only this branch (e.g. --branch linux-6.1.y)
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// Only builds started at or after DATE, UTC (e.g. --since 2024-01-31 or --since 2024-01-31T12:00:00Z)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct ExplainArgs {
    /// The result directory
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// KCIDB origin, as the harvest would use it, so the ids shown are the ones delivered (e.g. --origin gregkh)
    #[arg(long, env = "KCIDB_HARVEST_ORIGIN")]
    pub origin: Option<String>,

    #[command(flatten)]
    pub overrides: Overrides,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}
