//! The routine review, done by `cargo test`: module docs, no debugging leftovers, banned
//! APIs kept out, files short enough to read, and every crate on the workspace lints.
//!
//! Every finding is collected first and reported together, so one run shows all of them.

use std::path::{Path, PathBuf};

/// Longest a source file may grow before it should be split.
const SOURCE_LINES_MAX: usize = 400;

/// This file names every banned pattern in order to look for it, so it is not searched.
const THIS_FILE: &str = "crates/cli/tests/cli/tidy.rs";

/// Macros that must not ship.
const UNFINISHED_MACROS: [&str; 3] = ["dbg!(", "todo!(", "unimplemented!("];

/// Where the wall clock may be read: the clock itself, and test support.
const WALL_CLOCK_ALLOWED: [&str; 2] = ["crates/service/src/clock.rs", "crates/testkit/"];

/// HTTP clients built without a timeout.
const CLIENTS_WITHOUT_TIMEOUT: [&str; 2] = ["reqwest::Client::new()", "reqwest::blocking::Client::new()"];

const MONEY_FILE: &str = "crates/domain/src/money.rs";

#[test]
fn the_workspace_passes_the_tidy_review() {
    let root = workspace_root();
    let mut findings = Vec::new();
    for crate_dir in crate_dirs(&root) {
        check_manifest(&root, &crate_dir, &mut findings);
        for file in rust_files(&crate_dir) {
            let path = relative(&root, &file);
            if path == THIS_FILE {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
            check_everywhere(&path, &text, &mut findings);
            if path.contains("/src/") {
                check_shipped(&path, &text, &mut findings);
            }
            if path == MONEY_FILE {
                check_money(&path, &text, &mut findings);
            }
        }
    }
    assert!(findings.is_empty(), "tidy found {} problem(s):\n{}\n", findings.len(), findings.join("\n"));
}

/// The attribute that skips a test, spelled in two pieces so this file does not itself
/// look like it skips one.
const IGNORE_ATTRIBUTE: &str = concat!("#[", "ignore");

/// Rules for every Rust file under `crates/`, tests included.
fn check_everywhere(path: &str, text: &str, findings: &mut Vec<String>) {
    let wall_clock_allowed = WALL_CLOCK_ALLOWED.iter().any(|allowed| path.starts_with(allowed));
    for (number, line) in numbered(text) {
        if line.contains(IGNORE_ATTRIBUTE) {
            findings.push(format!("{path}:{number}: an ignored test; a test either runs or is deleted"));
        }
        if !wall_clock_allowed && line.contains("SystemTime::now") {
            findings.push(format!("{path}:{number}: SystemTime::now outside the clock; inject a Clock"));
        }
        for client in CLIENTS_WITHOUT_TIMEOUT {
            if line.contains(client) {
                findings.push(format!("{path}:{number}: {client} has no timeout; use a builder with timeout_ms"));
            }
        }
    }
}

/// Rules for the code that ships: everything under a crate's `src/`.
fn check_shipped(path: &str, text: &str, findings: &mut Vec<String>) {
    match numbered(text).find(|(_, line)| !line.trim().is_empty()) {
        Some((_, line)) if line.trim_start().starts_with("//!") => {}
        Some((number, _)) => findings.push(format!("{path}:{number}: no //! module doc at the top")),
        None => findings.push(format!("{path}:1: empty file without a //! module doc")),
    }
    for (number, line) in numbered(text) {
        for banned in UNFINISHED_MACROS {
            if line.contains(banned) {
                findings.push(format!("{path}:{number}: {banned}…) left in shipped code"));
            }
        }
    }
    let lines = text.lines().count();
    if lines > SOURCE_LINES_MAX {
        findings.push(format!("{path}:{lines}: {lines} lines, more than {SOURCE_LINES_MAX}; split the module"));
    }
}

/// Money is integer minor units: no float type may appear in its code. Comments are
/// skipped so that the module may say why.
fn check_money(path: &str, text: &str, findings: &mut Vec<String>) {
    for (number, line) in numbered(text) {
        let code = line.split("//").next().unwrap_or_default();
        for float in ["f32", "f64"] {
            if contains_type_token(code, float) {
                findings.push(format!("{path}:{number}: {float} in money code; use amount_minor: i64"));
            }
        }
    }
}

/// Whether `token` appears in `code` as a type or literal suffix (`f64`, `1.0f64`), not
/// inside a longer identifier such as `buf64`.
fn contains_type_token(code: &str, token: &str) -> bool {
    code.match_indices(token).any(|(start, _)| {
        let before = code[..start].chars().next_back();
        let after = code[start + token.len()..].chars().next();
        let letter_before = before.is_some_and(|c| c.is_alphabetic());
        let ident_after = after.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !letter_before && !ident_after
    })
}

/// Every crate must inherit the workspace lints (`unsafe_code = "forbid"`, `unwrap_used`…).
fn check_manifest(root: &Path, crate_dir: &Path, findings: &mut Vec<String>) {
    let manifest = crate_dir.join("Cargo.toml");
    let path = relative(root, &manifest);
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        findings.push(format!("{path}:1: missing"));
        return;
    };
    let inherits = match toml::from_str::<toml::Table>(&text) {
        Ok(table) => {
            table.get("lints").and_then(|lints| lints.get("workspace")).and_then(toml::Value::as_bool) == Some(true)
        }
        Err(error) => {
            findings.push(format!("{path}:1: not valid TOML: {error}"));
            return;
        }
    };
    if !inherits {
        findings.push(format!("{path}:1: no [lints] workspace = true; the crate escapes the workspace lints"));
    }
}

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().expect("the workspace root exists")
}

fn crate_dirs(root: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(root.join("crates")).expect("read crates/");
    let mut dirs: Vec<PathBuf> =
        entries.map(|entry| entry.expect("read a crates/ entry").path()).filter(|path| path.is_dir()).collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no crates under {}", root.display());
    dirs
}

/// Every `.rs` file under `dir`, in a stable order; build output and hidden folders skipped.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let entries = std::fs::read_dir(&next).unwrap_or_else(|e| panic!("cannot list {}: {e}", next.display()));
        for entry in entries {
            let path = entry.expect("read a directory entry").path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    pending.push(path);
                }
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

/// Lines numbered from 1, as editors and compilers count them.
fn numbered(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(index, line)| (index + 1, line))
}

#[test]
fn the_float_check_finds_types_and_suffixes_but_not_longer_names() {
    let cases = [
        ("let x: f64 = 1.0;", true),
        ("let x = 1.0f64;", true),
        ("Vec<f32>", true),
        ("let buf64 = 0;", false),
        ("let f64_count = 0;", false),
        ("let amount_minor: i64 = 0;", false),
    ];
    for (code, expected) in cases {
        let found = contains_type_token(code, "f64") || contains_type_token(code, "f32");
        assert_eq!(found, expected, "{code}");
    }
}
