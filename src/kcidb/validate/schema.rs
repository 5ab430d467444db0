//! The KCIDB v5.3 schema as data (docs/kcidb.md#schema-v53-subset; kcidb-io
//! `schema/v05_03.py`). Every object has `additionalProperties: false`
//! except `misc` values, which may hold anything.

/// What a JSON value must be.
#[derive(Debug)]
pub(super) enum Ty {
    /// A string obeying a rule.
    Str(Str),
    Bool,
    /// Any JSON number (int or float).
    Number,
    /// An integer (a float with no fraction counts, as in Draft 7) within
    /// `min..=max`.
    Int {
        min: i64,
        max: Option<i64>,
    },
    /// An integer equal to this value (`version.major`).
    ConstInt(i64),
    Object(&'static Obj),
    ArrayOf(&'static Ty),
    /// Any object (`misc`).
    AnyObject,
}

/// The string rules (patterns, formats, enums) of the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Str {
    /// `^[^\0]*$`
    NoNul,
    /// `^[a-z0-9_]+:[^\0]*$`
    Id,
    /// `^[a-z0-9_]+$`
    Origin,
    /// `^[0-9a-f]{40}$`
    CommitHash,
    /// `^$|^[0-9a-f]{64}$`
    PatchsetHash,
    /// `^[a-z0-9_]*$`
    Architecture,
    /// `format: uri` and `^https://[^\0]*$`
    GitRepositoryUrl,
    /// `format: uri`
    Uri,
    /// `format: date-time`
    DateTime,
    /// `format: email`
    Email,
    /// `$defs/status`
    Status,
    /// `$defs/path`
    TreePath,
    /// `^[^ \0]+(,[^ \0]+)*$`
    Compatible,
    /// `^[^/\0]+$`
    ResourceName,
    /// `maxLength: 16384` and `^[^\0]*$`
    Excerpt,
    /// `enum: [metric, binary]`
    NumberPrefix,
}

/// The build/test status values, highest priority first.
pub(super) const STATUSES: [&str; 6] = ["FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP"];

/// `maxLength` of every `log_excerpt`, in characters (code points).
pub(super) const MAX_EXCERPT_CHARS: usize = 16384;

/// An object type: its allowed fields and the required ones.
#[derive(Debug)]
pub(super) struct Obj {
    /// What the object is called in messages ("a build").
    pub what: &'static str,
    pub fields: &'static [(&'static str, Ty)],
    pub required: &'static [&'static str],
}

impl Obj {
    pub fn field(&self, name: &str) -> Option<&'static Ty> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, t)| t)
    }
}

const NO_NUL: Ty = Ty::Str(Str::NoNul);
const ID: Ty = Ty::Str(Str::Id);
const ORIGIN: Ty = Ty::Str(Str::Origin);
const URI: Ty = Ty::Str(Str::Uri);
const DATE_TIME: Ty = Ty::Str(Str::DateTime);
const EXCERPT: Ty = Ty::Str(Str::Excerpt);
const STATUS: Ty = Ty::Str(Str::Status);
const VERSION_NUMBER: Ty = Ty::Int { min: 0, max: None };

pub(super) static RESOURCE: Obj = Obj {
    what: "a resource",
    fields: &[("name", Ty::Str(Str::ResourceName)), ("url", URI)],
    required: &["name", "url"],
};
static RESOURCE_ITEM: Ty = Ty::Object(&RESOURCE);
static NO_NUL_ITEM: Ty = NO_NUL;
static TREE_PATH_ITEM: Ty = Ty::Str(Str::TreePath);
static COMPATIBLE_ITEM: Ty = Ty::Str(Str::Compatible);

pub(super) static VERSION: Obj = Obj {
    what: "the version",
    fields: &[
        ("major", Ty::ConstInt(5)),
        (
            "minor",
            Ty::Int {
                min: 0,
                max: Some(3),
            },
        ),
    ],
    required: &["major"],
};

pub(super) static CHECKOUT: Obj = Obj {
    what: "a checkout",
    fields: &[
        ("_timestamp", DATE_TIME),
        ("id", ID),
        ("origin", ORIGIN),
        ("tree_name", NO_NUL),
        ("git_repository_url", Ty::Str(Str::GitRepositoryUrl)),
        ("git_commit_hash", Ty::Str(Str::CommitHash)),
        ("git_commit_name", NO_NUL),
        ("git_commit_tags", Ty::ArrayOf(&NO_NUL_ITEM)),
        ("git_commit_message", NO_NUL),
        ("git_repository_branch", NO_NUL),
        ("git_repository_branch_tip", Ty::Bool),
        ("patchset_files", Ty::ArrayOf(&RESOURCE_ITEM)),
        ("patchset_hash", Ty::Str(Str::PatchsetHash)),
        ("message_id", Ty::Str(Str::Email)),
        ("comment", NO_NUL),
        ("start_time", DATE_TIME),
        ("origin_builds_finish_time", DATE_TIME),
        ("origin_tests_finish_time", DATE_TIME),
        ("log_url", URI),
        ("log_excerpt", EXCERPT),
        ("valid", Ty::Bool),
        ("misc", Ty::AnyObject),
    ],
    required: &["id", "origin"],
};

pub(super) static BUILD: Obj = Obj {
    what: "a build",
    fields: &[
        ("_timestamp", DATE_TIME),
        ("checkout_id", ID),
        ("id", ID),
        ("origin", ORIGIN),
        ("comment", NO_NUL),
        ("start_time", DATE_TIME),
        ("duration", Ty::Number),
        ("architecture", Ty::Str(Str::Architecture)),
        ("command", NO_NUL),
        ("compiler", NO_NUL),
        ("input_files", Ty::ArrayOf(&RESOURCE_ITEM)),
        ("output_files", Ty::ArrayOf(&RESOURCE_ITEM)),
        ("config_name", NO_NUL),
        ("config_url", URI),
        ("log_url", URI),
        ("log_excerpt", EXCERPT),
        ("status", STATUS),
        ("misc", Ty::AnyObject),
    ],
    required: &["checkout_id", "id", "origin"],
};

static ENVIRONMENT: Obj = Obj {
    what: "a test environment",
    fields: &[
        ("compatible", Ty::ArrayOf(&COMPATIBLE_ITEM)),
        ("comment", NO_NUL),
        ("misc", Ty::AnyObject),
    ],
    required: &[],
};

static NUMBER: Obj = Obj {
    what: "a test number",
    fields: &[
        ("value", Ty::Number),
        ("unit", NO_NUL),
        ("prefix", Ty::Str(Str::NumberPrefix)),
    ],
    required: &["value"],
};

pub(super) static TEST: Obj = Obj {
    what: "a test",
    fields: &[
        ("_timestamp", DATE_TIME),
        ("build_id", ID),
        ("id", ID),
        ("origin", ORIGIN),
        ("environment", Ty::Object(&ENVIRONMENT)),
        ("path", Ty::Str(Str::TreePath)),
        ("comment", NO_NUL),
        ("log_url", URI),
        ("log_excerpt", EXCERPT),
        ("status", STATUS),
        ("number", Ty::Object(&NUMBER)),
        ("start_time", DATE_TIME),
        ("duration", Ty::Number),
        ("input_files", Ty::ArrayOf(&RESOURCE_ITEM)),
        ("output_files", Ty::ArrayOf(&RESOURCE_ITEM)),
        ("misc", Ty::AnyObject),
    ],
    required: &["build_id", "id", "origin"],
};

static CULPRIT: Obj = Obj {
    what: "an issue culprit",
    fields: &[
        ("code", Ty::Bool),
        ("tool", Ty::Bool),
        ("harness", Ty::Bool),
    ],
    required: &[],
};

pub(super) static ISSUE: Obj = Obj {
    what: "an issue",
    fields: &[
        ("_timestamp", DATE_TIME),
        ("id", ID),
        ("version", VERSION_NUMBER),
        ("origin", ORIGIN),
        ("categories", Ty::ArrayOf(&TREE_PATH_ITEM)),
        ("report_url", URI),
        ("report_subject", NO_NUL),
        ("culprit", Ty::Object(&CULPRIT)),
        ("comment", NO_NUL),
        ("misc", Ty::AnyObject),
    ],
    required: &["id", "version", "origin"],
};

pub(super) static INCIDENT: Obj = Obj {
    what: "an incident",
    fields: &[
        ("_timestamp", DATE_TIME),
        ("id", ID),
        ("origin", ORIGIN),
        ("issue_id", ID),
        ("issue_version", VERSION_NUMBER),
        ("build_id", ID),
        ("test_id", ID),
        ("present", Ty::Bool),
        ("comment", NO_NUL),
        ("misc", Ty::AnyObject),
    ],
    required: &["id", "origin", "issue_id", "issue_version"],
};

static CHECKOUT_ITEM: Ty = Ty::Object(&CHECKOUT);
static BUILD_ITEM: Ty = Ty::Object(&BUILD);
static TEST_ITEM: Ty = Ty::Object(&TEST);
static ISSUE_ITEM: Ty = Ty::Object(&ISSUE);
static INCIDENT_ITEM: Ty = Ty::Object(&INCIDENT);

/// The whole document.
pub(super) static DOCUMENT: Obj = Obj {
    what: "a KCIDB document",
    fields: &[
        ("version", Ty::Object(&VERSION)),
        ("checkouts", Ty::ArrayOf(&CHECKOUT_ITEM)),
        ("builds", Ty::ArrayOf(&BUILD_ITEM)),
        ("tests", Ty::ArrayOf(&TEST_ITEM)),
        ("issues", Ty::ArrayOf(&ISSUE_ITEM)),
        ("incidents", Ty::ArrayOf(&INCIDENT_ITEM)),
    ],
    required: &["version"],
};
