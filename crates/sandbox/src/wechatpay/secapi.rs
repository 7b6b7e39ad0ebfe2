//! `/secapi/…` over mutual TLS, as WeChat Pay serves it: a separate listener whose TLS
//! handshake requires a client certificate issued by the simulator's CA (a merchant API
//! certificate, see [`super::WechatPayCredentials::merchant_certificate_pem`]).
//!
//! - No certificate, or one from another CA: the handshake fails (TLS 1.3 alert
//!   `certificate_required`, or `unknown_ca`/`bad_certificate`); no request is read.
//! - A valid certificate of another merchant than the request's `mch_id`: WeChat's v2 XML
//!   error answer, `return_code=FAIL` with `return_msg` [`CERTIFICATE_MISMATCH`].
//!
//! Served routes, at the root of the listener: `POST /secapi/pay/reverse`,
//! `POST /secapi/pay/refund`.
//!
//! [`WechatPay::serve_secapi`] binds the listener and records its `https://` address, which
//! every merchant's credentials then carry as `secapi_base_url`. Its server certificate is
//! issued by the same CA for `localhost`, `127.0.0.1`, `::1` and the host the simulator
//! is reached at, so a client trusting [`WechatPay::ca_certificate_pem`] can verify it.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::connect_info::Connected;
use axum::routing::post;
use axum::serve::{IncomingStream, Listener};
use rustls::RootCertStore;
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::{BODY_BYTES_MAX, WechatPay, lock, micropay};

/// What a valid certificate of another merchant than `mch_id` is answered with. WeChat's
/// exact wording for this case is not documented; this text is the simulator's own.
pub const CERTIFICATE_MISMATCH: &str = "证书与商户号不匹配";
/// Longest time a client may take to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// Most handshakes in progress at once; further connections wait to be accepted.
const HANDSHAKES_MAX: usize = 256;
/// Most finished handshakes waiting for the HTTP server to take them.
const CONNECTIONS_QUEUED_MAX: usize = 64;

/// Why the secapi listener could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SecapiError {
    #[error("the secapi listener could not be bound: {0}")]
    Bind(#[from] std::io::Error),
    #[error("the secapi TLS configuration could not be built: {0}")]
    Tls(String),
}

/// Who is on the other end of a secapi connection: the merchant whose certificate it
/// presented (`None` only for a certificate the simulator did not issue to a merchant).
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) mchid: Option<String>,
}

impl WechatPay {
    /// Starts the `/secapi/…` mutual-TLS listener on `address` (port 0 picks a free one)
    /// and returns the bound address and the task serving it; abort the task to stop it.
    /// Merchants' credentials carry the listener's `https://` address from then on.
    pub async fn serve_secapi(&self, address: SocketAddr) -> Result<(SocketAddr, JoinHandle<()>), SecapiError> {
        let tcp = TcpListener::bind(address).await?;
        let local = tcp.local_addr()?;
        let host = self.secapi_host(local.ip());
        let acceptor = TlsAcceptor::from(Arc::new(self.secapi_tls_config(&host)?));
        *lock(&self.shared.secapi_base_url) = Some(https_url(&host, local.port()));
        let (sender, receiver) = mpsc::channel(CONNECTIONS_QUEUED_MAX);
        let accepting = accept_connections(tcp, acceptor, self.clone(), sender);
        let app = secapi_router(self.clone()).into_make_service_with_connect_info::<Peer>();
        let serving = axum::serve(SecapiListener { receiver }, app);
        let task = tokio::spawn(async move {
            tokio::select! {
                () = accepting => {}
                result = serving.into_future() => {
                    if let Err(error) = result {
                        tracing::warn!(%error, "the wechat pay secapi listener stopped");
                    }
                }
            }
        });
        Ok((local, task))
    }

    /// The host clients reach the listener at: its own IP, or for a wildcard address the
    /// host of the simulator's public base URL.
    fn secapi_host(&self, ip: IpAddr) -> String {
        if !ip.is_unspecified() {
            return ip.to_string();
        }
        reqwest::Url::parse(&self.shared.public_base_url)
            .ok()
            .and_then(|url| url.host_str().map(|host| host.trim_matches(['[', ']']).to_owned()))
            .unwrap_or_else(|| "localhost".to_owned())
    }

    fn secapi_tls_config(&self, host: &str) -> Result<ServerConfig, SecapiError> {
        let tls = |error: &dyn std::fmt::Display| SecapiError::Tls(error.to_string());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(self.shared.authority.certificate_der.clone()).map_err(|error| tls(&error))?;
        // Client authentication is required: the builder's default, as no
        // `allow_unauthenticated` is asked for.
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .map_err(|error| tls(&error))?;
        let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), Ipv6Addr::LOCALHOST.to_string()];
        if !names.iter().any(|name| name == host) {
            names.push(host.to_owned());
        }
        let identity = self.shared.authority.issue_server(names).map_err(|error| tls(&error))?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| tls(&error))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![identity.certificate], identity.key)
            .map_err(|error| tls(&error))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// The merchant whose issued certificate is the connection's end-entity certificate.
    fn peer(&self, stream: &TlsStream<TcpStream>) -> Peer {
        let presented = stream.get_ref().1.peer_certificates().and_then(|chain| chain.first());
        let mchid = presented.and_then(|certificate| {
            lock(&self.shared.merchants)
                .iter()
                .find(|merchant| merchant.certificate.der.as_ref() == certificate.as_ref())
                .map(|merchant| merchant.mchid.clone())
        });
        Peer { mchid }
    }
}

fn https_url(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(ip) => format!("https://{}", SocketAddr::new(ip, port)),
        Err(_) => format!("https://{host}:{port}"),
    }
}

/// The routes served over mutual TLS (see the module documentation).
fn secapi_router(simulator: WechatPay) -> Router {
    Router::new()
        .route("/secapi/pay/{operation}", post(micropay::secapi))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(simulator)
}

/// Accepts TCP connections and runs each TLS handshake in its own task, so that a slow
/// client does not hold up the others; finished handshakes go to the HTTP server.
async fn accept_connections(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    simulator: WechatPay,
    sender: mpsc::Sender<(TlsStream<TcpStream>, Peer)>,
) {
    let handshakes = Arc::new(Semaphore::new(HANDSHAKES_MAX));
    loop {
        let Ok(permit) = Arc::clone(&handshakes).acquire_owned().await else { return };
        let stream = match tcp.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Typically too many open files; waiting lets connections close.
                tracing::debug!(%error, "secapi accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (acceptor, simulator, sender) = (acceptor.clone(), simulator.clone(), sender.clone());
        tokio::spawn(async move {
            let timeout = Duration::from_millis(HANDSHAKE_TIMEOUT_MS);
            let handshake = tokio::time::timeout(timeout, acceptor.accept(stream)).await;
            drop(permit);
            let Ok(Ok(tls)) = handshake else {
                tracing::debug!("secapi TLS handshake refused or timed out");
                return;
            };
            let peer = simulator.peer(&tls);
            // A send fails only once the server is gone, and then the connection goes too.
            let _ = sender.send((tls, peer)).await;
        });
    }
}

/// Hands the HTTP server connections whose handshake is done.
struct SecapiListener {
    receiver: mpsc::Receiver<(TlsStream<TcpStream>, Peer)>,
}

impl Listener for SecapiListener {
    type Io = TlsStream<TcpStream>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.receiver.recv().await {
            Some(connection) => connection,
            // The accepting side stopped: no connection will come again.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Peer> {
        Ok(Peer { mchid: None })
    }
}

impl Connected<IncomingStream<'_, SecapiListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, SecapiListener>) -> Peer {
        stream.remote_addr().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secapi_urls_bracket_ipv6_hosts() {
        assert_eq!(https_url("127.0.0.1", 8443), "https://127.0.0.1:8443");
        assert_eq!(https_url("::1", 8443), "https://[::1]:8443");
        assert_eq!(https_url("payrail.example", 8443), "https://payrail.example:8443");
    }
}
