//! A good command-line citizen: shell completions that load and complete,
//! a man page kept in step with the arguments, progress only on a terminal.

mod common;

use std::process::Command;

use common::{NATIVE_HEADER, TestDb, csv_file};

fn importdesk(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_importdesk"))
        .args(args)
        .env("IMPORTDESK_SYSTEM_CONFIG", "")
        .output()
        .unwrap()
}

/// What bash offers after `words` (the last one being completed).
fn bash_complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'\n\
         COMP_WORDS=({})\n\
         COMP_CWORD={}\n\
         COMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _importdesk importdesk \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words.len() - 1
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completions_load_and_complete_subcommands() {
    let out = importdesk(&["completions", "bash"]);
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("importdesk.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        syntax.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    let top = bash_complete(&script, &["importdesk", "ro"]);
    assert_eq!(top, vec!["rollback"], "{top:?}");
    let db = bash_complete(&script, &["importdesk", "db", "revoke-s"]);
    assert_eq!(db, vec!["revoke-seller", "revoke-support"], "{db:?}");
    let shells = bash_complete(&script, &["importdesk", "completions", ""]);
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.contains(&shell.to_string()), "{shells:?}");
    }
}

#[test]
fn zsh_and_fish_completions_are_generated() {
    let zsh = importdesk(&["completions", "zsh"]);
    assert!(String::from_utf8_lossy(&zsh.stdout).starts_with("#compdef importdesk"));
    let fish = importdesk(&["completions", "fish"]);
    assert!(String::from_utf8_lossy(&fish.stdout).contains("complete -c importdesk"));
}

/// docs/man/ is what `importdesk man --out-dir` writes; regenerate it with
/// `cargo run -- man --out-dir docs/man` when the arguments change.
#[test]
fn the_man_pages_in_docs_match_the_arguments() {
    let page = importdesk(&["man"]);
    assert!(page.status.success());
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(page.contains(".TH importdesk 1"), "{page}");
    assert!(
        page.contains("importdesk\\-db(1)"),
        "subcommands are listed: {page}"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = importdesk(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success());
    let names = |d: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let docs = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/man"));
    let generated = names(dir.path());
    assert!(generated.contains(&"importdesk-db-revoke-seller.1".to_string()));
    assert_eq!(
        generated,
        names(docs),
        "docs/man is stale: cargo run -- man --out-dir docs/man"
    );
    for name in &generated {
        assert!(
            std::fs::read(dir.path().join(name)).unwrap()
                == std::fs::read(docs.join(name)).unwrap(),
            "docs/man/{name} is stale: cargo run -- man --out-dir docs/man"
        );
    }
}

#[tokio::test]
async fn no_progress_output_on_a_pipe() {
    let t = TestDb::new().await;
    let rows: String = (0..2000)
        .map(|i| format!("k{i},T,,1.00,USD,1,active,,,,\n"))
        .collect();
    let (_d, csv) = csv_file("l.csv", &format!("{NATIVE_HEADER}{rows}"));
    let run = t.cli(&["import", csv.to_str().unwrap(), "--seller", "acme"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "", "stderr is a pipe here: no bar");
    let run = t.cli(&["rollback", "--last", "--seller", "acme", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
}
