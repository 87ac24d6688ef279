//! Files and folders importdesk creates are private to their owner (folders
//! 0700, files 0600) and are never reached through a symbolic link: another
//! local user can neither read sellers' rejected rows or the log, nor plant a
//! link that makes importdesk (possibly running as root) write, chown or
//! chmod something outside its data directory.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::unistd::{Gid, Uid};

/// Folders importdesk creates.
pub const DIR_MODE: u32 = 0o700;
/// Files importdesk creates.
pub const FILE_MODE: u32 = 0o600;

/// `path` made absolute against the current directory (no symlink resolved).
pub fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path)
        .wrap_err_with(|| format!("cannot make {} an absolute path", path.display()))
}

/// Refuses a folder above `dir` that someone other than root or the caller
/// could rename or fill (owned by another user, or writable by others
/// without the sticky bit, like /tmp has): they could swap the data
/// directory for a link at any moment.
pub fn check_ancestors(dir: &Path) -> Result<()> {
    let me = Uid::effective().as_raw();
    let my_group = Gid::effective().as_raw();
    for ancestor in dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(ancestor) else {
            continue;
        };
        let mode = meta.mode();
        let sticky = mode & 0o1000 != 0;
        let foreign_owner = meta.uid() != 0 && meta.uid() != me;
        let others_write = mode & 0o002 != 0 && !sticky;
        let group_write = mode & 0o020 != 0 && !sticky && meta.gid() != 0 && meta.gid() != my_group;
        if foreign_owner || others_write || group_write {
            bail!(
                "{} is not a safe place for importdesk's data: {} (owner uid {}, mode {:o}) can be \
                 changed by another user. Choose a data directory whose parent folders only you \
                 or root can write (--data-dir).",
                dir.display(),
                ancestor.display(),
                meta.uid(),
                mode & 0o7777
            );
        }
    }
    Ok(())
}

/// Makes sure `dir` is a real folder (not a link) owned by the caller with
/// exactly `mode`, creating it (and missing parents, with the same mode) if
/// needed.
pub fn ensure_dir(dir: &Path, mode: u32) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent()
                && !parent.as_os_str().is_empty()
                && fs::symlink_metadata(parent).is_err()
            {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(mode)
                    .create(parent)
                    .wrap_err_with(|| format!("cannot create {}", parent.display()))?;
            }
            match fs::DirBuilder::new().mode(mode).create(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e).wrap_err_with(|| format!("cannot create {}", dir.display()));
                }
            }
        }
        Err(e) => return Err(e).wrap_err_with(|| format!("cannot inspect {}", dir.display())),
    }
    let meta = fs::symlink_metadata(dir)?;
    refuse_link_or_foreign(dir, &meta, true)?;
    if meta.mode() & 0o7777 != mode {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode))
            .wrap_err_with(|| format!("cannot make {} private", dir.display()))?;
    }
    Ok(())
}

fn refuse_link_or_foreign(path: &Path, meta: &fs::Metadata, want_dir: bool) -> Result<()> {
    if meta.file_type().is_symlink() {
        bail!(
            "{} is a symbolic link: importdesk never follows links in its data directory. \
             Remove it (or choose another --data-dir).",
            path.display()
        );
    }
    if want_dir && !meta.is_dir() {
        bail!("{} is not a folder", path.display());
    }
    if !want_dir && !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let me = Uid::effective().as_raw();
    if meta.uid() != me {
        bail!(
            "{} belongs to uid {}, not to the user running importdesk (uid {me}): \
             importdesk does not use or change another user's files. Choose another --data-dir.",
            path.display(),
            meta.uid()
        );
    }
    Ok(())
}

fn nofollow() -> i32 {
    (OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC).bits()
}

/// Opens `path` as `options` say, creating it 0600 and never through a
/// link, and makes sure it is a regular file of ours, 0600.
fn open_private(path: &Path, options: &mut OpenOptions) -> Result<File> {
    let file = options
        .mode(FILE_MODE)
        .custom_flags(nofollow())
        .open(path)
        .map_err(|e| link_error(path, e))?;
    private_file(path, file)
}

/// Opens `path` for appending, creating it if needed.
pub fn open_append(path: &Path) -> Result<File> {
    open_private(path, OpenOptions::new().append(true).create(true))
}

/// Creates `path`, which must not exist yet, for writing.
pub fn create_new(path: &Path) -> Result<File> {
    open_private(path, OpenOptions::new().write(true).create_new(true))
}

/// Opens (or creates) a lock file.
pub fn open_lock_file(path: &Path) -> Result<File> {
    open_private(
        path,
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false),
    )
}

/// Reads a file that another user (the `postgres` account) may control,
/// without following a link planted there.
pub fn read_no_follow(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(nofollow())
        .open(path)?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

fn link_error(path: &Path, e: std::io::Error) -> color_eyre::Report {
    // O_NOFOLLOW on a link fails with ELOOP.
    if e.raw_os_error() == Some(nix::libc::ELOOP) {
        return color_eyre::eyre::eyre!(
            "{} is a symbolic link: importdesk never follows links in its data directory. \
             Remove it (or choose another --data-dir).",
            path.display()
        );
    }
    color_eyre::Report::new(e).wrap_err(format!("cannot open {}", path.display()))
}

/// Checks an opened file is a regular file of ours and makes it 0600.
fn private_file(path: &Path, file: File) -> Result<File> {
    let meta = file.metadata()?;
    refuse_link_or_foreign(path, &meta, false)?;
    if meta.mode() & 0o7777 != FILE_MODE {
        file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    }
    Ok(file)
}

/// The process holding a `flock` on `file`, from /proc/locks: (pid, its command, its uid).
pub fn flock_holder(file: &File) -> Option<(i32, String, Option<u32>)> {
    let meta = file.metadata().ok()?;
    let dev = meta.dev();
    let id = format!(
        "{:02x}:{:02x}:{}",
        nix::sys::stat::major(dev),
        nix::sys::stat::minor(dev),
        meta.ino()
    );
    let locks = fs::read_to_string("/proc/locks").ok()?;
    let pid: i32 = locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" ("->" marks waiters).
        (fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&id.as_str()))
            .then(|| fields.get(4)?.parse().ok())
            .flatten()
    })?;
    let comm = fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    let uid = fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid());
    Some((pid, comm, uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_files_are_private_and_links_are_refused() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a/b");
        ensure_dir(&dir, DIR_MODE).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o7777, 0o700);
        let file = dir.join("log");
        drop(open_append(&file).unwrap());
        assert_eq!(fs::metadata(&file).unwrap().mode() & 0o7777, 0o600);

        let target = base.path().join("elsewhere");
        fs::write(&target, "x").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = open_append(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        let err = ensure_dir(&link, DIR_MODE).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "x");
    }
}
