//! The data directory and the cluster's folder inside it: created private,
//! owned by the server's user, never through a link, and refused when
//! `postgresql.conf` or the socket path cannot hold it.

use std::fs;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use color_eyre::eyre::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::unistd::{Uid, User};

use super::{Cluster, MAX_SOCKET_PATH, PORT};
use crate::private_files;

impl Cluster {
    pub(super) fn prepare_data_dir(&self) -> Result<()> {
        let socket = self.socket_dir().join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            bail!(
                "the data directory path is too long for a Unix socket ({} bytes, at most {}): {}\n\
                 Choose a shorter one with --data-dir.",
                socket.as_os_str().len(),
                MAX_SOCKET_PATH,
                socket.display()
            );
        }
        private_files::check_ancestors(&self.data_dir)?;
        private_files::ensure_dir(&self.data_dir, self.data_dir_mode()).wrap_err_with(|| {
            format!(
                "cannot create the data directory {} (choose another with --data-dir)",
                self.data_dir.display()
            )
        })?;
        if let Some(user) = &self.run_as {
            check_reachable_by(&self.data_dir, user)?;
        }
        let pgdata = self.pgdata();
        match fs::symlink_metadata(&pgdata) {
            Err(_) => fs::create_dir(&pgdata)
                .wrap_err_with(|| format!("cannot create {}", pgdata.display()))?,
            Ok(meta) if meta.file_type().is_symlink() || !meta.is_dir() => bail!(
                "{} is not a folder but {}: importdesk never follows links in its data \
                 directory. Remove it (or choose another --data-dir).",
                pgdata.display(),
                if meta.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "a file"
                }
            ),
            Ok(_) => {}
        }
        // Change the folder through a descriptor opened without following
        // links: what is chowned is the folder just checked, nothing else.
        let dir = fs::OpenOptions::new()
            .read(true)
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC).bits())
            .open(&pgdata)
            .wrap_err_with(|| format!("cannot open {}", pgdata.display()))?;
        let meta = dir.metadata()?;
        let owner = self
            .run_as
            .as_ref()
            .map(|u| u.uid.as_raw())
            .unwrap_or_else(|| Uid::effective().as_raw());
        if meta.uid() != owner {
            if meta.uid() != Uid::effective().as_raw() {
                bail!(
                    "{} belongs to uid {}: importdesk does not take over another user's folder. \
                     Remove it (or choose another --data-dir).",
                    pgdata.display(),
                    meta.uid()
                );
            }
            if let Some(user) = &self.run_as {
                nix::unistd::fchown(&dir, Some(user.uid), Some(user.gid))
                    .wrap_err_with(|| format!("cannot give {} to postgres", pgdata.display()))?;
            }
        }
        if meta.mode() & 0o7777 != 0o700 {
            dir.set_permissions(fs::Permissions::from_mode(0o700))
                .wrap_err_with(|| format!("cannot set permissions on {}", pgdata.display()))?;
        }
        Ok(())
    }
}

/// As root, the server runs as `postgres`, which must be able to traverse every
/// folder above the cluster (a clone under /root is not reachable).
fn check_reachable_by(dir: &Path, user: &User) -> Result<()> {
    let dir = dir.canonicalize()?;
    for ancestor in dir.ancestors() {
        let meta = fs::metadata(ancestor)?;
        let mode = meta.mode();
        let ok = if meta.uid() == user.uid.as_raw() {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid.as_raw() {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !ok {
            bail!(
                "importdesk runs as root, so its PostgreSQL runs as the `postgres` user, \
                 which cannot reach {} (mode {:o}).\n\
                 Choose a data directory it can reach, e.g. --data-dir /var/lib/importdesk, \
                 or run importdesk as a normal user.",
                ancestor.display(),
                mode & 0o7777
            );
        }
    }
    Ok(())
}

/// Refuses a data directory `postgresql.conf` cannot hold safely: the socket
/// folder is a comma-separated, quote-aware list there (a comma or quote
/// would split or end it), and a backslash or line break would be read as
/// an escape or a new setting.
pub(super) fn check_config_safe(data_dir: &Path) -> Result<()> {
    let Some(text) = data_dir.to_str() else {
        bail!(
            "the data directory {} is not valid UTF-8: PostgreSQL's configuration cannot name it. \
             Choose another with --data-dir.",
            data_dir.display()
        );
    };
    if let Some(bad) = text
        .chars()
        .find(|c| matches!(c, '\'' | '"' | '\\' | ',') || crate::text::is_dangerous(*c))
    {
        bail!(
            "the data directory \"{}\" contains {}, which PostgreSQL's configuration cannot hold \
             safely (quotes, backslashes, commas and control characters are refused). \
             Choose another with --data-dir.",
            crate::text::sanitize(text),
            match bad {
                ',' => "a comma".to_string(),
                '\'' | '"' => "a quote".to_string(),
                '\\' => "a backslash".to_string(),
                c => format!(
                    "the character {}",
                    crate::text::short_quote(&c.to_string(), 1)
                ),
            }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::{Gid, getgid};

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Someone else in this process's group.
    fn group_member() -> User {
        let mut user = User::from_uid(Uid::current()).unwrap().unwrap();
        user.uid = Uid::from_raw(user.uid.as_raw() + 54_321);
        user.gid = Gid::from_raw(getgid().as_raw());
        user
    }

    /// Someone neither the owner nor in the group.
    fn outsider() -> User {
        let mut user = group_member();
        user.gid = Gid::from_raw(getgid().as_raw() + 54_321);
        user
    }

    /// The server's user (`postgres` under root) is usually neither the
    /// owner nor in the group of the folders above the cluster: the others'
    /// search bit alone decides, and a folder without it is named.
    #[test]
    fn a_folder_is_reachable_by_others_through_the_others_search_bit_alone() {
        let top = tempfile::tempdir().unwrap();
        let inner = top.path().join("inner");
        fs::create_dir(&inner).unwrap();
        chmod(top.path(), 0o701);
        chmod(&inner, 0o701);
        check_reachable_by(&inner, &outsider()).unwrap();

        chmod(&inner, 0o770);
        let err = check_reachable_by(&inner, &outsider()).unwrap_err();
        assert!(
            err.to_string().contains(&inner.display().to_string()),
            "names the folder: {err}"
        );
    }

    #[test]
    fn a_folder_is_reachable_through_its_groups_search_bit_alone() {
        let top = tempfile::tempdir().unwrap();
        let inner = top.path().join("inner");
        fs::create_dir(&inner).unwrap();
        chmod(top.path(), 0o710);
        chmod(&inner, 0o710);
        check_reachable_by(&inner, &group_member()).unwrap();

        chmod(&inner, 0o701);
        let err = check_reachable_by(&inner, &group_member()).unwrap_err();
        assert!(
            err.to_string().contains(&inner.display().to_string()),
            "names the folder: {err}"
        );
    }

    #[test]
    fn a_clusters_data_directory_is_private_and_as_root_only_traversable() {
        let top = tempfile::tempdir().unwrap();
        // As root the server's user must get through the folders above.
        chmod(top.path(), 0o711);
        let cluster = Cluster::new(top.path().join("data")).unwrap();
        cluster.prepare_data_dir().unwrap();
        let mode = fs::metadata(cluster.data_dir()).unwrap().mode() & 0o7777;
        let expected = if Uid::effective().is_root() {
            0o711
        } else {
            0o700
        };
        assert_eq!(mode, expected, "mode {mode:o}");
    }

    #[test]
    fn a_folder_is_reachable_by_its_owner_through_the_owners_search_bit_alone() {
        let me = User::from_uid(Uid::current()).unwrap().unwrap();
        let top = tempfile::tempdir().unwrap();
        let inner = top.path().join("inner");
        fs::create_dir(&inner).unwrap();
        chmod(&inner, 0o100);
        let reachable = check_reachable_by(&inner, &me);
        chmod(&inner, 0o011);
        let refused = check_reachable_by(&inner, &me);
        chmod(&inner, 0o700);
        reachable.unwrap();
        let err = refused.unwrap_err();
        assert!(
            err.to_string().contains(&inner.display().to_string()),
            "names the folder: {err}"
        );
    }

    #[test]
    fn a_data_directory_with_a_quote_comma_backslash_or_control_character_is_refused() {
        check_config_safe(Path::new("/var/lib/importdesk data")).unwrap();
        for bad in [
            "/tmp/a'b",
            "/tmp/a\"b",
            "/tmp/a\\b",
            "/tmp/a,b",
            "/tmp/a\nb",
            "/tmp/a\u{1b}b",
        ] {
            let err = check_config_safe(Path::new(bad)).unwrap_err();
            assert!(
                err.to_string().contains("cannot hold safely"),
                "{bad:?}: {err}"
            );
        }
    }

    /// Where the cluster's folder goes, a file or a link is refused as what
    /// it is, before anything is opened through it.
    #[test]
    fn a_file_or_a_link_in_place_of_the_clusters_folder_is_refused_as_what_it_is() {
        let top = tempfile::tempdir().unwrap();
        chmod(top.path(), 0o711);
        let cluster = Cluster::new(top.path().join("data")).unwrap();
        cluster.prepare_data_dir().unwrap();
        let pgdata = cluster.pgdata();
        fs::remove_dir(&pgdata).unwrap();
        fs::write(&pgdata, "").unwrap();
        let err = cluster.prepare_data_dir().unwrap_err().to_string();
        assert!(err.contains("is not a folder but a file"), "{err}");

        fs::remove_file(&pgdata).unwrap();
        let elsewhere = top.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &pgdata).unwrap();
        let err = cluster.prepare_data_dir().unwrap_err().to_string();
        assert!(err.contains("is not a folder but a symbolic link"), "{err}");
    }
}
