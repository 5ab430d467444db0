//! KCIDB issues and incidents from the distinct diagnostics of each build
//! (README "Issues and incidents"): one issue per signature
//! ([`kcidb_harvest_parsers::diag::signature`]), the same in every build,
//! release and machine; one incident per (issue, build).
//!
//! `--issues errors` (the default) makes issues of errors, `all` of
//! warnings too, `none` of nothing. The history records every distinct
//! diagnostic whatever the choice.

use kcidb_harvest_parsers::diag::{signature, DiagReport, Diagnostic, Kind, Severity};
use serde_json::{json, Map, Value};

use crate::kcidb::{Culprit, Incident, Issue};

use super::sha256_hex;

/// Which distinct diagnostics become KCIDB issues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum IssueMode {
    /// Every distinct error
    #[default]
    Errors,
    /// Every distinct error and warning
    All,
    /// No issues or incidents
    None,
}

/// One distinct diagnostic with its signature and the signature's sha256.
#[derive(Clone, Debug)]
pub struct Signed {
    pub diag: Diagnostic,
    pub signature: String,
    pub hash: String,
}

/// The distinct diagnostics of one build.
#[derive(Clone, Debug)]
pub struct BuildDiags {
    pub build_id: String,
    pub diags: Vec<Signed>,
}

/// The listed diagnostics of a report, signed, in log order.
pub fn signed(report: &DiagReport) -> Vec<Signed> {
    report.diagnostics.iter().map(sign).collect()
}

/// One diagnostic, signed.
pub fn sign(d: &Diagnostic) -> Signed {
    let signature = signature::signature(d);
    Signed {
        hash: sha256_hex(&signature),
        signature,
        diag: d.clone(),
    }
}

/// `<origin>:iss-<sha256(signature)>`.
pub fn issue_id(origin: &str, hash: &str) -> String {
    format!("{origin}:iss-{hash}")
}

/// `<origin>:inc-<sha256(issue id|build id)>`.
pub fn incident_id(origin: &str, issue_id: &str, build_id: &str) -> String {
    format!(
        "{origin}:inc-{}",
        sha256_hex(&format!("{issue_id}|{build_id}"))
    )
}

/// The issues (each once, in order of first appearance) and incidents
/// (one per issue and build) of the builds' diagnostics.
pub fn issues(origin: &str, builds: &[BuildDiags], mode: IssueMode) -> (Vec<Issue>, Vec<Incident>) {
    let mut issues: Vec<Issue> = Vec::new();
    let mut incidents = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for b in builds {
        let mut in_build = std::collections::HashSet::new();
        for s in b.diags.iter().filter(|s| wanted(mode, s.diag.severity)) {
            let id = issue_id(origin, &s.hash);
            if seen.insert(id.clone()) {
                issues.push(issue(origin, &id, s));
            }
            // two distinct diagnostics of one signature (the same error on
            // two lines) are one incident of that build
            if !in_build.insert(id.clone()) {
                continue;
            }
            let occurrences: u64 = b
                .diags
                .iter()
                .filter(|o| o.hash == s.hash)
                .map(|o| o.diag.occurrences)
                .sum();
            let mut misc = Map::new();
            misc.insert("occurrences".into(), json!(occurrences));
            misc.insert("log_line".into(), json!(s.diag.first_line));
            if let Some(l) = s.diag.line {
                misc.insert("line".into(), json!(l));
            }
            incidents.push(Incident {
                id: incident_id(origin, &id, &b.build_id),
                origin: origin.to_string(),
                issue_id: id,
                issue_version: 1,
                build_id: Some(b.build_id.clone()),
                present: Some(true),
                misc: Some(misc),
                ..Default::default()
            });
        }
    }
    (issues, incidents)
}

fn wanted(mode: IssueMode, s: Severity) -> bool {
    match mode {
        IssueMode::Errors => s == Severity::Error,
        IssueMode::All => true,
        IssueMode::None => false,
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}

/// The layer an issue of this kind blames: the kernel's code for what the
/// compiler, assembler, linker, Kconfig, modpost, objtool, rustc and dtc
/// say about the tree; the tool when the toolchain itself is missing or
/// broken; unknown for make's and other messages (a recipe fails for
/// either reason).
fn culprit(kind: Kind) -> Option<Culprit> {
    match kind {
        Kind::Compiler
        | Kind::Linker
        | Kind::Assembler
        | Kind::Modpost
        | Kind::Objtool
        | Kind::Kconfig
        | Kind::Rust
        | Kind::Dtc => Some(Culprit {
            code: Some(true),
            ..Default::default()
        }),
        Kind::Toolchain => Some(Culprit {
            tool: Some(true),
            ..Default::default()
        }),
        Kind::Make | Kind::Other => None,
    }
}

fn issue(origin: &str, id: &str, s: &Signed) -> Issue {
    let d = &s.diag;
    let severity = severity_name(d.severity);
    let kind = d.kind.as_str();
    let message = signature::normalised_message(&d.message);
    let comment = match &d.file {
        Some(f) => format!("{kind} {severity} in {f}"),
        None => format!("{kind} {severity}"),
    };
    let mut misc = Map::new();
    misc.insert("signature".into(), Value::String(s.signature.clone()));
    misc.insert("severity".into(), json!(severity));
    misc.insert("kind".into(), json!(kind));
    if let Some(f) = &d.file {
        misc.insert("file".into(), json!(f));
    }
    Issue {
        id: id.to_string(),
        version: 1,
        origin: origin.to_string(),
        categories: Some(vec![format!("build.{severity}.{kind}")]),
        report_subject: Some(message),
        culprit: culprit(d.kind),
        comment: Some(comment),
        misc: Some(misc),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_one(severity: Severity, file: &str, line: u32, message: &str) -> Signed {
        let d = Diagnostic {
            kind: Kind::Compiler,
            severity,
            file: Some(file.into()),
            line: Some(line),
            column: Some(1),
            message: message.into(),
            occurrences: 2,
            first_line: 10,
        };
        sign(&d)
    }

    #[test]
    fn one_issue_two_incidents_for_the_same_error_in_two_builds() {
        let a = BuildDiags {
            build_id: "o:b-1".into(),
            diags: vec![signed_one(Severity::Error, "x.c", 3, "'y' undeclared")],
        };
        let b = BuildDiags {
            build_id: "o:b-2".into(),
            diags: vec![signed_one(Severity::Error, "x.c", 9, "'y' undeclared")],
        };
        let (issues, incidents) = issues("o", &[a, b], IssueMode::Errors);
        assert_eq!(issues.len(), 1);
        assert_eq!(incidents.len(), 2);
        assert!(issues[0].id.starts_with("o:iss-"));
        assert!(incidents.iter().all(|i| i.issue_id == issues[0].id));
        assert_ne!(incidents[0].id, incidents[1].id);
        assert_eq!(issues[0].culprit.as_ref().unwrap().code, Some(true));
        assert_eq!(
            issues[0].categories.as_deref().unwrap(),
            ["build.error.compiler"]
        );
    }

    #[test]
    fn warnings_are_issues_only_with_all() {
        let b = BuildDiags {
            build_id: "o:b-1".into(),
            diags: vec![signed_one(
                Severity::Warning,
                "x.c",
                3,
                "unused variable 'z'",
            )],
        };
        let bs = std::slice::from_ref(&b);
        assert_eq!(issues("o", bs, IssueMode::Errors).0.len(), 0);
        assert_eq!(issues("o", bs, IssueMode::All).0.len(), 1);
        assert_eq!(issues("o", bs, IssueMode::None).1.len(), 0);
    }

    #[test]
    fn the_same_signature_twice_in_a_build_is_one_incident() {
        let b = BuildDiags {
            build_id: "o:b-1".into(),
            diags: vec![
                signed_one(Severity::Error, "x.c", 3, "'y' undeclared"),
                signed_one(Severity::Error, "x.c", 7, "'y' undeclared"),
            ],
        };
        let (issues, incidents) = issues("o", &[b], IssueMode::Errors);
        assert_eq!((issues.len(), incidents.len()), (1, 1));
        assert_eq!(incidents[0].misc.as_ref().unwrap()["occurrences"], 4);
    }
}
