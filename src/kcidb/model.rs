//! KCIDB I/O schema v5.3 as serde types (docs/kcidb.md#schema-v53-subset).
//!
//! Optional fields are `Option`s skipped when `None`: KCIDB forbids `null`
//! and reads a missing field as "unknown". Field order is the order of
//! serialisation, so reports are byte-stable.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const MAJOR: u64 = 5;
pub const MINOR: u64 = 3;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    pub major: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minor: Option<u64>,
}

impl Default for Version {
    fn default() -> Self {
        Version {
            major: MAJOR,
            minor: Some(MINOR),
        }
    }
}

/// A whole KCIDB document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub version: Version,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkouts: Vec<Checkout>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub builds: Vec<Build>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<Test>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<Incident>,
}

/// Build / test status (`$defs/status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    #[serde(rename = "FAIL")]
    Fail,
    #[serde(rename = "ERROR")]
    Error,
    #[serde(rename = "MISS")]
    Miss,
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "DONE")]
    Done,
    #[serde(rename = "SKIP")]
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fail => "FAIL",
            Status::Error => "ERROR",
            Status::Miss => "MISS",
            Status::Pass => "PASS",
            Status::Done => "DONE",
            Status::Skip => "SKIP",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "FAIL" => Status::Fail,
            "ERROR" => Status::Error,
            "MISS" => Status::Miss,
            "PASS" => Status::Pass,
            "DONE" => Status::Done,
            "SKIP" => Status::Skip,
            _ => {
                return Err(format!(
                    "unknown status `{s}` (PASS, FAIL, ERROR, MISS, DONE, SKIP)"
                ))
            }
        })
    }
}

/// A named file (`$defs/resource`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    pub name: String,
    pub url: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkout {
    pub id: String,
    pub origin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_repository_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit_tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_repository_branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_repository_branch_tip: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patchset_files: Option<Vec<Resource>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patchset_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_builds_finish_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_tests_finish_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_excerpt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misc: Option<Map<String, Value>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    pub id: String,
    pub origin: String,
    pub checkout_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Seconds; whole numbers are serialised as integers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<serde_json::Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compiler: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_files: Option<Vec<Resource>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_files: Option<Vec<Resource>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_excerpt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misc: Option<Map<String, Value>>,
}

/// Test `environment`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Device-tree compatible strings of the machine, e.g. `ti,am625-sk`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatible: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misc: Option<Map<String, Value>>,
}

/// How a test `number` is displayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NumberPrefix {
    /// k, M, G… (powers of 1000)
    Metric,
    /// Ki, Mi, Gi… (powers of 1024)
    Binary,
}

/// A test's numeric result (`number`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestNumber {
    pub value: serde_json::Number,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<NumberPrefix>,
}

/// A test run (`$defs/test`). Not produced by the harvester, but part of
/// the document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Test {
    pub id: String,
    pub origin: String,
    pub build_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// Dot-separated path, `""` for the root (e.g. `ltp.sem01`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_excerpt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<TestNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<serde_json::Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_files: Option<Vec<Resource>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_files: Option<Vec<Resource>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misc: Option<Map<String, Value>>,
}

/// Which layer an issue blames; an absent key means unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Culprit {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub harness: Option<bool>,
}

/// An issue (`$defs/issue`), identified by (`id`, `version`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issue {
    pub id: String,
    /// Only the highest version of an issue is used for triage.
    pub version: u64,
    pub origin: String,
    /// Dot-separated category paths (e.g. `build.error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub culprit: Option<Culprit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misc: Option<Map<String, Value>>,
}

/// An incident (`$defs/incident`): an issue seen (or not) in a build/test.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    pub id: String,
    pub origin: String,
    pub issue_id: String,
    pub issue_version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misc: Option<Map<String, Value>>,
}
