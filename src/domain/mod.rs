//! The domain: import, rollback, history and audit. Nothing here knows about
//! terminals; the CLI and the console call these functions.

pub mod actor;
pub mod audit;
pub mod history;
pub mod identity;
pub mod import;
pub mod roles;
pub mod rollback;
pub mod seller;
