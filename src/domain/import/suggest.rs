//! What a file's header and first rows suggest for the import's options
//! before its dry run (the console's form fills its Key field with it):
//! the profile `auto` detects, and a key column when the profile's own is
//! missing or empty in the first rows and the profile names another (an
//! Etsy export without SKUs: its titles). Reads the header and at most
//! [`SAMPLE_ROWS`] records; never the whole file.

use std::path::Path;

use serde::Serialize;

use super::profile::{MapOptions, Mapping, ProfileKind};
use super::reader::CsvFile;

/// Records read to tell whether the key column has values.
pub const SAMPLE_ROWS: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// The profile the header maps to (detected when none was chosen).
    pub profile: ProfileKind,
    pub detected: bool,
    /// A key column (`--key`) for a file whose own key column is missing
    /// or empty in the first rows, as the file writes its header.
    pub key: Option<String>,
    /// What was found, in one sentence (the console shows it).
    pub note: String,
}

/// Reads `path`'s header and first rows (blocking file IO: call it off the
/// console's loop). An unreadable file or a header no profile fits is an
/// error in words.
pub fn suggest(path: &Path, requested: Option<ProfileKind>) -> Result<Suggestion, String> {
    let mut file = CsvFile::open(path).map_err(|e| e.to_string())?;
    let (profile, detected) = match requested {
        Some(k) => (k, false),
        None => (Mapping::detect(&file.headers).map_err(|e| e.message)?, true),
    };
    let how = if detected {
        format!("{} layout (detected from the header)", profile.name())
    } else {
        format!("{} layout", profile.name())
    };
    let own_key = Mapping::from_headers(&file.headers, Some(profile), &MapOptions::default())
        .ok()
        .and_then(|m| m.key_column());
    let own_name = own_key.map(|c| file.headers[c].clone());
    if let Some(col) = own_key {
        for _ in 0..SAMPLE_ROWS {
            match file.next_record() {
                Ok(Some(r)) if r.fields.get(col).is_some_and(|v| !v.trim().is_empty()) => {
                    return Ok(Suggestion {
                        profile,
                        detected,
                        key: None,
                        note: format!("{how}; key: its {:?} column", file.headers[col]),
                    });
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
    let missing = match &own_name {
        Some(name) => format!("its {name:?} column is empty in the first rows"),
        None => "it has no key column of its own".to_string(),
    };
    Ok(match profile.key_fallback(&file.headers) {
        Some(key) => Suggestion {
            profile,
            detected,
            note: format!(
                "{how}; {missing}: key {key:?} suggested (each value must name one listing; \
                 type another column to change it)"
            ),
            key: Some(key),
        },
        None => Suggestion {
            profile,
            detected,
            key: None,
            note: format!("{how}; {missing}: type the column that identifies a listing"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn an_etsy_export_without_skus_suggests_its_titles() {
        let (_d, p) = file(
            "TITLE,DESCRIPTION,PRICE,CURRENCY_CODE,QUANTITY,TAGS,MATERIALS,SKU\n\
             Green ring,Handmade,6.15,EUR,3,ring,silver,\n",
        );
        let s = suggest(&p, None).unwrap();
        assert_eq!((s.profile, s.detected), (ProfileKind::Etsy, true));
        assert_eq!(s.key.as_deref(), Some("TITLE"));
        assert!(s.note.contains("\"SKU\" column is empty"), "{}", s.note);
    }

    #[test]
    fn an_etsy_export_with_skus_keeps_its_own_key() {
        let (_d, p) = file(
            "TITLE,DESCRIPTION,PRICE,CURRENCY_CODE,QUANTITY,TAGS,MATERIALS,SKU\n\
             Green ring,Handmade,6.15,EUR,3,ring,silver,\n\
             Blue ring,Handmade,6.15,EUR,3,ring,silver,R-2\n",
        );
        let s = suggest(&p, None).unwrap();
        assert_eq!(s.key, None, "{}", s.note);
        assert!(s.note.contains("key: its \"SKU\" column"), "{}", s.note);
    }

    #[test]
    fn without_a_fallback_nothing_is_suggested_and_a_bad_file_says_why() {
        let (_d, p) = file("sku,title,price,currency\n,Lamp,1.00,EUR\n");
        let s = suggest(&p, None).unwrap();
        assert_eq!((s.profile, s.key.clone()), (ProfileKind::Native, None));
        assert!(s.note.contains("type the column"), "{}", s.note);
        let (_d, p) = file("");
        assert!(suggest(&p, None).unwrap_err().contains("empty"));
    }
}
