//! `kro completions SHELL` and `kro man`: shell completions and manual
//! pages generated from the same clap definitions that parse the command
//! line, so that they can never disagree with it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::Shell;

/// Print a shell's completion script for `kro`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kro completions bash > /etc/bash_completion.d/kro\n  kro completions zsh > \"${fpath[1]}/_kro\"\n  kro completions fish > ~/.config/fish/completions/kro.fish"
)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

/// Print the manual page of `kro` (roff), or write one page per command.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `kro.1` and a page for each command (`kro-validate.1`,
    /// `kro-generate-crd.1`, ...) into this directory, instead of `kro.1`
    /// to standard output.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Writes the completion script of `command` for the shell asked.
pub fn completions(args: &CompletionsArgs, mut command: clap::Command) {
    let name = command.get_name().to_owned();
    clap_complete::generate(args.shell, &mut command, name, &mut std::io::stdout());
}

/// Writes the manual page(s) of `command`.
pub fn man(args: &ManArgs, mut command: clap::Command) -> Result<()> {
    command.build();
    match &args.out_dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .context("write the manual page")?;
            out.flush().context("write the manual page")
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
            write_pages(dir, &command)
        }
    }
}

/// A page for `command` (built: its subcommands carry their display
/// names, `kro-generate-crd`) and one for each subcommand, the file named
/// after the display name.
fn write_pages(dir: &Path, command: &clap::Command) -> Result<()> {
    let page = clap_mangen::Man::new(command.clone());
    let file = dir.join(page.get_filename());
    page.generate_to(dir)
        .with_context(|| format!("write {}", file.display()))?;
    for sub in command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
    {
        write_pages(dir, sub)?;
    }
    Ok(())
}
