use clap::Parser;

fn main() {
    let cli = kcidb_harvest::Cli::parse();
    std::process::exit(kcidb_harvest::run(cli));
}
