//! Why work was stopped before its end. The history must say who or what
//! stopped an import: a dropped SSH connection is not the seller pressing
//! Esc, and a support engineer reading "cancelled by alice" would ask her
//! about a decision she never made.

use std::sync::{Arc, OnceLock};

use nix::sys::signal::Signal;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// What stopped the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCause {
    /// The user asked (Esc and its question, quitting the console).
    Requested,
    /// SIGINT: Ctrl-C at a command's terminal, or `kill -INT`.
    Interrupt,
    /// SIGTERM: a supervisor, a shutdown, `kill`.
    Terminated,
    /// The terminal went away: SIGHUP, a dropped SSH connection, a killed
    /// tmux pane, the end of the console's input.
    HungUp,
}

impl StopCause {
    /// The cause a signal stands for (SIGHUP and anything else: hung up).
    pub fn of_signal(sig: Signal) -> Self {
        match sig {
            Signal::SIGINT => Self::Interrupt,
            Signal::SIGTERM => Self::Terminated,
            _ => Self::HungUp,
        }
    }

    /// How the history says it, `actor` being who ran the work.
    pub fn describe(self, actor: &str) -> String {
        match self {
            Self::Requested => format!("cancelled by {actor}"),
            Self::Interrupt => format!("cancelled with Ctrl-C (SIGINT) in the session of {actor}"),
            Self::Terminated => {
                format!("cancelled by SIGTERM (the process of {actor} was told to end)")
            }
            Self::HungUp => format!(
                "stopped because the terminal of {actor} hung up (a lost connection or a closed window)"
            ),
        }
    }
}

/// A cancellation that remembers its first cause: later causes (the
/// console's shutdown after a hang-up already cancelled the work) do not
/// overwrite it.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    token: CancellationToken,
    cause: Arc<OnceLock<StopCause>>,
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels for `cause` (the first cause given is the one kept).
    pub fn cancel(&self, cause: StopCause) {
        let _ = self.cause.set(cause);
        self.token.cancel();
    }

    /// The cause, once cancelled.
    pub fn cause(&self) -> Option<StopCause> {
        self.cause.get().copied()
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The plain token, for work that does not record why it stopped.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cause_is_kept() {
        let cancel = Cancel::new();
        assert_eq!(cancel.cause(), None);
        assert!(!cancel.is_cancelled());
        cancel.cancel(StopCause::HungUp);
        cancel.cancel(StopCause::Requested);
        assert!(cancel.is_cancelled());
        assert!(cancel.token().is_cancelled());
        assert_eq!(cancel.cause(), Some(StopCause::HungUp));
        // Clones share the cancellation and its cause.
        let twin = cancel.clone();
        assert_eq!(twin.cause(), Some(StopCause::HungUp));
    }

    #[test]
    fn each_cause_says_who_or_what() {
        assert_eq!(StopCause::of_signal(Signal::SIGINT), StopCause::Interrupt);
        assert_eq!(StopCause::of_signal(Signal::SIGTERM), StopCause::Terminated);
        assert_eq!(StopCause::of_signal(Signal::SIGHUP), StopCause::HungUp);
        assert_eq!(StopCause::Requested.describe("bob"), "cancelled by bob");
        assert!(StopCause::Interrupt.describe("bob").contains("Ctrl-C"));
        assert!(StopCause::Terminated.describe("bob").contains("SIGTERM"));
        let hung = StopCause::HungUp.describe("bob");
        assert!(hung.contains("hung up") && !hung.contains("cancelled by"));
    }
}
