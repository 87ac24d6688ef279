//! The listing fields an import reads from files and writes to `listings`,
//! in one table: it makes the staging table, the COPY column list, the
//! merge's column lists and the columns a rollback restores. A new field is
//! one row here, one column in a migration and one member of `ListingRow`.

use serde::Serialize;

/// A listing field: the key (`sku`) and the data an import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Sku,
    Title,
    Description,
    Price,
    Currency,
    Quantity,
    Status,
    Condition,
    Category,
    ListingNumber,
    EndDate,
}

/// How one field is stored and merged.
pub struct FieldSpec {
    pub field: Field,
    /// The column in `listings` (and the native CSV header).
    pub column: &'static str,
    /// Its type in the staging table (the text COPY sends is parsed as this).
    pub staging_type: &'static str,
    /// An empty value keeps the listing's current one on update (status is
    /// NOT NULL; a currency may come from a price symbol on some rows only).
    pub empty_keeps_current: bool,
    /// What a new listing gets when the value is empty.
    pub default_on_insert: Option<&'static str>,
}

const fn spec(field: Field, column: &'static str, staging_type: &'static str) -> FieldSpec {
    FieldSpec {
        field,
        column,
        staging_type,
        empty_keeps_current: false,
        default_on_insert: None,
    }
}

/// Every field, in COPY order (the key first). Indexed by `Field as usize`.
pub const FIELDS: [FieldSpec; 11] = [
    spec(Field::Sku, "sku", "text NOT NULL"),
    spec(Field::Title, "title", "text"),
    spec(Field::Description, "description", "text"),
    spec(Field::Price, "price", "numeric"),
    FieldSpec {
        empty_keeps_current: true,
        ..spec(Field::Currency, "currency", "text")
    },
    spec(Field::Quantity, "quantity", "integer"),
    FieldSpec {
        empty_keeps_current: true,
        default_on_insert: Some("'active'"),
        ..spec(Field::Status, "status", "text")
    },
    spec(Field::Condition, "condition", "text"),
    spec(Field::Category, "category", "text"),
    spec(Field::ListingNumber, "listing_number", "text"),
    spec(Field::EndDate, "end_date", "timestamptz"),
];

impl Field {
    pub fn spec(self) -> &'static FieldSpec {
        &FIELDS[self as usize]
    }

    /// The column in `listings`, which is also the native CSV header.
    pub fn name(self) -> &'static str {
        self.spec().column
    }

    /// Every field, key first.
    pub fn all() -> impl Iterator<Item = Field> {
        FIELDS.iter().map(|s| s.field)
    }

    /// The fields an import writes besides the key, in COPY order.
    pub fn data() -> impl Iterator<Item = Field> {
        Field::all().filter(|f| *f != Field::Sku)
    }
}

/// `CREATE TEMP TABLE import_staging (line, then every field)`.
pub(super) fn create_staging() -> String {
    let columns: String = FIELDS
        .iter()
        .map(|s| format!(",\n        {} {}", s.column, s.staging_type))
        .collect();
    format!(
        "CREATE TEMP TABLE import_staging (\n        line bigint NOT NULL{columns}\n     ) ON COMMIT DROP"
    )
}

/// `COPY import_staging (line, every field) FROM STDIN`.
pub(super) fn copy_staging() -> String {
    let columns: Vec<&str> = FIELDS.iter().map(|s| s.column).collect();
    format!(
        "COPY import_staging (line, {}) FROM STDIN",
        columns.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_indexed_by_field() {
        for (i, s) in FIELDS.iter().enumerate() {
            assert_eq!(s.field as usize, i, "{}", s.column);
        }
        assert_eq!(Field::data().count(), FIELDS.len() - 1);
        assert_eq!(Field::ListingNumber.name(), "listing_number");
    }

    #[test]
    fn staging_and_copy_list_every_field_in_order() {
        let ddl = create_staging();
        assert!(ddl.contains("line bigint NOT NULL,\n        sku text NOT NULL,"));
        assert!(ddl.contains("end_date timestamptz\n     ) ON COMMIT DROP"));
        assert_eq!(
            copy_staging(),
            "COPY import_staging (line, sku, title, description, price, currency, quantity, \
             status, condition, category, listing_number, end_date) FROM STDIN"
        );
    }
}
