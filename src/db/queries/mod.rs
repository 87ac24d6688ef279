//! Every SQL statement the domain runs, as named constants (or builders over
//! fixed column lists), next to the typed function that runs it and reads
//! its rows by column name into a record. Untrusted values are always bind
//! parameters.

pub mod audit;
pub mod history;
pub mod identity;
pub mod import;
pub mod import_direct;
pub mod import_review;
pub mod listing;
pub mod listings;
pub mod locks;
pub mod roles;
pub mod rollback;
