//! The README's shell examples, run as shown: every `cargo run --release -- …` line of its
//! `sh` blocks, in order, in one scratch directory that has the bundled `data/`, with the built
//! program in place of `cargo run --release --` (the README's Rust blocks are doctests; see
//! `src/lib.rs`). A line whose comment says it fails must exit 1 (a failed check); every other
//! line must exit 0.
//!
//! Left to other tests, and why: `cargo run --release` alone (the tour: in `tests/cli.rs`,
//! `no_arguments_runs_the_tour_with_every_check_passing`), `cargo test` (CI itself), `chromium …` (the browser test in
//! `tests/cli.rs`) and `python3 … onnxruntime` (not installed here; the export is checked
//! against tract in `tests/cli_export.rs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shell lines of the README's `sh` blocks, with `\`-continued lines joined.
fn shell_lines(readme: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => pending.push_str(start),
            None => {
                pending.push_str(line);
                lines.push(std::mem::take(&mut pending));
            }
        }
    }
    lines
}

/// Whether a README line is run here (see the module docs for the others).
fn runs_here(line: &str) -> bool {
    line.contains("cargo run --release -- ")
}

#[test]
fn every_shell_example_of_the_readme_runs_as_shown() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let lines: Vec<String> = shell_lines(&readme)
        .into_iter()
        .filter(|l| runs_here(l))
        .collect();
    assert!(
        lines.len() >= 10,
        "the README's examples were not found: {lines:?}"
    );

    let dir: PathBuf =
        std::env::temp_dir().join(format!("chainrule-readme-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("docs")).unwrap();
    std::os::unix::fs::symlink(root.join("data"), dir.join("data")).unwrap();
    // Lines that write a file for a later line (`printf … > neuron.txt`) run too.
    let program = env!("CARGO_BIN_EXE_chainrule");
    let mut ran = 0;
    for line in shell_lines(&readme) {
        let setup = line.starts_with("printf ");
        if !runs_here(&line) && !setup {
            continue;
        }
        let command = line.replace("cargo run --release --", program);
        let output = Command::new("bash")
            .args(["-o", "pipefail", "-c", &command])
            .current_dir(&dir)
            .output()
            .unwrap();
        let expected = if line.contains("# fails") { 1 } else { 0 };
        assert_eq!(
            output.status.code(),
            Some(expected),
            "README line {line:?} exited {:?}\nstdout: {}\nstderr: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        ran += runs_here(&line) as usize;
    }
    assert_eq!(ran, lines.len());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn continued_lines_are_joined_and_other_blocks_skipped() {
    let readme = "```text\ncargo run --release -- no\n```\n```sh\na \\\n  b\nc\n```\n";
    assert_eq!(shell_lines(readme), ["a   b", "c"]);
}
