//! The demo's temporary folder, which never outlives its process for long.
//!
//! A [`tempfile::TempDir`] is removed when it is dropped, but not when its process is killed
//! (a WebDriver session ending the app, Ctrl-C on a stuck process, a crash). So each demo folder
//! holds an exclusive lock on its `.owner` file for as long as it lives (`File::try_lock`,
//! released by the operating system when the process ends, however it ends), and creating a
//! demo folder first removes the folders whose lock nobody holds any more: left-overs of demos
//! that ended without cleaning up.

use std::fs::File;
use std::path::{Path, PathBuf};

/// Folder names start with this (in the system's temporary directory).
pub const PREFIX: &str = "passkey-enroll-demo-";
const OWNER: &str = ".owner";

/// A demo folder: removed when dropped, or by the next demo if this process dies first.
#[derive(Debug)]
pub struct DemoFolder {
    dir: tempfile::TempDir,
    /// Holds the lock (released on drop or at process end).
    _owner: File,
}

impl DemoFolder {
    /// Creates a demo folder in the system's temporary directory, after removing abandoned ones.
    ///
    /// # Errors
    /// When the folder or its owner file cannot be created or locked.
    pub fn create() -> std::io::Result<Self> {
        Self::create_in(&std::env::temp_dir())
    }

    /// As [`DemoFolder::create`], in `parent`.
    ///
    /// # Errors
    /// When the folder or its owner file cannot be created or locked.
    pub fn create_in(parent: &Path) -> std::io::Result<Self> {
        let removed = sweep(parent);
        if removed > 0 {
            tracing::debug!(
                "removed {removed} abandoned demo folder(s) in {}",
                parent.display()
            );
        }
        let dir = tempfile::Builder::new().prefix(PREFIX).tempdir_in(parent)?;
        let owner = File::create(dir.path().join(OWNER))?;
        owner.try_lock().map_err(std::io::Error::other)?;
        Ok(Self { dir, _owner: owner })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes the demo folders in `parent` whose owner lock is free (their process has ended);
/// returns how many. Folders of running demos, entries that are not plain directories (a
/// symlink planted by someone else) and folders this user may not remove are left alone.
fn sweep(parent: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return 0;
    };
    let abandoned: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(PREFIX))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| abandoned(p))
        .collect();
    abandoned
        .iter()
        .filter(|p| std::fs::remove_dir_all(p).is_ok())
        .count()
}

/// True when nobody holds the folder's owner lock. A folder without an owner file is being
/// created right now (or by an older version): left alone.
fn abandoned(dir: &Path) -> bool {
    match File::open(dir.join(OWNER)) {
        Ok(f) => f.try_lock().is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_removed_when_dropped() {
        let parent = tempfile::tempdir().unwrap();
        let folder = DemoFolder::create_in(parent.path()).unwrap();
        let path = folder.path().to_path_buf();
        assert!(path.join(OWNER).is_file());
        drop(folder);
        assert!(!path.exists());
    }

    #[test]
    fn abandoned_folders_are_removed_and_live_ones_kept() {
        let parent = tempfile::tempdir().unwrap();
        let live = DemoFolder::create_in(parent.path()).unwrap();
        // What a killed demo leaves: the folder and its owner file, the lock gone with the
        // process (here: never taken), and a file inside.
        let dead = parent.path().join(format!("{PREFIX}killed"));
        std::fs::create_dir(&dead).unwrap();
        File::create(dead.join(OWNER)).unwrap();
        std::fs::write(dead.join("inventory.json"), b"{}").unwrap();
        // A folder being created (no owner file yet) and a symlink are not touched.
        let young = parent.path().join(format!("{PREFIX}young"));
        std::fs::create_dir(&young).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&young, parent.path().join(format!("{PREFIX}link"))).unwrap();

        let next = DemoFolder::create_in(parent.path()).unwrap();
        assert!(!dead.exists(), "the abandoned folder is removed");
        assert!(live.path().exists(), "a running demo's folder is kept");
        assert!(young.exists());
        #[cfg(unix)]
        assert!(parent.path().join(format!("{PREFIX}link")).exists());
        assert_ne!(next.path(), live.path());
    }
}
