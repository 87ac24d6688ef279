//! importdesk: imports sellers' listing CSV files into PostgreSQL, keeps the
//! import history and rolls back the most recent import safely.
//!
//! Layers: `db` owns connections, the embedded cluster, migrations and SQL;
//! `domain` holds import, rollback, history and audit (no terminal code);
//! `cli` parses arguments and prints results.

pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod logging;
pub mod private_files;
pub mod text;
pub mod tui;
