//! The KCIDB v5.3 model ([`model`]) and its validation ([`validate`]).

pub mod model;
pub mod validate;

pub use model::*;
pub use validate::{validate_report, validate_value, Validated, Violation};
