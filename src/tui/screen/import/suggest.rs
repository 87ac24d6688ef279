//! The form's suggestions from the chosen file: once the focus leaves the
//! File field (or the profile changes), the worker reads the file's header
//! and first rows with the domain's profile detection
//! (`domain::import::suggest`), and the Key field is filled with the key
//! column the profile suggests. A suggestion never overwrites what the
//! user typed: only an empty Key field, or one still holding the previous
//! suggestion, follows.

use crate::domain::import::ProfileKind;
use crate::domain::import::suggest::Suggestion;
use crate::tui::action::{Effect, ReqId};
use crate::tui::state::State;

use super::{FormField, FormPhase, PROFILES};

#[derive(Debug, Clone, Default)]
pub struct Suggestions {
    /// The request being answered.
    pub asking: Option<ReqId>,
    /// The file and profile the last request was for.
    pub asked_for: Option<(String, Option<ProfileKind>)>,
    /// The answer: what the file suggests, or why it cannot be read.
    pub answer: Option<Result<Suggestion, String>>,
}

impl Suggestions {
    /// The key column suggested now, if any.
    pub fn key(&self) -> Option<&str> {
        match &self.answer {
            Some(Ok(s)) => s.key.as_deref(),
            _ => None,
        }
    }
}

/// Asks for the file's suggestions when the focus is off the File field
/// and the file or profile differs from what was asked last.
pub fn ask(state: &mut State) -> Vec<Effect> {
    let form = &state.form;
    if form.focus == FormField::File || !matches!(form.phase, FormPhase::Editing { .. }) {
        return Vec::new();
    }
    let path = form.file.text.trim().to_string();
    let profile = PROFILES.get(form.profile).copied().flatten();
    let wanted = (path.clone(), profile);
    if path.is_empty() || form.suggestions.asked_for.as_ref() == Some(&wanted) {
        return Vec::new();
    }
    let req = state.req();
    let s = &mut state.form.suggestions;
    s.asking = Some(req);
    s.asked_for = Some(wanted);
    vec![Effect::Suggest { req, path, profile }]
}

/// Reply to [`Effect::Suggest`]: the Key field follows unless the user
/// typed their own.
pub fn suggested(state: &mut State, req: ReqId, result: Result<Suggestion, String>) -> Vec<Effect> {
    let form = &mut state.form;
    if form.suggestions.asking != Some(req) {
        return Vec::new();
    }
    form.suggestions.asking = None;
    let typed = form.key.text.trim();
    let untouched = typed.is_empty() || Some(typed) == form.suggestions.key();
    form.suggestions.answer = Some(result);
    if untouched {
        let key = form.suggestions.key().unwrap_or_default().to_string();
        form.key.set(key);
    }
    Vec::new()
}
