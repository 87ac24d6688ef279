//! TLS with libpq's meaning of `sslmode`, `sslrootcert`, `sslcert` and
//! `sslkey`, on rustls (pure Rust: nothing to install on a fresh machine,
//! the same behaviour everywhere).
//!
//! | sslmode | TLS | server certificate checked |
//! |---|---|---|
//! | disable | never | - |
//! | allow | only if plain is refused | as `require` |
//! | prefer (default) | if the server offers it | as `require` |
//! | require | always | chain only when a root certificate file exists (libpq's rule) |
//! | verify-ca | always | chain against `sslrootcert` |
//! | verify-full | always | chain and host name |
//!
//! `sslrootcert=system` uses the operating system's trusted roots and makes
//! `verify-full` the default (weaker modes are refused, as libpq 16 does).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use color_eyre::eyre::{Context, Result, bail, eyre};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => bail!(
                "invalid sslmode \"{other}\" (disable, allow, prefer, require, verify-ca, verify-full)"
            ),
        })
    }

    /// How tokio-postgres makes the first attempt; `allow` starts without
    /// TLS and retries with it (`db::connect`).
    pub fn first_attempt(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Pg;
        match self {
            Self::Disable | Self::Allow => Pg::Disable,
            Self::Prefer => Pg::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => Pg::Require,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    File(PathBuf),
    System,
}

#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root: Option<RootCert>,
    /// Whether `sslrootcert` was given (else `root` is libpq's default
    /// `~/.postgresql/root.crt`, used only when it exists).
    pub root_explicit: bool,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl TlsSettings {
    /// The rustls connector for these settings; errors are libpq's, in words.
    pub fn connector(&self) -> Result<MakeRustlsConnect> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        if self.mode == SslMode::Disable {
            // Never asked for TLS: no certificate files are read (as libpq).
            let config = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .wrap_err("TLS set-up")?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(LenientVerifier {
                    chain: None,
                    algorithms: provider.signature_verification_algorithms,
                }))
                .with_no_client_auth();
            return Ok(MakeRustlsConnect::new(config));
        }
        let verifier = self.verifier(&provider)?;
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .wrap_err("TLS set-up")?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match self.client_certificate()? {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .wrap_err("the client certificate (sslcert/sslkey) cannot be used")?,
            None => builder.with_no_client_auth(),
        };
        Ok(MakeRustlsConnect::new(config))
    }

    fn verifier(&self, provider: &Arc<CryptoProvider>) -> Result<Arc<dyn ServerCertVerifier>> {
        let algorithms = provider.signature_verification_algorithms;
        if self.root == Some(RootCert::System) && self.mode != SslMode::VerifyFull {
            bail!(
                "weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")",
                self.mode_name()
            );
        }
        let roots = match &self.root {
            Some(RootCert::System) => Some(system_roots()?),
            Some(RootCert::File(path)) if self.root_explicit || path.exists() => {
                Some(file_roots(path, self.mode)?)
            }
            _ => None,
        };
        let Some(roots) = roots else {
            if matches!(self.mode, SslMode::VerifyCa | SslMode::VerifyFull) {
                bail!(
                    "sslmode={} needs the certificate authority that signed the server's certificate: \
                     set sslrootcert=FILE (or PGSSLROOTCERT), put it in ~/.postgresql/root.crt, \
                     or use sslrootcert=system for the system's trusted roots",
                    self.mode_name()
                );
            }
            return Ok(Arc::new(LenientVerifier {
                chain: None,
                algorithms,
            }));
        };
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .wrap_err("TLS certificate verifier")?;
        Ok(if self.mode == SslMode::VerifyFull {
            webpki
        } else {
            Arc::new(LenientVerifier {
                chain: Some(webpki),
                algorithms,
            })
        })
    }

    fn mode_name(&self) -> &'static str {
        match self.mode {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// The client certificate and key, when the certificate file exists
    /// (libpq goes on without one otherwise).
    fn client_certificate(
        &self,
    ) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>> {
        let Some(cert) = self.cert.as_ref().filter(|c| c.exists()) else {
            return Ok(None);
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| eyre!("cannot read the client certificate {}: {e}", cert.display()))?;
        let key_path = self
            .key
            .as_ref()
            .ok_or_else(|| eyre!("sslcert {} is set but no sslkey", cert.display()))?;
        check_key_permissions(key_path)?;
        let key = PrivateKeyDer::from_pem_file(key_path)
            .map_err(|e| eyre!("cannot read the private key {}: {e}", key_path.display()))?;
        Ok(Some((chain, key)))
    }
}

/// libpq refuses a key others can read: 0600 or less for the owner, 0640
/// or less when root owns it.
fn check_key_permissions(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path)
        .wrap_err_with(|| format!("cannot read the private key file {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "private key file \"{}\" is not a regular file",
            path.display()
        );
    }
    let mode = meta.permissions().mode();
    let loose = if meta.uid() == 0 {
        mode & 0o037 != 0
    } else {
        mode & 0o077 != 0
    };
    if loose {
        bail!(
            "private key file \"{}\" has group or world access; file must have permissions \
             u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) \
             or less if owned by root",
            path.display()
        );
    }
    Ok(())
}

fn file_roots(path: &Path, mode: SslMode) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| {
            eyre!(
                "cannot read the root certificate file \"{}\" (sslmode={}): {e}",
                path.display(),
                match mode {
                    SslMode::VerifyFull => "verify-full",
                    SslMode::VerifyCa => "verify-ca",
                    _ => "require",
                }
            )
        })?;
    let (added, _ignored) = store.add_parsable_certificates(certs);
    if added == 0 {
        bail!(
            "no certificate in the root certificate file \"{}\"",
            path.display()
        );
    }
    Ok(store)
}

fn system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        bail!(
            "sslrootcert=system: the system has no trusted root certificates (install ca-certificates)"
        );
    }
    Ok(store)
}

/// The verifiers weaker than verify-full, as libpq has them: verify-ca (the
/// chain must lead to a trusted root; the name is not checked) when `chain`
/// is set, else prefer/require without a root certificate (encrypted, not
/// authenticated). The handshake's signatures are checked either way.
#[derive(Debug)]
struct LenientVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for LenientVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mode: SslMode) -> TlsSettings {
        TlsSettings {
            mode,
            root: Some(RootCert::File("/nonexistent/root.crt".into())),
            root_explicit: true,
            cert: None,
            key: None,
        }
    }

    #[test]
    fn disable_reads_no_certificate_files_and_verify_needs_them() {
        assert!(settings(SslMode::Disable).connector().is_ok());
        let e = settings(SslMode::VerifyFull).connector().err().unwrap();
        assert!(format!("{e:#}").contains("/nonexistent/root.crt"), "{e:#}");
    }

    #[test]
    fn system_roots_need_verify_full() {
        let mut s = settings(SslMode::Require);
        s.root = Some(RootCert::System);
        let e = s.connector().err().unwrap();
        assert!(e.to_string().contains("verify-full"), "{e}");
    }

    /// The refusals name the sslmode as libpq spells it (a weak mode with
    /// the system's roots; a verifying mode with no certificate
    /// authority), and verify-full with `sslrootcert=system` loads the
    /// system's roots (where the machine has them: ca-certificates).
    #[test]
    fn refusals_name_the_sslmode_as_libpq_spells_it_and_verify_full_takes_the_system_roots() {
        let mut s = settings(SslMode::Require);
        s.root = Some(RootCert::System);
        let e = s.connector().err().unwrap().to_string();
        assert!(e.contains("weak sslmode \"require\""), "{e}");
        let mut s = settings(SslMode::VerifyCa);
        s.root = None;
        let e = s.connector().err().unwrap().to_string();
        assert!(e.contains("sslmode=verify-ca needs"), "{e}");
        if std::path::Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
            let mut s = settings(SslMode::VerifyFull);
            s.root = Some(RootCert::System);
            if let Err(e) = s.connector() {
                panic!("{e:#}");
            }
        }
    }

    #[test]
    fn sslmode_names_are_libpqs() {
        for (name, mode) in [
            ("disable", SslMode::Disable),
            ("allow", SslMode::Allow),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ] {
            assert_eq!(SslMode::parse(name).unwrap(), mode);
        }
        assert!(SslMode::parse("verify_full").is_err());
    }

    #[test]
    fn a_private_key_may_be_read_by_its_owner_only_or_by_roots_group() {
        use std::os::unix::fs::{PermissionsExt, chown};
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("client.key");
        std::fs::write(&key, "not a key: only its mode is read").unwrap();
        let chmod = |mode| std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode));
        // Owned by someone other than root (as root: given away).
        if nix::unistd::Uid::effective().is_root() {
            chown(&key, Some(54_321), None).unwrap();
        }
        for mode in [0o600, 0o400] {
            chmod(mode).unwrap();
            assert!(check_key_permissions(&key).is_ok(), "{mode:o}");
        }
        for mode in [0o640, 0o604, 0o660] {
            chmod(mode).unwrap();
            let e = check_key_permissions(&key).unwrap_err().to_string();
            assert!(e.contains("group or world access"), "{mode:o}: {e}");
        }
        // Owned by root, the group may read it (libpq's rule).
        if nix::unistd::Uid::effective().is_root() {
            chown(&key, Some(0), None).unwrap();
            chmod(0o640).unwrap();
            assert!(check_key_permissions(&key).is_ok());
            chmod(0o644).unwrap();
            assert!(check_key_permissions(&key).is_err());
        }
    }
}
