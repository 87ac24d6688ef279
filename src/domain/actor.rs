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

/// `actor (database role)`: the role is the identity PostgreSQL checked,
/// the actor a label the client gave; one name when they agree.
pub fn with_role(actor: &str, role: &str) -> String {
    if actor == role {
        actor.to_string()
    } else {
        format!("{actor} ({role})")
    }
}
