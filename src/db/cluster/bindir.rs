//! Where the machine's PostgreSQL server programs are.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use color_eyre::eyre::{Result, bail};

/// A server's bin folder has both: a folder with only one of them (a client
/// package's `pg_ctl` wrapper, say) would fail later with a worse error.
fn has_server_tools(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

/// Finds `initdb` and `pg_ctl`: `IMPORTDESK_PG_BINDIR`, then `PATH`, then
/// `pg_config --bindir`, then the newest `/usr/lib/postgresql/*/bin`.
pub fn find_server_bindir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("IMPORTDESK_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        if has_server_tools(&dir) {
            return Ok(dir);
        }
        bail!(
            "IMPORTDESK_PG_BINDIR={} has no initdb and pg_ctl",
            dir.display()
        );
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_server_tools(&dir) {
                // Resolve symlinks so `postgres` is found beside the real binaries.
                let real = dir.join("pg_ctl").canonicalize()?;
                return Ok(real.parent().map(Path::to_path_buf).unwrap_or(dir));
            }
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server_tools(&dir) {
            return Ok(dir);
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_server_tools(&bin).then_some((version, bin))
        })
        .collect();
    candidates.sort();
    if let Some((_, dir)) = candidates.pop() {
        return Ok(dir);
    }
    bail!(
        "no PostgreSQL server binaries (initdb, pg_ctl) were found on PATH, via pg_config, \
         or under /usr/lib/postgresql/*/bin.\n\
         Install the server (Debian/Ubuntu: apt-get install postgresql), \
         point IMPORTDESK_PG_BINDIR at its bin directory, \
         or use an existing server with --database-url / DATABASE_URL / PGHOST."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bin_folder_needs_both_initdb_and_pg_ctl() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_server_tools(dir.path()));
        fs::write(dir.path().join("initdb"), "").unwrap();
        assert!(!has_server_tools(dir.path()), "initdb alone");
        fs::remove_file(dir.path().join("initdb")).unwrap();
        fs::write(dir.path().join("pg_ctl"), "").unwrap();
        assert!(!has_server_tools(dir.path()), "pg_ctl alone");
        fs::write(dir.path().join("initdb"), "").unwrap();
        assert!(has_server_tools(dir.path()));
    }
}
