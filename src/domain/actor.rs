//! Who is acting: the OS user (and SSH client when present). The database role
//! is recorded by PostgreSQL itself (`session_user`).

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub os_user: String,
    /// The SSH client's address, from `SSH_CLIENT`, when working over SSH.
    pub client_addr: Option<String>,
}

impl Actor {
    pub fn from_environment() -> Self {
        let client_addr = std::env::var("SSH_CLIENT")
            .ok()
            .and_then(|v| v.split_whitespace().next().map(str::to_string))
            .filter(|a| {
                a.len() <= 64 && a.chars().all(|c| c.is_ascii_hexdigit() || ".:".contains(c))
            });
        Self {
            os_user: crate::db::target::os_user(),
            client_addr,
        }
    }

    /// The label stored as `actor` in history and the audit log.
    pub fn label(&self) -> String {
        match &self.client_addr {
            Some(addr) => format!("{} (ssh {addr})", self.os_user),
            None => self.os_user.clone(),
        }
    }
}

/// Who did something, as shown to people: the database role, which
/// PostgreSQL vouches for, and beside it the label the application supplied
/// when it says more (`alice_login (alice (ssh 10.0.0.5))`). The label never
/// stands in for the role.
pub fn attribution(db_role: &str, label: &str) -> String {
    let role = crate::text::sanitize(db_role);
    if label.is_empty() || label == db_role {
        role.into_owned()
    } else {
        format!("{role} ({})", crate::text::sanitize(label))
    }
}
