//! On-disk helpers: symlinks, FIFOs, copying a generated tree (keeping
//! symlinks, FIFOs and modes) for a reproducer, removing it.

use std::ffi::CString;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// Remove whatever is at `p` (file, symlink, FIFO or directory tree).
pub fn remove(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(p);
        }
        Err(_) => {}
    }
}

/// Make every directory below `root` searchable again (after chmod 000),
/// then remove it.
pub fn remove_tree(root: &Path) {
    restore_modes(root);
    remove(root);
}

fn restore_modes(p: &Path) {
    if let Ok(m) = std::fs::symlink_metadata(p) {
        if m.is_dir() {
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    restore_modes(&e.path());
                }
            }
        }
    }
}

pub fn mkfifo(p: &Path) -> std::io::Result<()> {
    let c = CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: `c` is a valid NUL-terminated path for the call's duration.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o644) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `to` as seen from the directory holding `link` (both absolute, lexical).
pub fn relative(link: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = link.parent().unwrap_or(link).components().collect();
    let to_c: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to_c).take_while(|(a, b)| a == b).count();
    let mut p = PathBuf::new();
    for _ in common..from.len() {
        p.push("..");
    }
    for c in &to_c[common..] {
        p.push(c.as_os_str());
    }
    p
}

/// Copy the tree at `from` to `to` keeping symlinks (as links), FIFOs and
/// modes; returns a manifest (one line per entry: type, mode, path, link
/// target) so a reproducer is readable without listing it by hand.
pub fn copy_tree(from: &Path, to: &Path) -> String {
    let mut manifest = String::new();
    copy_entry(from, to, Path::new(""), &mut manifest);
    manifest
}

fn copy_entry(src: &Path, dst: &Path, rel: &Path, manifest: &mut String) {
    let Ok(m) = std::fs::symlink_metadata(src) else {
        return;
    };
    let mode = m.permissions().mode() & 0o7777;
    let ft = m.file_type();
    let shown = if rel.as_os_str().is_empty() {
        ".".to_string()
    } else {
        rel.display().to_string()
    };
    if ft.is_symlink() {
        let target = std::fs::read_link(src).unwrap_or_default();
        let _ = writeln!(
            manifest,
            "symlink {mode:04o} {shown} -> {}",
            target.display()
        );
        let _ = std::os::unix::fs::symlink(&target, dst);
    } else if ft.is_dir() {
        let _ = writeln!(manifest, "dir     {mode:04o} {shown}");
        let _ = std::fs::create_dir_all(dst);
        let mut names: Vec<_> = std::fs::read_dir(src)
            .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        names.sort();
        for n in names {
            copy_entry(&src.join(&n), &dst.join(&n), &rel.join(&n), manifest);
        }
        let _ = std::fs::set_permissions(dst, std::fs::Permissions::from_mode(mode | 0o700));
    } else if ft.is_fifo() {
        let _ = writeln!(manifest, "fifo    {mode:04o} {shown}");
        let _ = mkfifo(dst);
    } else if ft.is_file() {
        let _ = writeln!(manifest, "file    {mode:04o} {shown} ({} bytes)", m.len());
        let _ = std::fs::copy(src, dst);
        let _ = std::fs::set_permissions(dst, std::fs::Permissions::from_mode(mode));
    } else {
        let _ = writeln!(manifest, "other   {mode:04o} {shown}");
    }
}
