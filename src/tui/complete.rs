//! Tab completion of file paths (run by the worker: it reads directories).

use std::path::PathBuf;

use super::action::Completion;

/// `~/x` → `$HOME/x`.
pub fn expand_tilde(path: &str) -> PathBuf {
    if path == "~" {
        return dirs::home_dir().unwrap_or_else(|| PathBuf::from("~"));
    }
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    PathBuf::from(path)
}

/// Completes the last component of `input` against its directory, like a
/// shell: the longest common prefix of the matching names; directories end
/// in `/`; hidden files only when the prefix starts with a dot.
pub fn complete(input: &str) -> Completion {
    let (dir_part, prefix) = match input.rfind('/') {
        Some(i) => (&input[..=i], &input[i + 1..]),
        None if input == "~" => ("~/", ""),
        None => ("", input),
    };
    let dir = if dir_part.is_empty() {
        PathBuf::from(".")
    } else {
        expand_tilde(dir_part)
    };
    let mut done = Completion {
        input: input.to_string(),
        ..Completion::default()
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            done.note = Some(format!(
                "cannot read {}: {e}",
                crate::text::sanitize(&dir.to_string_lossy())
            ));
            return done;
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with(prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
                return None;
            }
            let is_dir = std::fs::metadata(e.path())
                .map(|m| m.is_dir())
                .unwrap_or(false);
            Some(if is_dir { format!("{name}/") } else { name })
        })
        .collect();
    names.sort();
    match names.len() {
        0 => {
            done.note = Some(format!(
                "nothing here starts with {:?}",
                crate::text::sanitize(prefix)
            ));
        }
        1 => done.replacement = Some(format!("{dir_part}{}", names[0])),
        _ => {
            let mut common: String = names[0].clone();
            for n in &names[1..] {
                let len = common
                    .chars()
                    .zip(n.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a.len_utf8())
                    .sum();
                common.truncate(len);
            }
            done.replacement = Some(format!("{dir_part}{common}"));
            let total = names.len();
            names.truncate(50);
            if total > 50 {
                names.push(format!("(+{} more)", total - 50));
            }
            done.candidates = names;
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_like_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("acme-oct.csv"), "").unwrap();
        std::fs::write(dir.path().join("acme-nov.csv"), "").unwrap();
        std::fs::create_dir(dir.path().join("archive")).unwrap();
        std::fs::write(dir.path().join(".hidden"), "").unwrap();
        let base = format!("{}/", dir.path().display());
        let c = complete(&format!("{base}ac"));
        assert_eq!(c.replacement.as_deref(), Some(&*format!("{base}acme-")));
        assert_eq!(c.candidates, vec!["acme-nov.csv", "acme-oct.csv"]);
        let c = complete(&format!("{base}ar"));
        assert_eq!(c.replacement.as_deref(), Some(&*format!("{base}archive/")));
        assert!(c.candidates.is_empty());
        let c = complete(&format!("{base}zz"));
        assert!(c.replacement.is_none() && c.note.is_some());
    }
}
