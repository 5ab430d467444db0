//! The integration tests: one crate (one binary to build and link), one
//! module per concern. `common` has the test servers (KCIDB REST,
//! kernelci-storage) and the fixtures' helpers.

mod common;

mod backfill;
mod cli;
mod contrib;
mod corpus;
mod delivery;
mod delivery_cli;
mod docs;
mod history;
mod ktest;
mod layouts;
mod logs;
mod page;
mod readme;
mod resume;
mod scenarios;
mod untrusted;
mod validate;
