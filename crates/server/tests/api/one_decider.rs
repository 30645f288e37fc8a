//! The one-decider invariant, held by reading the source: the server names acts, never
//! permissions; the store writes no status of its own; and the named makers of an audit actor
//! that is no engine proof appear only where they belong. The compiler holds the rest (a write
//! on behalf of a person takes the engine's proof), and these catch what it cannot: a
//! permission picked in a handler, a status literal in SQL, a maker used out of place.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    out.sort();
    out
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

/// Lines of `files` holding `needle`, as `file:line: text`, except those `allowed` names.
fn found(files: &[(PathBuf, String)], needle: &str, allowed: &[&str]) -> Vec<String> {
    let mut hits = vec![];
    for (path, text) in files {
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains(needle) && !allowed.iter().any(|a| code.contains(a)) {
                hits.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    hits
}

#[test]
fn the_server_names_acts_and_never_picks_a_permission() {
    let server = sources(&crate_src("server"));
    // What remains is data, not a decision: the catalog listed, a permission parsed from a
    // check the caller asks about, and the digest that hashes every answer of the model.
    let hits = found(
        &server,
        "Permission::",
        &["Permission::parse(", "Permission::ALL"],
    );
    assert!(
        hits.is_empty(),
        "permissions picked outside the engine:\n{}",
        hits.join("\n")
    );
    let checks = found(&server, ".check(", &[]);
    assert!(
        checks.is_empty(),
        "checks asked around the vocabulary:\n{}",
        checks.join("\n")
    );
}

#[test]
fn the_store_holds_no_status_literals() {
    let store = sources(&crate_src("store"));
    let mut hits = vec![];
    for status in [
        "'enrolled'",
        "'in_progress'",
        "'completed'",
        "'waiting'",
        "'to_confirm'",
        "'suspended'",
        "'overbooked'",
        "'booked'",
        "'attended'",
        "'cancelled'",
        "'activated'",
        "'active'",
        "'deactivated'",
    ] {
        hits.extend(found(&store, status, &[]));
    }
    assert!(
        hits.is_empty(),
        "statuses decided in SQL:\n{}",
        hits.join("\n")
    );
}

#[test]
fn audit_actors_that_are_no_engine_proof_appear_only_where_they_belong() {
    let server = sources(&crate_src("server"));
    let store = sources(&crate_src("store"));
    let outside = |files: &[(PathBuf, String)], needle: &str, home: &str| -> Vec<String> {
        found(files, needle, &[])
            .into_iter()
            .filter(|hit| !hit.replace('\\', "/").contains(home))
            .collect()
    };
    // The command line's actor belongs to the command line; the server never acts as it.
    let cli = outside(&server, "Actor::cli()", "\u{0}");
    assert!(
        cli.is_empty(),
        "the server acting as the command line:\n{}",
        cli.join("\n")
    );
    let owner = outside(&server, "Actor::session_owner(", "src/routes/session.rs");
    assert!(
        owner.is_empty(),
        "a session owner outside sign-in and sign-out:\n{}",
        owner.join("\n")
    );
    let refused = outside(&server, "Actor::refused(", "src/state.rs");
    assert!(
        refused.is_empty(),
        "a refused actor outside the refusal audit:\n{}",
        refused.join("\n")
    );
    let operator = outside(&server, "Actor::operator(", "src/extract.rs");
    assert!(
        operator.is_empty(),
        "an operator actor outside the extractor:\n{}",
        operator.join("\n")
    );
    // And the store itself makes none of them.
    let made = outside(&store, "Actor(Who::", "src/records.rs");
    assert!(
        made.is_empty(),
        "the store making its own actors:\n{}",
        made.join("\n")
    );
}
