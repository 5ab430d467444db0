//! git metadata from plain files (HEAD, refs, packed-refs, logs/HEAD, config): base commit, branch, clone time, applied patches

use crate::{Facts, Input, ParseError, Parser};

/// git metadata from plain files (HEAD, refs, packed-refs, logs/HEAD, config): base commit, branch, clone time, applied patches
pub struct GitMeta;

impl Parser for GitMeta {
    fn id(&self) -> &'static str {
        "git-meta"
    }
    fn description(&self) -> &'static str {
        "git metadata from plain files (HEAD, refs, packed-refs, logs/HEAD, config): base commit, branch, clone time, applied patches"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &[
            "linux/.git/HEAD",
            "linux/.git/packed-refs",
            "linux/.git/refs/",
            "linux/.git/logs/HEAD",
            "linux/.git/config",
        ]
    }
    fn parse(&self, _input: &Input, _facts: &mut Facts) -> Result<(), ParseError> {
        Ok(())
    }
}
