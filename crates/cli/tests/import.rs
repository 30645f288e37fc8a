//! `registrar import` and `export` on the real binary: the README's sample files import cleanly
//! into the demo tenant.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_registrar");

fn example(name: &str) -> String {
    format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Loads the demo data with `serve --demo`, then stops the server.
fn demo_database() -> (String, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("registrar-import-{}.db", std::process::id()));
    let url = format!("sqlite://{}", path.display());
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            &url,
        ])
        // Not the default `mailbox.jsonl` in the crate folder: the demo's mail stays in temp.
        .arg("--mailbox")
        .arg(path.with_extension("mailbox.jsonl"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        if line.unwrap().starts_with("Registrar is serving on") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    (url, path)
}

fn run(url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .args(["--database-url", url])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_sample_files_import_into_the_demo_tenant_and_export_back() {
    let (url, path) = demo_database();
    let users = example("import-users.csv");
    let import = ["import", "--tenant", "demo", "--as", "admin"];

    let (ok, out, err) = run(&url, &[&import[..], &["--dry-run", &users]].concat());
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("3 created, 1 updated, 0 unchanged, 0 refused"),
        "{out}"
    );

    let (ok, out, err) = run(&url, &[&import[..], &[&users]].concat());
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("imported 4 rows"), "{out}");
    let managers = example("import-managers.csv");
    let (ok, out, err) = run(
        &url,
        &[&import[..], &["--format", "managers", &managers]].concat(),
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("2 created"), "{out}");

    let (ok, out, err) = run(
        &url,
        &["export", "--tenant", "demo", "--as", "admin", "users"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("Bjørn Åsen"), "{out}");

    // A bad file changes nothing and names the line.
    let bad = std::env::temp_dir().join(format!("registrar-bad-{}.csv", std::process::id()));
    std::fs::write(
        &bad,
        "email,display_name\nnew@example.com,New\nbroken,Broken\n",
    )
    .unwrap();
    let (ok, out, err) = run(&url, &[&import[..], &[bad.to_str().unwrap()]].concat());
    assert!(!ok);
    assert!(out.contains("nothing was imported"), "{out}");
    assert!(err.contains("line 3, column email"), "{err}");
    let _ = std::fs::remove_file(bad);
    let _ = std::fs::remove_file(path.with_extension("mailbox.jsonl"));
    let _ = std::fs::remove_file(path);
}

#[test]
fn the_bench_generator_is_deterministic_and_import_commands_have_help() {
    let generate = || {
        Command::new(BIN)
            .args(["bench-csv", "--rows", "50", "--bad", "2"])
            .output()
            .unwrap()
            .stdout
    };
    let a = generate();
    assert_eq!(a, generate());
    let text = String::from_utf8(a).unwrap();
    assert_eq!(text.lines().count(), 51);
    assert_eq!(text.matches("not-an-email").count(), 2);
    for args in [
        ["import", "--help"],
        ["export", "--help"],
        ["bench-csv", "--help"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
    }
}
