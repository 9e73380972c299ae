//! Serving HTTP connections with limits, so that connections nobody uses cannot take
//! the server down.
//!
//! `axum::serve` sets no timeouts: connections that send nothing, or a header line
//! every few seconds, were kept forever, and about a thousand of them stopped the
//! server answering. Here every connection:
//! - holds one of `max_connections` permits for its whole life (a WebSocket keeps the
//!   permit after the upgrade, because the permit lives in the stream); beyond the cap
//!   a newcomer gets a short `503` and is closed;
//! - must deliver its request head within [`Limits::header_read`], which also bounds
//!   how long an idle keep-alive connection waits for its next request (hyper starts
//!   the same timer when it starts waiting for a head);
//! - has [`Limits::request`] for each request (applied as a layer in `web`).
//!
//! With TLS on, the handshake comes first, bounded by the same timeout; a handshake
//! that was an ACME validation (ALPN `acme-tls/1`) ends there. A TLS connection that
//! carries TURN (`turns:` on port 443, [`crate::turn::io::is_turn`]) is handed to
//! the relay, which counts it against its own listeners' capacity and deadlines
//! (`net.rs`); its place here is given back at once.
//!
//! Permits are shared per source address ([`crate::net::Admission`]): one address
//! holds at most a quarter of `max_connections`. A connection refused at the cap gets
//! its `503` inside TLS when the port speaks TLS.
//!
//! HTTP/1.1 only: WebSockets need it, every browser speaks it, and one protocol is one
//! less place for a slow client to hide.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::metrics::Refusals;
use crate::net::{Admission, Held};
use crate::turn::io::RelayIo;

/// How much a connection may ask of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections (WebSockets included).
    pub max_connections: usize,
    /// Time to send a request head, and the longest a kept-alive connection may idle.
    pub header_read: Duration,
    /// Time to answer one request, body included.
    pub request: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            header_read: Duration::from_secs(15),
            request: Duration::from_secs(30),
        }
    }
}

/// What a connection beyond the cap is told before it is closed.
const FULL_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 41\r\n\r\nToo many connections; try again shortly.\n";
/// Refusals written at once at most; past that a newcomer is closed without a word.
const MAX_REFUSING: usize = 64;

/// How one listener serves, besides its router.
pub struct Serving {
    pub limits: Limits,
    /// HTTPS, when set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Where TURN connections on this port go (with TLS and the embedded relay).
    pub turn: Option<RelayIo>,
    /// Where refused connections and failed handshakes are counted.
    pub refusals: Refusals,
    /// How long requests in flight may take to finish once stopping.
    pub drain: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting,
/// lets requests in flight finish (at most `drain` long), and returns. With TLS and a
/// relay, TURN connections on this port are handed to `turn` (see the module docs).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    serving: Serving,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> io::Result<()> {
    let Serving {
        limits,
        tls,
        turn,
        refusals,
        drain,
    } = serving;
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let admission = Admission::new(limits.max_connections);
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept:
                    // pause briefly rather than spin.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let accepted_at = tokio::time::Instant::now();
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
        let Ok(permit) = admission.admit(peer.ip()) else {
            refusals.note("connection_cap");
            refuse(stream, &refusing, tls.clone());
            continue;
        };
        let _ = stream.set_nodelay(true);
        let local = stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let io = Held::counted(stream, permit);
        let service = service(router.clone(), peer);
        let (http, stop, tls, turn) = (http.clone(), stop_rx.clone(), tls.clone(), turn.clone());
        let refusals = refusals.clone();
        let handshake_within = limits.header_read;
        connections.spawn(async move {
            let Some(acceptor) = tls else {
                return serve_http(&http, TokioIo::new(io), service, stop).await;
            };
            // The handshake is bounded like a request head: a client that opens a
            // connection and stalls in TLS costs no more than one that stalls in HTTP.
            let Ok(Ok(tls)) = tokio::time::timeout(handshake_within, acceptor.accept(io)).await
            else {
                refusals.note("tls_handshake");
                return;
            };
            if crate::tls::is_acme_validation(tls.get_ref().1.alpn_protocol()) {
                // The CA saw the challenge certificate during the handshake; done.
                return;
            }
            let Some(turn) = turn else {
                return serve_http(&http, TokioIo::new(tls), service, stop).await;
            };
            // `turns:` on the HTTPS port: a firewall that lets only 443 out still
            // carries the call. The relay takes what is TURN and gives the rest back.
            if let Some(web) = turn.serve_if_turn(tls, peer, local, accepted_at).await {
                serve_http(&http, TokioIo::new(web), service, stop).await;
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        connections.abort_all();
    }
    Ok(())
}

/// `router` as hyper serves it to one connection from `peer` (handlers read the
/// address through `ConnectInfo`).
pub fn service(
    router: Router,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<axum::response::Response, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            Ok::<_, Infallible>(
                router
                    .oneshot(req.map(axum::body::Body::new))
                    .await
                    .unwrap_or_else(|e| match e {}),
            )
        }
    })
}

/// One HTTP/1.1 connection (upgrades to WebSocket allowed) until it ends or the server
/// stops; on stop, requests in flight finish first.
async fn serve_http<I, S>(
    http: &hyper::server::conn::http1::Builder,
    io: TokioIo<I>,
    service: S,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = axum::body::Body> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = http.serve_connection(io, service).with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stop.wait_for(|stopped| *stopped) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Tells a connection over the cap (or over its address's share) to come back later,
/// without waiting on it: in TLS when the port speaks TLS (a plain-text answer there
/// reads as a broken handshake), with the handshake bounded like any other.
fn refuse(stream: TcpStream, refusing: &Arc<Semaphore>, tls: Option<tokio_rustls::TlsAcceptor>) {
    let Ok(slot) = refusing.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let _ = tokio::time::timeout(crate::net::FIRST_MESSAGE, async {
            match tls {
                None => tell_full(stream).await,
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        tell_full(stream).await;
                    }
                }
            }
        })
        .await;
        drop(slot);
    });
}

async fn tell_full(mut stream: impl AsyncWrite + Unpin) {
    let _ = stream.write_all(FULL_RESPONSE).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_refusal_says_how_long_its_body_is() {
        let text = std::str::from_utf8(super::FULL_RESPONSE).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }
}
