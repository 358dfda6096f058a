//! `passkeys generate-docs DIR` (only with `--features docs`, used by scripts/package.sh):
//! writes the man pages and the shell completions from the clap definitions, so they can never
//! drift from the real options. The shipped binary is built without this feature.
//!
//! Layout written under DIR (the same as under /usr/share in the packages):
//! `man/man1/passkeys.1`, `man/man1/passkeys-<command>.1`, …;
//! `bash-completion/completions/passkeys`, `zsh/vendor-completions/_passkeys`,
//! `fish/vendor_completions.d/passkeys.fish`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap_complete::Shell;

/// `Some(exit code)` when the command line is `passkeys generate-docs DIR` (done here, before
/// clap parses anything), `None` otherwise.
pub fn generate_if_asked(cmd: impl FnOnce() -> clap::Command) -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != "generate-docs" {
        return None;
    }
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: passkeys generate-docs DIR");
        return Some(ExitCode::from(2));
    };
    match generate(cmd(), &dir) {
        Ok(()) => Some(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("generate-docs: {}: {e}", dir.display());
            Some(ExitCode::from(1))
        }
    }
}

fn generate(cmd: clap::Command, dir: &Path) -> std::io::Result<()> {
    let man1 = dir.join("man/man1");
    std::fs::create_dir_all(&man1)?;
    clap_mangen::generate_to(cmd.clone(), &man1)?;
    for (shell, sub, file) in [
        (Shell::Bash, "bash-completion/completions", "passkeys"),
        (Shell::Zsh, "zsh/vendor-completions", "_passkeys"),
        (Shell::Fish, "fish/vendor_completions.d", "passkeys.fish"),
    ] {
        let out = dir.join(sub);
        std::fs::create_dir_all(&out)?;
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "passkeys", &mut buf);
        std::fs::write(out.join(file), buf)?;
    }
    Ok(())
}
