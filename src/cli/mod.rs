//! Command-line entry point: parses arguments, opens the database, runs one
//! command and maps its outcome to an exit code ([`CliError::exit`]).

pub mod args;
mod db_cmd;
mod history_cmd;
mod import_cmd;
pub mod output;
mod progress;
mod rollback_cmd;

use std::process::ExitCode;

use clap::Parser;
use color_eyre::Report;
use color_eyre::eyre::WrapErr;

pub use args::{Cli, Command};

use crate::db::{Database, Selection, Target};
use crate::domain::import::ImportError;
use crate::domain::rollback::RollbackError;

/// The exit codes (README, `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Error = 1,
    Usage = 2,
    RollbackRefused = 3,
    ImportRejected = 4,
}

/// Why a command did not succeed.
#[derive(Debug)]
pub enum CliError {
    Import(ImportError),
    Rollback(RollbackError),
    /// An expected, explained failure of the command itself.
    Refused {
        exit: Exit,
        message: String,
    },
    /// Anything unexpected.
    Other(Report),
}

pub type CliResult<T> = Result<T, CliError>;

impl From<Report> for CliError {
    fn from(e: Report) -> Self {
        CliError::Other(e)
    }
}

impl From<ImportError> for CliError {
    fn from(e: ImportError) -> Self {
        CliError::Import(e)
    }
}

impl From<RollbackError> for CliError {
    fn from(e: RollbackError) -> Self {
        CliError::Rollback(e)
    }
}

impl CliError {
    /// The one mapping from failures to exit codes.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Rollback(RollbackError::Refused(_)) => Exit::RollbackRefused,
            CliError::Refused { exit, .. } => *exit,
            CliError::Import(ImportError::InvalidSeller(_)) => Exit::Usage,
            CliError::Import(ImportError::SellerBusy { .. } | ImportError::Failed(_))
            | CliError::Rollback(RollbackError::Failed(_))
            | CliError::Other(_) => Exit::Error,
        }
    }

    pub fn message(&self) -> String {
        match self {
            CliError::Import(e) => e.to_string(),
            CliError::Rollback(e) => e.to_string(),
            CliError::Refused { message, .. } => message.clone(),
            CliError::Other(e) => format!("{e:#}"),
        }
    }

    /// The one JSON document `--json` prints: a rollback's refusal in full,
    /// else `{"error": message}`.
    pub fn json(&self) -> serde_json::Value {
        let error = || serde_json::json!({ "error": self.message() });
        match self {
            CliError::Rollback(RollbackError::Refused(r)) => {
                serde_json::to_value(r).unwrap_or_else(|_| error())
            }
            _ => error(),
        }
    }
}

pub fn main() -> ExitCode {
    // `importdesk history | head` must end quietly, like any Unix tool.
    // SAFETY: setting a signal disposition before any thread is started.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    // Whatever importdesk creates is its owner's alone (folders 0700, files 0600).
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { Exit::Usage as u8 } else { 0 });
        }
    };
    let json = wants_json(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("importdesk: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Error as u8);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(err) => {
            if json {
                println!("{}", output::terminal_safe_json(&err.json().to_string()));
            } else {
                eprintln!("importdesk: {}", output::sanitize_multiline(&err.message()));
            }
            ExitCode::from(err.exit() as u8)
        }
    }
}

fn wants_json(cli: &Cli) -> bool {
    use args::DbCommand;
    match &cli.command {
        Some(Command::Import(a)) => a.json,
        Some(Command::History(a)) => a.json,
        Some(Command::Show(a)) => a.json,
        Some(Command::Rollback(a)) => a.json,
        Some(Command::Audit(a)) => match &a.command {
            Some(args::AuditCommand::Prune { json, .. }) => *json,
            None => a.json,
        },
        Some(Command::Db(
            DbCommand::Migrate { json } | DbCommand::Status { json } | DbCommand::Roles { json },
        )) => *json,
        _ => false,
    }
}

pub fn selection(cli: &Cli) -> Selection {
    Selection {
        database_url_flag: cli.database_url.clone(),
        data_dir: cli.data_dir.clone(),
    }
}

/// Text output starts with who and where; JSON output is one document.
async fn header_unless(db: &Database, json: bool) -> color_eyre::Result<()> {
    if json {
        return Ok(());
    }
    output::print_header(db).await
}

async fn run(cli: Cli) -> CliResult<Exit> {
    // These need no database.
    match &cli.command {
        Some(Command::Completions { shell }) => return Ok(completions(*shell)),
        Some(Command::Man { out_dir }) => return Ok(man_pages(out_dir.as_deref())?),
        _ => {}
    }
    let json = wants_json(&cli);
    let target = Target::select(&selection(&cli))?;
    // Commands that write no files work without it; the others say why not.
    let files_dir = crate::db::target::files_dir(&target, cli.data_dir.as_deref())
        .map_err(|e| format!("{e:#}"));
    let _log_guard = files_dir.as_deref().ok().and_then(crate::logging::init);
    let files = || {
        files_dir.clone().map_err(|why| {
            color_eyre::eyre::eyre!(
                "no data directory for importdesk's files ({why}); pass --data-dir"
            )
        })
    };
    tracing::info!(command = ?cli.command, target = %target.url, "importdesk started");

    match cli.command {
        Some(Command::Db(cmd)) => Ok(db_cmd::run(target, cmd).await?),
        Some(Command::Demo) => {
            let files = files()?;
            let db = open_migrated(target).await?;
            crate::demo::load_if_empty(&db, &files).await?;
            open_console(db, files).await
        }
        None => {
            let files = files()?;
            let db = open_migrated(target).await?;
            open_console(db, files).await
        }
        Some(Command::Import(args)) => {
            let files = files()?;
            let db = open_migrated(target).await?;
            header_unless(&db, args.json).await?;
            import_cmd::run(&db, args, files).await
        }
        Some(Command::History(args)) => {
            let db = open_migrated(target).await?;
            header_unless(&db, args.json).await?;
            Ok(history_cmd::history(&db, args).await?)
        }
        Some(Command::Show(args)) => {
            let db = open_migrated(target).await?;
            header_unless(&db, args.json).await?;
            history_cmd::show(&db, args).await
        }
        Some(Command::Audit(args)) => {
            let db = open_migrated(target).await?;
            header_unless(&db, json).await?;
            Ok(history_cmd::audit(&db, args).await?)
        }
        Some(Command::Rollback(args)) => {
            let db = open_migrated(target).await?;
            header_unless(&db, args.json).await?;
            rollback_cmd::run(&db, args).await
        }
        Some(Command::Completions { .. } | Command::Man { .. }) => unreachable!("handled above"),
    }
}

fn completions(shell: args::ShellArg) -> Exit {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let shell = match shell {
        args::ShellArg::Bash => Shell::Bash,
        args::ShellArg::Zsh => Shell::Zsh,
        args::ShellArg::Fish => Shell::Fish,
    };
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "importdesk",
        &mut std::io::stdout(),
    );
    Exit::Success
}

/// The man pages, generated from the same argument definitions as `--help`
/// (docs/man/ holds them; a test keeps them equal).
fn man_pages(out_dir: Option<&std::path::Path>) -> color_eyre::Result<Exit> {
    use clap::CommandFactory;
    use std::io::Write;
    match out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(Cli::command(), dir)?;
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            std::io::stdout().write_all(&out)?;
        }
    }
    Ok(Exit::Success)
}

/// The console needs a terminal; without one (a script, a pipe) say so
/// instead of drawing into the void.
async fn open_console(db: Database, files: std::path::PathBuf) -> CliResult<Exit> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        db_cmd::print_overview(&db).await?;
        return Err(CliError::Refused {
            exit: Exit::Usage,
            message:
                "the console needs a terminal; use the commands (importdesk --help) from scripts"
                    .into(),
        });
    }
    crate::tui::run(db, files).await?;
    Ok(Exit::Success)
}

/// Opens the database and applies pending migrations (every command needs
/// the current schema; applying is a no-op when up to date).
pub async fn open_migrated(target: Target) -> color_eyre::Result<Database> {
    let db = Database::open(target).await?;
    if !crate::db::migrate::is_current(&db).await? {
        crate::db::migrate::migrate(&db).await.wrap_err(
            "the database schema is not up to date and could not be migrated; \
             run `importdesk db migrate` as the database owner",
        )?;
    }
    Ok(db)
}
