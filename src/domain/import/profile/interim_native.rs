//! Interim native-profile mapping used until the full profile module lands.

use super::{FieldError, ListingRow, MapOptions, MappingError, RowOutcome};

pub(super) struct Native {
    columns: Vec<(usize, &'static str)>,
    key_index: usize,
    key_name: String,
    headers: Vec<String>,
    default_currency: Option<String>,
}

fn normalise(h: &str) -> String {
    h.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

const NATIVE: [&str; 11] = [
    "sku",
    "title",
    "description",
    "price",
    "currency",
    "quantity",
    "status",
    "condition",
    "category",
    "listing_number",
    "end_date",
];

pub(super) fn from_headers(
    headers: &[String],
    options: &MapOptions,
) -> Result<(Native, Vec<String>), MappingError> {
    let mut columns = Vec::new();
    let mut unknown = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let n = normalise(h).replace(' ', "_");
        match NATIVE.iter().find(|c| **c == n) {
            Some(c) => columns.push((i, *c)),
            None => unknown.push(h.clone()),
        }
    }
    let key_index = match &options.key_column {
        Some(k) => headers.iter().position(|h| normalise(h) == normalise(k)).ok_or_else(|| MappingError {
            message: format!("--key {k}: no such column; the header has: {}", headers.join(", ")),
        })?,
        None => columns
            .iter()
            .find(|(_, c)| *c == "sku")
            .map(|(i, _)| *i)
            .ok_or_else(|| MappingError {
                message: format!(
                    "no key column: the native layout needs a `sku` column (or choose one with --key COLUMN); the header has: {}",
                    headers.join(", ")
                ),
            })?,
    };
    Ok((
        Native {
            key_name: headers[key_index].clone(),
            columns,
            key_index,
            headers: headers.to_vec(),
            default_currency: options.default_currency.clone(),
        },
        unknown,
    ))
}

fn err(col: usize, headers: &[String], reason: String) -> FieldError {
    FieldError {
        column: Some(col + 1),
        column_name: headers.get(col).cloned(),
        reason,
    }
}

impl Native {
    pub(super) fn key_name(&self) -> &str {
        &self.key_name
    }

    pub(super) fn map(&self, fields: &[&str]) -> RowOutcome {
        let mut row = ListingRow::default();
        let mut errors = Vec::new();
        let key = fields.get(self.key_index).map(|s| s.trim()).unwrap_or("");
        if key.is_empty() {
            errors.push(err(
                self.key_index,
                &self.headers,
                format!(
                    "the key column {} is empty; importdesk never invents a key (choose another key column with --key COLUMN)",
                    self.key_name
                ),
            ));
        } else if key.chars().count() > 200 {
            errors.push(err(
                self.key_index,
                &self.headers,
                "the key is longer than 200 characters".into(),
            ));
        }
        row.sku = key.to_string();
        for &(i, col) in &self.columns {
            let raw = fields.get(i).map(|s| s.trim()).unwrap_or("");
            let value = (!raw.is_empty()).then(|| raw.to_string());
            let too_long = |limit: usize| raw.chars().count() > limit;
            match col {
                "title" if too_long(500) => {
                    errors.push(err(i, &self.headers, "longer than 500 characters".into()))
                }
                "title" => row.title = value,
                "description" if too_long(100_000) => errors.push(err(
                    i,
                    &self.headers,
                    "longer than 100000 characters".into(),
                )),
                "description" => row.description = value,
                "price" => match value.as_deref().map(parse_price).transpose() {
                    Ok(p) => row.price = p,
                    Err(e) => errors.push(err(i, &self.headers, e)),
                },
                "currency" => match value {
                    Some(v) if v.len() == 3 && v.chars().all(|c| c.is_ascii_alphabetic()) => {
                        row.currency = Some(v.to_uppercase())
                    }
                    Some(v) => errors.push(err(
                        i,
                        &self.headers,
                        format!("{v:?} is not an ISO 4217 currency code"),
                    )),
                    None => {}
                },
                "quantity" => match value.as_deref().map(str::parse::<i64>).transpose() {
                    Ok(Some(q)) if q < 0 => {
                        errors.push(err(i, &self.headers, format!("negative quantity {q}")))
                    }
                    Ok(Some(q)) if q > i32::MAX as i64 => {
                        errors.push(err(i, &self.headers, "quantity too large".into()))
                    }
                    Ok(q) => row.quantity = q.map(|q| q as i32),
                    Err(_) => errors.push(err(
                        i,
                        &self.headers,
                        format!("{raw:?} is not a whole number"),
                    )),
                },
                "status" => match value.as_deref().map(|s| s.to_lowercase()) {
                    Some(s) if ["active", "inactive", "ended", "draft"].contains(&s.as_str()) => {
                        row.status = Some(s)
                    }
                    Some(s) => errors.push(err(
                        i,
                        &self.headers,
                        format!("unknown status {s:?} (expected active, inactive, ended or draft)"),
                    )),
                    None => {}
                },
                "condition" => row.condition = value,
                "category" => row.category = value,
                "listing_number" => row.listing_number = value,
                "end_date" => match value.as_deref().map(parse_date).transpose() {
                    Ok(d) => row.end_date = d,
                    Err(e) => errors.push(err(i, &self.headers, e)),
                },
                _ => {}
            }
        }
        if row.currency.is_none() {
            row.currency = self.default_currency.clone().map(|c| c.to_uppercase());
        }
        if errors.is_empty() {
            RowOutcome::Listing(row)
        } else {
            RowOutcome::Rejected(errors)
        }
    }
}

fn parse_price(s: &str) -> Result<String, String> {
    let t = s
        .trim_start_matches(['$', '£', '€'])
        .trim()
        .replace(',', "");
    let valid = !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        && t.matches('.').count() <= 1
        && !t.starts_with('.');
    if !valid {
        return Err(format!("{s:?} is not a price"));
    }
    Ok(t)
}

fn parse_date(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(d.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    Err(format!("{s:?} is not a date (expected ISO 8601)"))
}
