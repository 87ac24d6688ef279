//! The command line. Every console action is also scriptable.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::import::{PlanFingerprint, ProfileKind};
use crate::domain::rollback::ConflictMode;

#[derive(Debug, Parser)]
#[command(
    name = "importdesk",
    version,
    about = "Import sellers' listing CSV files into PostgreSQL, review the history, roll back safely.",
    long_about = None,
    after_help = "Without a command, importdesk opens the console.\n\
                  Exit codes: 0 success, 1 error, 2 usage, 3 refused (a rollback, a listing restore, or an import whose reviewed plan changed), 4 import rejected;\n\
                  ended by a signal (SIGTERM, Ctrl-C, hang-up): the work is cancelled, nothing changed, and the process ends by that signal."
)]
pub struct Cli {
    /// PostgreSQL connection URI or libpq connection string (else DATABASE_URL,
    /// then the libpq variables PGHOST/PGDATABASE/PGSERVICE/..., then the database
    /// named in ~/.config/importdesk/config.toml or /etc/importdesk/config.toml,
    /// else the embedded private cluster).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// Directory for importdesk's files and the embedded cluster
    /// (default: ~/.local/share/importdesk, or /var/lib/importdesk as root).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start (or reuse) the database, load the demo data, open the console.
    Demo,
    /// Import a listing CSV file for one seller.
    Import(ImportArgs),
    /// List past imports, newest first.
    History(HistoryArgs),
    /// Show one import in detail.
    Show(ShowArgs),
    /// Roll back the most recent import of a seller.
    Rollback(RollbackArgs),
    /// Show the audit log, newest first (with --edits: hand edits too).
    Audit(AuditArgs),
    /// Browse a seller's listings.
    Listings(ListingsArgs),
    /// One listing's timeline (every change, newest first), or restore its
    /// values from before a change.
    Listing(ListingArgs),
    /// Manage the database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Print a shell completion script: importdesk completions bash > /usr/share/bash-completion/completions/importdesk
    Completions {
        #[arg(value_enum)]
        shell: ShellArg,
    },
    /// Print the man page (roff), or write one page per command into a directory.
    Man {
        /// Write importdesk.1, importdesk-import.1, importdesk-db-migrate.1, ... here.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file to import.
    pub file: PathBuf,
    /// The seller whose listings the file holds.
    #[arg(long)]
    pub seller: String,
    /// Column layout of the file.
    #[arg(long, default_value = "auto", value_parser = profile_parser())]
    pub profile: ProfileChoice,
    /// Use this column (any header) as the listing key.
    #[arg(long, value_name = "COLUMN")]
    pub key: Option<String>,
    /// Currency for prices when the file has no currency column (ISO 4217).
    #[arg(long, value_name = "CODE")]
    pub currency: Option<String>,
    /// Show what would change, change nothing; prints the plan's fingerprint.
    #[arg(long)]
    pub dry_run: bool,
    /// Import only if the file and the plan are still those of the dry run
    /// that printed this fingerprint; else refuse (exit 3), changing nothing.
    #[arg(long, value_name = "PLAN")]
    pub expect: Option<PlanFingerprint>,
    /// Import the valid rows and record the rejected ones (with a rejects CSV).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Print one JSON document on stdout and nothing else.
    #[arg(long)]
    pub json: bool,
}

/// `--profile`: `auto` (`None`: detect from the header) or a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileChoice(pub Option<ProfileKind>);

/// `auto`, then the profile registry's names.
fn profile_parser() -> impl TypedValueParser<Value = ProfileChoice> {
    let auto = PossibleValue::new("auto").help("detect the profile from the header");
    let kinds = ProfileKind::all()
        .iter()
        .filter_map(|k| k.to_possible_value());
    PossibleValuesParser::new(std::iter::once(auto).chain(kinds))
        .map(|name| ProfileChoice(ProfileKind::from_str(&name, false).ok()))
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(long)]
    pub seller: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub id: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The import to roll back.
    #[arg(required_unless_present = "last", conflicts_with = "last")]
    pub id: Option<i64>,
    /// Roll back the seller's most recent applied import.
    #[arg(long, requires = "seller")]
    pub last: bool,
    #[arg(long)]
    pub seller: Option<String>,
    /// Show what the rollback would do; change nothing.
    #[arg(long)]
    pub preview: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// What to do with listings changed after the import.
    #[arg(long, value_enum, default_value_t = ConflictMode::Skip)]
    pub on_conflict: ConflictMode,
    /// Refuse unless the plan still has this fingerprint (from --preview).
    #[arg(long, value_name = "PLAN")]
    pub expect: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Also show hand edits from the change log (changes no import or
    /// rollback made: psql, other applications, single-listing restores).
    #[arg(long)]
    pub edits: bool,
    /// Only this seller.
    #[arg(long)]
    pub seller: Option<String>,
    /// Only this listing (hand edits of it, restores of it).
    #[arg(long)]
    pub sku: Option<String>,
    /// Only what this database role did.
    #[arg(long)]
    pub role: Option<String>,
    /// From this date (YYYY-MM-DD, midnight UTC, or an RFC 3339 time).
    #[arg(long, value_name = "DATE", value_parser = parse_cutoff)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Before this date (exclusive).
    #[arg(long, value_name = "DATE", value_parser = parse_cutoff)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListingsArgs {
    /// The seller whose listings to show.
    #[arg(long)]
    pub seller: String,
    /// Only listings whose SKU or title contains this text (any case).
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Order: by SKU, or by last change (newest first).
    #[arg(long, value_enum, default_value_t = SortArg::Sku)]
    pub sort: SortArg,
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Start after this listing (the `next` value of the previous page).
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Active,
    Inactive,
    Ended,
    Draft,
}

impl StatusArg {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusArg::Active => "active",
            StatusArg::Inactive => "inactive",
            StatusArg::Ended => "ended",
            StatusArg::Draft => "draft",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    Sku,
    Changed,
}

#[derive(Debug, Args)]
pub struct ListingArgs {
    /// The listing's SKU.
    pub sku: String,
    #[arg(long)]
    pub seller: String,
    /// Restore the values the listing had before this change (a number from
    /// its timeline); a deleted listing is created again.
    #[arg(long, value_name = "CHANGE")]
    pub restore_before: Option<i64>,
    /// Show what the restore would change; change nothing.
    #[arg(long, requires = "restore_before", conflicts_with = "yes")]
    pub preview: bool,
    /// Do not ask for confirmation.
    #[arg(long, requires = "restore_before")]
    pub yes: bool,
    /// Refuse unless the listing is still as previewed (the preview's fingerprint).
    #[arg(long, value_name = "PLAN", requires = "restore_before")]
    pub expect: Option<String>,
    /// Timeline: how many changes.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Timeline: only changes older than this one (the next page).
    #[arg(long, value_name = "CHANGE", conflicts_with = "restore_before")]
    pub before: Option<i64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Delete before-images no rollback can use any more: those of rolled-back
    /// imports, and (with --completed-before) of completed imports that
    /// finished before a date, which then can no longer be rolled back. The
    /// audit log itself is never pruned. Support only.
    Prune {
        /// Also retire completed imports that finished before this date
        /// (YYYY-MM-DD, midnight UTC, or an RFC 3339 time).
        #[arg(long, value_name = "DATE", value_parser = parse_cutoff)]
        completed_before: Option<chrono::DateTime<chrono::Utc>>,
        /// Say what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

fn parse_cutoff(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.to_utc());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"))
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (a no-op when up to date).
    Migrate {
        #[arg(long)]
        json: bool,
    },
    /// Where the database is, whether it runs, which migration is applied.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Start the embedded cluster.
    ///
    /// Waits up to IMPORTDESK_START_TIMEOUT seconds (default 60) for the server to accept
    /// connections, then stops it and fails; a crash recovery on a slow disk may need more.
    Start,
    /// Stop the embedded cluster.
    Stop,
    /// Print a libpq URI for the database in use: psql "$(importdesk db url)".
    Url,
    /// Let an existing login role act as one seller (sees and rolls back only its own data).
    GrantSeller {
        role: String,
        seller: String,
        /// The role's statement_timeout in this database (PostgreSQL interval, 0 leaves it alone):
        /// a forgotten query cannot hold locks for ever.
        #[arg(long, value_name = "INTERVAL", default_value = "10min")]
        statement_timeout: String,
        /// The role's idle_in_transaction_session_timeout in this database (0 leaves it alone):
        /// a transaction left open in psql ends by itself.
        #[arg(long, value_name = "INTERVAL", default_value = "5min")]
        idle_in_transaction_timeout: String,
    },
    /// Let an existing login role act as support (every seller).
    GrantSupport { role: String },
    /// Offboard a seller login: no longer a seller role, mapping removed (audited).
    RevokeSeller { role: String },
    /// Offboard a support login: no longer acts for every seller (audited).
    RevokeSupport { role: String },
    /// Who may act for which seller.
    Roles {
        #[arg(long)]
        json: bool,
    },
}
