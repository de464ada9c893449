//! HTTPS for the sandbox (`consentry sandbox --tls`): Entra's clients insist on it.
//!
//! MSAL (every language) refuses an `http://` authority and follows the discovery documents, whose
//! URLs are all `https://`; so rehearsing such a client needs the sandbox on TLS with a certificate
//! the client trusts. The sandbox either generates, at every start, a throwaway CA and a server
//! certificate for `localhost`, `127.0.0.1` and `::1` signed by it (the CA's PEM is handed back so a
//! client can trust it through `SSL_CERT_FILE` / `REQUESTS_CA_BUNDLE`), or serves a certificate and
//! key the user brings. Nothing private is written to disk.
//!
//! The server side is rustls (aws-lc-rs) through tokio-rustls: a [`TlsListener`] accepts TCP,
//! completes each handshake in its own task (a slow or silent client holds up nobody) and hands the
//! encrypted streams to `axum::serve`, so plain and TLS sandboxes share every other line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

use super::SandboxError;

/// A handshake that takes longer than this is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Certificate and key files are a few KB; anything this large is not one.
const MAX_PEM_BYTES: u64 = 1024 * 1024;
/// Names the generated server certificate is valid for: every way to say "this machine".
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Whether and how the sandbox serves HTTPS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Tls {
    /// Plain HTTP (what consentry's own tests use unless they test TLS).
    #[default]
    Off,
    /// Generate a CA and a loopback server certificate at start; [`super::Sandbox::ca_pem`] gives
    /// the CA to trust.
    Generate,
    /// Serve this certificate chain and private key (PEM files).
    Files {
        /// The certificate chain, server certificate first.
        cert: PathBuf,
        /// The private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
}

/// What the server needs to speak TLS, and the CA a client must trust (when generated).
pub(crate) struct Prepared {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) ca_pem: Option<String>,
}

/// Builds the server's TLS configuration (CPU-bound when generating: call it off the runtime).
pub(crate) fn prepare(tls: &Tls) -> Result<Option<Prepared>, SandboxError> {
    let (chain, key, ca_pem) = match tls {
        Tls::Off => return Ok(None),
        Tls::Generate => {
            let generated = generate()?;
            (generated.0, generated.1, Some(generated.2))
        }
        Tls::Files { cert, key } => {
            let chain = CertificateDer::pem_slice_iter(&read_pem(cert)?)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| tls_error(cert, &e))?;
            if chain.is_empty() {
                return Err(tls_error(cert, &"no CERTIFICATE block"));
            }
            let private =
                PrivateKeyDer::from_pem_slice(&read_pem(key)?).map_err(|e| tls_error(key, &e))?;
            (chain, private, None)
        }
    };
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SandboxError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| SandboxError::Tls(format!("the certificate and key do not fit: {e}")))?;
    // The sandbox's axum server speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Prepared {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_pem,
    }))
}

fn tls_error(path: &Path, why: &dyn std::fmt::Display) -> SandboxError {
    SandboxError::Tls(format!("{}: {why}", path.display()))
}

/// Reads a PEM file, bounded in size.
fn read_pem(path: &Path) -> Result<Vec<u8>, SandboxError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| tls_error(path, &e))?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| tls_error(path, &e))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_PEM_BYTES {
        return Err(tls_error(path, &"larger than 1 MiB: not a PEM file"));
    }
    Ok(bytes)
}

/// A fresh CA (P-256) and a server certificate for the loopback names signed by it: the server's
/// chain, its key, and the CA's PEM.
fn generate() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String), SandboxError>
{
    let err = |e: rcgen::Error| SandboxError::Tls(format!("cannot generate certificates: {e}"));
    let ca_key = rcgen::KeyPair::generate().map_err(err)?;
    let mut ca = rcgen::CertificateParams::default();
    ca.distinguished_name.push(
        rcgen::DnType::CommonName,
        "consentry sandbox CA (throwaway)",
    );
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    super::keys::set_validity(&mut ca);
    let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).map_err(err)?;

    let server_key = rcgen::KeyPair::generate().map_err(err)?;
    let names: Vec<String> = LOOPBACK_NAMES.iter().map(|n| (*n).to_owned()).collect();
    let mut params = rcgen::CertificateParams::new(names).map_err(err)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    super::keys::set_validity(&mut params);
    let server = params.signed_by(&server_key, &ca).map_err(err)?;
    let key = PrivateKeyDer::try_from(server_key.serialize_der())
        .map_err(|e| SandboxError::Tls(e.to_owned()))?;
    Ok((vec![server.der().clone(), ca.der().clone()], key, ca.pem()))
}

/// A listener that yields TLS streams: TCP accepts and handshakes run in a background task.
pub(crate) struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl TlsListener {
    pub(crate) fn new(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (send, incoming) = mpsc::channel(64);
        let task = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(%error, "sandbox cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let send = send.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = send.send((stream, peer)).await;
                        }
                        // A client that does not trust the CA ends here: say so at debug level.
                        Ok(Err(error)) => tracing::debug!(%error, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            incoming,
            local,
            task,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(accepted) => accepted,
            // The accept task is gone (only when the listener is being dropped): no more clients.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
