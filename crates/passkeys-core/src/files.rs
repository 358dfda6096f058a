//! Private files and directories: the user's state directory, 0700 directories, 0600 files
//! written atomically, and reads that refuse symbolic links and other users' files (issue 12
//! item 7). Used by token storage, the inventory, profiles and the software authenticator.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The user's state directory for this app: `$PASSKEYS_STATE_DIR`, else the platform's
/// state (Linux) or local data directory.
pub fn state_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PASSKEYS_STATE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let dirs =
        directories::ProjectDirs::from("dev", "passkey-enroll", "passkeys").ok_or_else(|| {
            Error::Config("cannot find your home directory; set PASSKEYS_STATE_DIR".into())
        })?;
    Ok(dirs
        .state_dir()
        .unwrap_or_else(|| dirs.data_local_dir())
        .to_path_buf())
}

/// Creates `dir` (and parents) readable by the owner only.
///
/// An existing `dir` must belong to this user; if it is writable by group or others (another
/// local user could swap the files in it), it is tightened to 0700 (issue 12 item 7). A
/// directory of another user is refused, saying why.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    secure_dir(dir)?;
    // Below the state directory, every level up to it is checked too: a world-writable state
    // directory would let anyone swap `tokens/` or `locks/` for their own.
    if let Ok(state) = state_dir() {
        if dir != state && dir.starts_with(&state) {
            for ancestor in dir.ancestors().skip(1) {
                secure_dir(ancestor)?;
                if ancestor == state {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Checks that `dir` belongs to this user and tightens it to 0700 when group or others may
/// write to it.
fn secure_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let meta = std::fs::metadata(dir)?;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "the directory {} belongs to another user (uid {}), so private files are not kept there; use a directory of your own (e.g. set PASSKEYS_STATE_DIR)",
                    dir.display(),
                    meta.uid()
                ),
            ));
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o022 != 0 {
            tracing::warn!(
                "{} was writable by other users (mode {mode:o}); tightened to 0700",
                dir.display()
            );
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Opens `path` for reading without following a symbolic link, and checks that it is a
/// regular file of this user: token, inventory, profile and software-authenticator files must
/// not be a link planted by someone else (issue 12 item 7). `Ok(None)` when there is no file.
pub fn open_private_file(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    nofollow(&mut options);
    match options.open(path) {
        Ok(file) => {
            check_own_regular_file(&file, path)?;
            Ok(Some(file))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(explain_symlink(e, path)),
    }
}

/// Reads `path` with [`open_private_file`]'s checks. `Ok(None)` when there is no file.
pub fn read_private_file(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let Some(mut file) = open_private_file(path)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Adds O_NOFOLLOW (and O_CLOEXEC) to `options` on Unix.
pub fn nofollow(options: &mut std::fs::OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC;
        #[allow(clippy::cast_possible_wrap)]
        options.custom_flags(flags.bits() as i32);
    }
    #[cfg(not(unix))]
    let _ = options;
}

/// An open error from [`nofollow`] that is a symbolic link, said in words.
pub fn explain_symlink(e: std::io::Error, path: &Path) -> std::io::Error {
    #[cfg(unix)]
    {
        let is_link = std::fs::symlink_metadata(path)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        if is_link {
            return std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} is a symbolic link; private files are never followed through links (another user could point it elsewhere). Remove the link",
                    path.display()
                ),
            );
        }
    }
    let _ = path;
    e
}

/// Checks that an opened file is a regular file owned by this user.
pub fn check_own_regular_file(file: &std::fs::File, path: &Path) -> std::io::Result<()> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} belongs to another user (uid {}); refusing to use it. Remove it",
                    path.display(),
                    meta.uid()
                ),
            ));
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (temp file in the same directory, then rename), with
/// mode 0600 on Unix. The rename replaces a symbolic link at `path` rather than writing
/// through it; the directory is checked by [`create_private_dir`].
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
