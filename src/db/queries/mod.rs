//! Every SQL statement the domain runs, as named constants (or builders over
//! fixed column lists). Untrusted values are always bind parameters.

pub mod audit;
pub mod history;
pub mod identity;
pub mod import;
pub mod locks;
pub mod roles;
pub mod rollback;
