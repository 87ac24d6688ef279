//! The signals that end importdesk's work early: SIGTERM, SIGINT (Ctrl-C
//! outside the console) and SIGHUP (the terminal hung up: a dropped SSH
//! connection, a killed tmux pane). Whoever listens cancels what runs (its
//! transaction rolls back), cleans up, and notes the signal; `cli::main`
//! then ends the process by that signal, as Unix tools do, so a shell or a
//! supervisor sees what happened (exit status 128 + its number).

use std::future::Future;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use color_eyre::eyre::Result;
use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};

use crate::domain::{Cancel, StopCause};

/// The signal that interrupted the command (0: none).
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

/// Listens for SIGTERM, SIGINT and SIGHUP from its creation on (their
/// default action, ending the process at once, no longer applies).
pub struct Interrupts {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Interrupts {
    pub fn new() -> Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next of the three signals; noted for [`interrupted`].
    pub async fn recv(&mut self) -> Signal {
        let sig = tokio::select! {
            _ = self.term.recv() => Signal::SIGTERM,
            _ = self.int.recv() => Signal::SIGINT,
            _ = self.hup.recv() => Signal::SIGHUP,
        };
        note(sig);
        sig
    }
}

/// Records that `sig` ended the command.
pub fn note(sig: Signal) {
    INTERRUPTED.store(sig as i32, Ordering::SeqCst);
}

/// The signal that ended the command, if one did.
pub fn interrupted() -> Option<Signal> {
    Signal::try_from(INTERRUPTED.load(Ordering::SeqCst)).ok()
}

/// Ends the process by `sig` with its default action (after the command
/// cleaned up); the exit status 128 + its number if that does not end it.
pub fn exit_by(sig: Signal) -> ! {
    use nix::sys::signal::{SigHandler, raise, signal};
    // SAFETY: restoring the default disposition; no handler code runs.
    unsafe {
        let _ = signal(sig, SigHandler::SigDfl);
    }
    let _ = raise(sig);
    std::process::exit(128 + sig as i32)
}

/// Runs `work` to its end, unless SIGTERM, SIGINT or SIGHUP arrives first:
/// then fires `cancel` with the signal as its cause and lets `work` wind
/// down (roll back, record), for `grace` at most. `None` when it did not end
/// in time.
pub async fn cancel_on_interrupt<T>(
    cancel: &Cancel,
    grace: Duration,
    work: impl Future<Output = T>,
) -> Result<Option<T>> {
    let mut interrupts = Interrupts::new()?;
    tokio::pin!(work);
    tokio::select! {
        done = &mut work => Ok(Some(done)),
        sig = interrupts.recv() => {
            cancel.cancel(StopCause::of_signal(sig));
            Ok(tokio::time::timeout(grace, work).await.ok())
        }
    }
}
