//! The one key table: dispatch, the footer hints and the `?` overlay all
//! read [`BINDINGS`], so what the footer says is what the keys do. As in
//! k9s or lazygit, `Esc` and `q` close a popup or overlay, `q` on a screen
//! quits (asking first while work runs), `Ctrl-C` quits from everywhere,
//! text fields included, and `Ctrl-Z` suspends; no binding needs Alt.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where the keyboard focus is: which bindings apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctx {
    History,
    /// Typing the `/` filter.
    Filter,
    Detail,
    Audit,
    /// Typing the audit log's `/` filter.
    AuditFilter,
    /// The import form, focus on a choice or the button.
    Form,
    /// The import form, focus in a text field.
    FormText,
    /// The dry run's result: Cancel or Import.
    FormReview,
    /// A dry run or import is running.
    FormBusy,
    /// The import finished.
    FormDone,
    /// A seller's listings.
    Listings,
    /// Typing the listings' `/` filter.
    ListingsFilter,
    /// One listing's changes.
    Timeline,
    /// The restore popup, waiting for a decision.
    Restore,
    /// The restore popup is waiting for the database.
    RestoreBusy,
    /// The restore popup shows the result or a refusal.
    RestoreResult,
    /// The rollback plan, waiting for a decision.
    Popup,
    /// Typing the SKU to find (`/`) in the rollback plan or the dry run's review.
    FindSku,
    /// The popup is waiting for the database.
    PopupBusy,
    /// The popup shows a result, a refusal or why rollback is unavailable.
    PopupResult,
    /// A question before something that cannot be taken back (cancel the
    /// running import, quit while work runs).
    Confirm,
    /// The import was refused: what the dry run pinned changed.
    FormRefused,
    /// `v`: values in full.
    FullText,
    Help,
    TooSmall,
}

impl Ctx {
    /// Printable keys type text here (so `q` is a letter, `Ctrl-C` quits).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Ctx::Filter | Ctx::AuditFilter | Ctx::FormText | Ctx::ListingsFilter
        )
    }

    pub fn title(self) -> &'static str {
        match self {
            Ctx::History => "Import history",
            Ctx::Filter => "Filter",
            Ctx::Detail => "Import detail",
            Ctx::Audit => "Audit log",
            Ctx::AuditFilter => "Audit log filter",
            Ctx::Form | Ctx::FormText => "New import",
            Ctx::FormReview => "Dry run result",
            Ctx::FormBusy => "Import running",
            Ctx::FormDone => "Import result",
            Ctx::Listings => "Listings",
            Ctx::ListingsFilter => "Listings filter",
            Ctx::Timeline => "Listing timeline",
            Ctx::Restore => "Restore listing",
            Ctx::RestoreBusy => "Restore listing (working)",
            Ctx::RestoreResult => "Restore result",
            Ctx::Popup => "Rollback",
            Ctx::FindSku => "Find a SKU",
            Ctx::PopupBusy => "Rollback (working)",
            Ctx::PopupResult => "Rollback result",
            Ctx::Confirm => "Are you sure?",
            Ctx::FormRefused => "Import refused",
            Ctx::FullText => "In full",
            Ctx::Help => "Help",
            Ctx::TooSmall => "Terminal too small",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    Help,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Back,
    Filter,
    NewImport,
    Rollback,
    AuditLog,
    Refresh,
    /// Text editing keys (the key itself says which edit).
    Edit,
    /// Enter on the filter line.
    Apply,
    ClearInput,
    NextField,
    PrevField,
    /// Tab: complete the file path (next field elsewhere).
    Complete,
    /// ←/→ on a choice (profile), or between buttons.
    Left,
    Right,
    Toggle,
    NextTab,
    PrevTab,
    ToggleMode,
    /// Enter on the focused button or field.
    Activate,
    /// The listings of a seller.
    Listings,
    /// Sort by the other order.
    Sort,
    /// The selected change's diff, or the listing's values as of it.
    ToggleValues,
    /// Restore the listing's values from before the selected change.
    Restore,
    /// Suspend to the shell (`fg` brings the console back).
    Suspend,
    /// `v`: what is cut off, in full.
    FullText,
    /// `y`: copy the selected value (OSC 52).
    Copy,
    /// `t`: hide or show the fields of a diff that only moved a timestamp.
    HideTimes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn ch(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}

const fn k(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

impl Key {
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        if ev.modifiers.contains(KeyModifiers::ALT) {
            return false;
        }
        let ev_ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        if ev_ctrl != self.ctrl {
            return false;
        }
        match (self.code, ev.code) {
            // Terminals differ in the case they report with Ctrl.
            (KeyCode::Char(a), KeyCode::Char(b)) if self.ctrl => a.eq_ignore_ascii_case(&b),
            (a, b) => a == b,
        }
    }
}

pub struct Binding {
    pub keys: &'static [Key],
    /// The keys as the footer and help show them.
    pub label: &'static str,
    /// A word or two for the footer.
    pub name: &'static str,
    /// A sentence for the help overlay.
    pub help: &'static str,
    pub command: Command,
    pub contexts: Contexts,
    pub footer: bool,
}

/// Where a binding works.
#[derive(Debug, Clone, Copy)]
pub enum Contexts {
    In(&'static [Ctx]),
    /// Everywhere but these: a new context gets the binding too.
    AllBut(&'static [Ctx]),
}

impl Contexts {
    pub fn contains(&self, ctx: &Ctx) -> bool {
        match self {
            Contexts::In(list) => list.contains(ctx),
            Contexts::AllBut(list) => !list.contains(ctx),
        }
    }
}

use Contexts::{AllBut, In};
use Ctx::*;

const TEXT_FIELDS: &[Ctx] = &[Filter, AuditFilter, FormText, ListingsFilter];
const TEXT: Contexts = In(TEXT_FIELDS);
/// Popups and overlays: `Esc` and `q` close them, they never quit.
const LAYERS: &[Ctx] = &[
    Popup,
    PopupBusy,
    PopupResult,
    Restore,
    RestoreBusy,
    RestoreResult,
    FullText,
    Confirm,
    Help,
];
/// Where `q` quits: the screens, when not typing.
const SCREENS: Contexts = AllBut(&[
    Filter,
    AuditFilter,
    FormText,
    ListingsFilter,
    Popup,
    FindSku,
    PopupBusy,
    PopupResult,
    Restore,
    RestoreBusy,
    RestoreResult,
    FullText,
    Confirm,
    Help,
]);
/// Where only `Ctrl-C` quits: text fields and the layers above the screens.
const CTRL_C_ONLY: Contexts = In(&[
    Filter,
    AuditFilter,
    FormText,
    ListingsFilter,
    Popup,
    FindSku,
    PopupBusy,
    PopupResult,
    Restore,
    RestoreBusy,
    RestoreResult,
    FullText,
    Confirm,
    Help,
]);
const SCROLLS: Contexts = In(&[
    History,
    Detail,
    Audit,
    FormReview,
    FormDone,
    Popup,
    PopupResult,
    Listings,
    Timeline,
    Restore,
    RestoreResult,
    FullText,
    Help,
]);
/// The help key works everywhere but in text fields (F1 there), the help
/// itself and a too small terminal.
const HELP_AVAILABLE: Contexts = AllBut(&[
    Filter,
    AuditFilter,
    FormText,
    ListingsFilter,
    FindSku,
    Help,
    TooSmall,
]);

/// Every key binding, in footer priority order.
pub static BINDINGS: &[Binding] = &[
    // Moving around lists and scrolled text.
    Binding {
        keys: &[k(KeyCode::Up), ch('k'), k(KeyCode::Down), ch('j')],
        label: "↑↓",
        name: "move",
        help: "move the selection / scroll (also k and j)",
        command: Command::Down, // resolved per key below
        contexts: SCROLLS,
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::PageUp), k(KeyCode::PageDown)],
        label: "PgUp PgDn",
        name: "page",
        help: "one page up / down",
        command: Command::PageDown,
        contexts: SCROLLS,
        footer: false,
    },
    Binding {
        keys: &[ch('g'), k(KeyCode::Home), ch('G'), k(KeyCode::End)],
        label: "g G",
        name: "first/last",
        help: "first / last row (also Home and End)",
        command: Command::Bottom,
        contexts: SCROLLS,
        footer: false,
    },
    // Form fields.
    Binding {
        keys: &[k(KeyCode::Up), k(KeyCode::Down)],
        label: "↑↓",
        name: "field",
        help: "previous / next field",
        command: Command::NextField,
        contexts: In(&[Form, FormText]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Tab)],
        label: "Tab",
        name: "complete",
        help: "complete the file path (next field elsewhere)",
        command: Command::Complete,
        contexts: In(&[FormText, Form]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::BackTab)],
        label: "Shift-Tab",
        name: "previous field",
        help: "previous field",
        command: Command::PrevField,
        contexts: In(&[FormText, Form]),
        footer: false,
    },
    Binding {
        keys: &[k(KeyCode::Left), ch('h'), k(KeyCode::Right), ch('l')],
        label: "←→",
        name: "change",
        help: "change the profile (also h and l)",
        command: Command::Right,
        contexts: In(&[Form]),
        footer: true,
    },
    Binding {
        keys: &[ch(' ')],
        label: "Space",
        name: "toggle",
        help: "tick / untick the option",
        command: Command::Toggle,
        contexts: In(&[Form]),
        footer: false,
    },
    // The rollback popup.
    Binding {
        keys: &[k(KeyCode::Tab)],
        label: "Tab",
        name: "section",
        help: "next section: delete / restore / skip",
        command: Command::NextTab,
        contexts: In(&[Popup]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::BackTab)],
        label: "Shift-Tab",
        name: "previous section",
        help: "previous section",
        command: Command::PrevTab,
        contexts: In(&[Popup]),
        footer: false,
    },
    Binding {
        keys: &[ch('m')],
        label: "m",
        name: "conflicts",
        help: "conflict mode: skip changed listings, or block the whole rollback",
        command: Command::ToggleMode,
        contexts: In(&[Popup]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Left), ch('h'), k(KeyCode::Right), ch('l')],
        label: "←→",
        name: "button",
        help: "move between the buttons (the safe one is the default)",
        command: Command::Right,
        contexts: In(&[Popup, FormReview, FormRefused, Confirm, Restore]),
        footer: true,
    },
    // Enter, per context.
    Binding {
        keys: &[k(KeyCode::Enter)],
        label: "Enter",
        name: "open",
        help: "open the selected import",
        command: Command::Open,
        contexts: In(&[History, Audit, FormDone]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Enter)],
        label: "Enter",
        name: "timeline",
        help: "the selected listing's timeline: every change to it, newest first",
        command: Command::Open,
        contexts: In(&[Listings]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Enter)],
        label: "Enter",
        name: "apply",
        help: "apply the filter: seller:ID status:STATUS and words matching the SKU or title",
        command: Command::Apply,
        contexts: In(&[ListingsFilter]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Enter)],
        label: "Enter",
        name: "apply",
        help: "keep the filter (the list follows as you type); #ID opens that import",
        command: Command::Apply,
        contexts: In(&[Filter]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Enter)],
        label: "Enter",
        name: "apply",
        help: "keep the filter (the list follows as you type)",
        command: Command::Apply,
        contexts: In(&[AuditFilter]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Enter)],
        label: "Enter",
        name: "choose",
        help: "press the focused button / go to the next field",
        command: Command::Activate,
        contexts: In(&[
            Form,
            FormText,
            FormReview,
            FormRefused,
            Popup,
            PopupResult,
            Restore,
            RestoreResult,
            Confirm,
        ]),
        footer: true,
    },
    // Not a key: the digits typed into the popup's id field (listed so the
    // help says how a large rollback is confirmed).
    Binding {
        keys: &[],
        label: "0-9",
        name: "type the id",
        help: "a rollback of over 1,000 listings: type the import id, then choose Roll back",
        command: Command::Edit,
        contexts: In(&[Popup]),
        footer: false,
    },
    Binding {
        keys: &[ch('t')],
        label: "t",
        name: "times",
        help: "hide / show changes that only move a timestamp (updated_at) in diffs",
        command: Command::HideTimes,
        contexts: In(&[Popup, FormReview, FormDone, Timeline]),
        footer: true,
    },
    Binding {
        keys: &[ch('/')],
        label: "/",
        name: "find",
        help: "find a SKU (or its beginning) in this section; g and G: its first and last",
        command: Command::Filter,
        contexts: In(&[Popup]),
        footer: true,
    },
    Binding {
        keys: &[ch('/')],
        label: "/",
        name: "find",
        help: "find a SKU (or its beginning) among the updates; g and G: the first and last",
        command: Command::Filter,
        contexts: In(&[FormReview]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Enter)],
        label: "Enter",
        name: "find",
        help: "show the first SKU beginning with what is typed (capitals count)",
        command: Command::Apply,
        contexts: In(&[FindSku]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Esc)],
        label: "Esc",
        name: "cancel",
        help: "stop typing; the list stays where it was",
        command: Command::Back,
        contexts: In(&[FindSku]),
        footer: true,
    },
    Binding {
        keys: &[ch('/')],
        label: "/",
        name: "filter",
        help: "filter: seller:ID, status, since:DATE, sku:X, file words; #ID; listing:X",
        command: Command::Filter,
        contexts: In(&[History]),
        footer: true,
    },
    Binding {
        keys: &[ch('/')],
        label: "/",
        name: "filter",
        help: "filter the listings: seller:ID (support), status:STATUS, words in the SKU or title",
        command: Command::Filter,
        contexts: In(&[Listings]),
        footer: true,
    },
    Binding {
        keys: &[ch('/')],
        label: "/",
        name: "filter",
        help: "filter: seller:ID, actor:NAME, since:DATE, #ID (an import's entries), words",
        command: Command::Filter,
        contexts: In(&[Audit]),
        footer: true,
    },
    Binding {
        keys: &[ch('s')],
        label: "s",
        name: "sort",
        help: "sort by SKU or by last change",
        command: Command::Sort,
        contexts: In(&[Listings]),
        footer: true,
    },
    Binding {
        keys: &[ch('v')],
        label: "v",
        name: "values",
        help: "the selected change's field diff, or the listing's values as of it",
        command: Command::ToggleValues,
        contexts: In(&[Timeline]),
        footer: true,
    },
    Binding {
        keys: &[ch('r')],
        label: "r",
        name: "restore",
        help: "restore the listing's values from before the selected change (preview first)",
        command: Command::Restore,
        contexts: In(&[Timeline]),
        footer: true,
    },
    Binding {
        keys: &[ch('r')],
        label: "r",
        name: "rollback",
        help: "roll back the selected import (or say why it cannot be)",
        command: Command::Rollback,
        contexts: In(&[History, Detail]),
        footer: true,
    },
    Binding {
        keys: &[ch('i')],
        label: "i",
        name: "import",
        help: "new import: file, seller, profile; dry run first",
        command: Command::NewImport,
        contexts: In(&[History, Detail, Audit, FormDone]),
        footer: true,
    },
    Binding {
        keys: &[ch('a')],
        label: "a",
        name: "audit",
        help: "the audit log: who did what, when",
        command: Command::AuditLog,
        contexts: In(&[History, Detail]),
        footer: true,
    },
    Binding {
        keys: &[ch('v')],
        label: "v",
        name: "in full",
        help: "show in full what is cut off (paths, hashes, errors, reasons)",
        command: Command::FullText,
        contexts: In(&[
            History,
            Detail,
            Audit,
            FormReview,
            FormDone,
            Popup,
            PopupResult,
        ]),
        // The footers are full at 80 columns; `?` lists it.
        footer: false,
    },
    Binding {
        keys: &[ch('y')],
        label: "y",
        name: "copy",
        help: "copy the selected value to the clipboard (OSC 52)",
        command: Command::Copy,
        contexts: In(&[FullText]),
        footer: true,
    },
    Binding {
        keys: &[ch('v'), k(KeyCode::Enter)],
        label: "v Enter",
        name: "close",
        help: "close this view",
        command: Command::Back,
        contexts: In(&[FullText]),
        footer: false,
    },
    Binding {
        keys: &[ctrl('r'), k(KeyCode::F(5))],
        label: "Ctrl-R F5",
        name: "reload",
        help: "reload from the database",
        command: Command::Refresh,
        contexts: In(&[History, Detail, Audit, Listings, Timeline]),
        footer: false,
    },
    Binding {
        keys: &[k(KeyCode::Esc)],
        label: "Esc",
        name: "back",
        help: "back",
        command: Command::Back,
        contexts: In(&[
            Detail,
            Audit,
            Form,
            FormText,
            FormReview,
            FormRefused,
            FormDone,
            Filter,
            AuditFilter,
            Listings,
            ListingsFilter,
            Timeline,
        ]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Esc)],
        label: "Esc",
        name: "cancel",
        help: "cancel the dry run or import (asks first; nothing is changed)",
        command: Command::Back,
        contexts: In(&[FormBusy]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Esc), ch('q')],
        label: "Esc q",
        name: "close",
        help: "close this (never quits: Ctrl-C does)",
        command: Command::Back,
        contexts: In(LAYERS),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::Esc)],
        label: "Esc",
        name: "clear filter",
        help: "clear the filter",
        command: Command::Back,
        contexts: In(&[History, Audit]),
        footer: false,
    },
    Binding {
        keys: &[
            k(KeyCode::Left),
            k(KeyCode::Right),
            k(KeyCode::Home),
            k(KeyCode::End),
            k(KeyCode::Backspace),
            k(KeyCode::Delete),
        ],
        label: "←→ Bksp",
        name: "edit",
        help: "edit the text (Home, End, Delete too)",
        command: Command::Edit,
        contexts: TEXT,
        footer: false,
    },
    Binding {
        keys: &[ctrl('u')],
        label: "Ctrl-U",
        name: "clear",
        help: "clear the field",
        command: Command::ClearInput,
        contexts: TEXT,
        footer: false,
    },
    Binding {
        keys: &[ch('?'), k(KeyCode::F(1))],
        label: "?",
        name: "help",
        help: "this help (also F1)",
        command: Command::Help,
        contexts: HELP_AVAILABLE,
        footer: true,
    },
    // After help in the footer: shown when the terminal is wide enough.
    Binding {
        keys: &[ch('l')],
        label: "l",
        name: "listings",
        help: "a seller's listings (the selected import's, or your own)",
        command: Command::Listings,
        contexts: In(&[History]),
        footer: true,
    },
    Binding {
        keys: &[k(KeyCode::F(1))],
        label: "F1",
        name: "help",
        help: "help",
        command: Command::Help,
        contexts: In(&[Filter, AuditFilter, FormText, ListingsFilter, FindSku]),
        footer: false,
    },
    Binding {
        keys: &[ch('?'), k(KeyCode::Enter)],
        label: "? Enter",
        name: "close",
        help: "close the help",
        command: Command::Back,
        contexts: In(&[Help]),
        footer: false,
    },
    Binding {
        keys: &[ctrl('z')],
        label: "Ctrl-Z",
        name: "suspend",
        help: "suspend to the shell; fg brings the console back",
        command: Command::Suspend,
        contexts: AllBut(&[]),
        footer: false,
    },
    Binding {
        keys: &[ch('q'), ctrl('c')],
        label: "q",
        name: "quit",
        help: "quit (asks first while work runs)",
        command: Command::Quit,
        contexts: SCREENS,
        footer: true,
    },
    Binding {
        keys: &[ctrl('c')],
        label: "Ctrl-C",
        name: "quit",
        help: "quit, asking first while work runs",
        command: Command::Quit,
        contexts: CTRL_C_ONLY,
        footer: true,
    },
];

/// Which command `ev` means in `ctx`, if any.
pub fn lookup(ctx: Ctx, ev: &KeyEvent) -> Option<Command> {
    for b in BINDINGS.iter().filter(|b| b.contexts.contains(&ctx)) {
        if let Some(key) = b.keys.iter().find(|key| key.matches(ev)) {
            return Some(resolve(b.command, key.code));
        }
    }
    None
}

/// Grouped bindings name the direction by the key pressed.
fn resolve(command: Command, code: KeyCode) -> Command {
    match (command, code) {
        (Command::Down, KeyCode::Up | KeyCode::Char('k')) => Command::Up,
        (Command::Down, _) => Command::Down,
        (Command::PageDown, KeyCode::PageUp) => Command::PageUp,
        (Command::PageDown, _) => Command::PageDown,
        (Command::Bottom, KeyCode::Char('g') | KeyCode::Home) => Command::Top,
        (Command::Bottom, _) => Command::Bottom,
        (Command::NextField, KeyCode::Up) => Command::PrevField,
        (Command::NextField, _) => Command::NextField,
        (Command::Right, KeyCode::Left | KeyCode::Char('h')) => Command::Left,
        (Command::Right, _) => Command::Right,
        (c, _) => c,
    }
}

/// The footer hints for `ctx`, in priority order: (keys, name).
pub fn footer(ctx: Ctx) -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| b.footer && b.contexts.contains(&ctx))
        .map(|b| (b.label, b.name))
        .collect()
}

/// The help overlay's lines for `ctx`: (keys, sentence), every binding that
/// works there.
pub fn help(ctx: Ctx) -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| b.contexts.contains(&ctx))
        .map(|b| (b.label, b.help))
        .collect()
}
