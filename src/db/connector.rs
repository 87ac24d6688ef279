//! Opening connections to a target: TLS as its settings say, libpq's
//! `sslmode=allow` retry, and errors that say what to change.

use color_eyre::eyre::Result;
use futures_util::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::Target;
use super::tls::SslMode;

/// A connection that could not be made, explained (the console tells it
/// from other errors: it shows the banner and reconnects).
#[derive(Debug)]
pub struct ConnectFailed(pub String);

impl std::fmt::Display for ConnectFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConnectFailed {}

/// Everything needed to open one more connection to a target.
#[derive(Clone)]
pub struct Connector {
    config: Config,
    tls: MakeRustlsConnect,
    /// `sslmode=allow`: plain first, TLS when the server refuses plain.
    allow: bool,
    /// For error messages: where and how.
    location: String,
    sslmode: Option<String>,
}

impl Connector {
    pub fn new(target: &Target) -> Result<Self> {
        let (tls, allow) = match &target.tls {
            Some(settings) => (settings.connector()?, settings.mode == SslMode::Allow),
            None => (plain_only()?, false),
        };
        Ok(Self {
            config: target.config.clone(),
            tls,
            allow,
            location: target.location(),
            sslmode: target
                .settings
                .as_ref()
                .and_then(|s| s.get("sslmode").map(str::to_string)),
        })
    }

    /// The TLS connector connections are made with (a cancel request
    /// reaches the server the same way).
    pub fn tls(&self) -> MakeRustlsConnect {
        self.tls.clone()
    }

    /// A connection whose session task runs in the background.
    pub async fn connect(&self) -> Result<Client> {
        self.connect_config(&self.config)
            .await
            .map(|(client, _)| client)
            .map_err(|e| ConnectFailed(self.explain(&e)).into())
    }

    /// A connection whose `NOTIFY` messages go to `notes`; the task ends
    /// (and `notes` closes) when the connection does.
    pub async fn connect_listening(
        &self,
        notes: tokio::sync::mpsc::UnboundedSender<tokio_postgres::Notification>,
    ) -> Result<Client> {
        let first = self.config.connect(self.tls.clone()).await;
        let result = match first {
            Err(e) if self.allow && e.as_db_error().is_some() => {
                let mut with_tls = self.config.clone();
                with_tls.ssl_mode(tokio_postgres::config::SslMode::Require);
                with_tls.connect(self.tls.clone()).await
            }
            other => other,
        };
        let (client, mut connection) =
            result.map_err(|e| color_eyre::Report::new(ConnectFailed(self.explain(&e))))?;
        tokio::spawn(async move {
            while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                match message {
                    Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                        if notes.send(n).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the listening connection closed with an error");
                        break;
                    }
                }
            }
        });
        Ok(client)
    }

    async fn connect_config(
        &self,
        config: &Config,
    ) -> std::result::Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
        let first = spawn(config.connect(self.tls.clone()).await);
        match first {
            Err(e) if self.allow && e.as_db_error().is_some() => {
                let mut with_tls = config.clone();
                with_tls.ssl_mode(tokio_postgres::config::SslMode::Require);
                spawn(with_tls.connect(self.tls.clone()).await)
            }
            other => other,
        }
    }

    /// The error, with what it means for the person running importdesk.
    pub fn explain(&self, e: &tokio_postgres::Error) -> String {
        let mut text = format!("cannot connect to the database {}: {e}", self.location);
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            let msg = cause.to_string();
            if !text.contains(&msg) {
                text.push_str(&format!(": {msg}"));
            }
            source = cause.source();
        }
        let lower = text.to_lowercase();
        let mode = self.sslmode.as_deref().unwrap_or("prefer");
        let hint = if lower.contains("notvalidforname") || lower.contains("not valid for name") {
            Some(format!(
                "the server's certificate does not name this host (sslmode={mode} checks the host name; \
                 connect with the name the certificate was made for)"
            ))
        } else if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
            Some(
                "the server's certificate is not signed by the certificate authority in sslrootcert"
                    .to_string(),
            )
        } else if lower.contains("server does not support tls") {
            Some(format!(
                "the server does not accept TLS connections, and sslmode={mode} requires TLS"
            ))
        } else if lower.contains("no encryption") {
            Some(format!(
                "the server only accepts this connection over TLS (sslmode={mode}); use sslmode=require or stronger"
            ))
        } else if lower.contains("password authentication failed")
            || lower.contains("no password")
            || lower.contains("password missing")
        {
            Some(
                "give the password in the password file (~/.pgpass or PGPASSFILE), a service, or PGPASSWORD"
                    .to_string(),
            )
        } else {
            None
        };
        if let Some(h) = hint {
            text.push_str(&format!("\n  hint: {h}"));
        }
        text
    }
}

fn spawn<S, T>(
    result: std::result::Result<(Client, tokio_postgres::Connection<S, T>), tokio_postgres::Error>,
) -> std::result::Result<(Client, JoinHandle<()>), tokio_postgres::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = result?;
    let handle = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "database connection closed with an error");
        }
    });
    Ok((client, handle))
}

/// A connector that is never asked for TLS (Unix sockets, `sslmode=disable`).
fn plain_only() -> Result<MakeRustlsConnect> {
    super::tls::TlsSettings {
        mode: SslMode::Disable,
        root: None,
        root_explicit: false,
        cert: None,
        key: None,
    }
    .connector()
}

impl deadpool_postgres::Connect for Connector {
    fn connect(
        &self,
        pg_config: &Config,
    ) -> BoxFuture<'_, std::result::Result<(Client, JoinHandle<()>), tokio_postgres::Error>> {
        let config = pg_config.clone();
        Box::pin(async move { self.connect_config(&config).await })
    }
}
