//! `kro completions SHELL` and `kro man`: generated from the clap
//! definitions, so they name every command and option the parser takes.

use std::process::{Command, Output};

fn kro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kro"))
        .args(args)
        .output()
        .expect("the kro binary runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn every_shell_gets_a_script_naming_the_commands_and_their_values() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&kro(&["completions", shell]));
        // Fish writes long options without their dashes (`-l observed`).
        for word in ["validate", "render", "completions", "observed"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
        // Bash, zsh and fish complete an option's values too.
        if matches!(shell, "bash" | "zsh" | "fish") {
            for value in ["sarif", "github"] {
                assert!(script.contains(value), "{shell}: {value} missing");
            }
        }
    }
    let output = kro(&["completions", "tcsh"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_bash_script_is_valid_bash() {
    let script = stdout(&kro(&["completions", "bash"]));
    let dir = std::env::temp_dir().join(format!("kro-completions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let file = dir.join("kro.bash");
    std::fs::write(&file, script).expect("write the script");
    let checked = Command::new("bash").arg("-n").arg(&file).output();
    std::fs::remove_dir_all(&dir).expect("clean up");
    if let Ok(checked) = checked {
        assert!(
            checked.status.success(),
            "{}",
            String::from_utf8_lossy(&checked.stderr)
        );
    }
}

#[test]
fn man_prints_the_page_or_writes_one_per_command() {
    let page = stdout(&kro(&["man"]));
    assert!(page.contains(".TH kro 1"), "{page}");
    assert!(page.contains("Validate, generate and render"), "{page}");

    let dir = std::env::temp_dir().join(format!("kro-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    stdout(&kro(&["man", "--out-dir", &dir.display().to_string()]));
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .expect("the pages")
        .filter_map(|entry| Some(entry.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    pages.sort();
    let render = std::fs::read_to_string(dir.join("kro-render.1")).expect("kro-render.1");
    std::fs::remove_dir_all(&dir).expect("clean up");
    for page in [
        "kro.1",
        "kro-validate.1",
        "kro-generate-crd.1",
        "kro-render.1",
        "kro-completions.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "{page} not in {pages:?}");
    }
    assert!(render.contains("\\-\\-observed"), "{render}");
}
