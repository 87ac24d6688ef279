//! The domain: import, rollback, history and audit. Nothing here knows about
//! terminals; the CLI and the console call these functions.

pub mod actor;
pub mod audit;
pub mod history;
pub mod identity;
pub mod import;
pub mod listings;
pub mod roles;
pub mod rollback;
pub mod seller;
pub mod stop;

/// A cancellation that remembers why (the history of an import says it).
pub use stop::{Cancel, StopCause};
/// Stops a running import or rollback: it rolls back and changes nothing.
pub use tokio_util::sync::CancellationToken;
