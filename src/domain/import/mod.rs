//! Importing a listing CSV file (SPEC §3).

pub mod profile;
