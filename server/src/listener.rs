//! The accept loop of `serve` (issue 10, item 7): HTTP/1.1 over hyper with the limits
//! `axum::serve` does not offer.
//!
//! - a client has `header_timeout` to send a request's headers, and an idle keep-alive connection
//!   is closed after the same time without a new request (hyper's header read timeout starts
//!   when the connection waits for a request head);
//! - a request body must arrive whole within `body_timeout` (a hard deadline, so trickling one
//!   byte a second does not keep it alive); JSON handlers answer 408;
//! - at most `max_connections` connections are served at once, WebSocket sessions included (the
//!   permit lives in the connection's I/O, which the upgraded socket keeps); the next ones wait
//!   in the kernel's listen queue until one ends;
//! - an accept error never ends the loop: connection errors are skipped, and descriptor
//!   exhaustion (`EMFILE`, `ENFILE`) or any other error pauses the loop briefly, then it retries.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;
use tower_http::timeout::DeadlineBody;

use crate::config::HttpConfig;

/// How long the loop pauses after an accept error that is not the client's (file descriptors
/// exhausted, most often): long enough not to spin, short enough to pick up again quickly.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The limits of the served connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn from_config(config: &HttpConfig) -> Self {
        Limits {
            header_timeout: Duration::from_secs(config.header_timeout_secs.max(1)),
            body_timeout: Duration::from_secs(config.body_timeout_secs.max(1)),
            max_connections: config.max_connections.max(1),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from_config(&HttpConfig::default())
    }
}

/// Where connections come from: a TCP listener, or a stand-in in tests.
pub trait Accept: Send {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, SocketAddr)>> + Send;
}

impl Accept for TcpListener {
    type Io = TcpStream;

    async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        TcpListener::accept(self).await
    }
}

/// An error of one connection that has nothing to do with the listener (skipped at once).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// `EMFILE` (the process's descriptors) or `ENFILE` (the system's), on Linux and macOS alike.
fn is_descriptor_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24))
}

/// Serves `router` on the connections of `listener` until `shutdown` completes, then stops
/// accepting, lets each connection finish its request in flight (hyper's graceful shutdown) and
/// returns once they are all closed. Upgraded WebSocket sessions are left to end on their own.
pub async fn serve<L: Accept>(
    mut listener: L,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_warning: Option<Instant> = None;
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (io, remote) = match accepted {
            Ok(connection) => connection,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // At most one warning a second: under exhaustion this repeats ten times a second.
                if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    last_warning = Some(Instant::now());
                    if is_descriptor_exhaustion(&e) {
                        tracing::warn!(error = %e, "accept: file descriptors exhausted; retrying");
                    } else {
                        tracing::warn!(error = %e, "accept error; retrying");
                    }
                }
                drop(permit);
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let io = TokioIo::new(Counted { inner: io, _permit: permit });
        tokio::spawn(serve_connection(io, remote, router.clone(), limits, stop_rx.clone()));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(stop_rx);
    // Every connection task holds a receiver: this returns when the last one has ended.
    stop_tx.closed().await;
    Ok(())
}

async fn serve_connection<I>(
    io: TokioIo<I>,
    remote: SocketAddr,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let body_timeout = limits.body_timeout;
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut request = request.map(|body| DeadlineBody::new(body_timeout, body));
        request.extensions_mut().insert(ConnectInfo(remote));
        router.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let connection = builder.serve_connection(io, service).with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = async { drop(stop.wait_for(|stopping| *stopping).await) } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = outcome {
        // Timeouts and clients going away: ordinary on the Internet, not worth more than debug.
        tracing::debug!(%remote, error = %e, "connection closed with an error");
    }
}

/// A connection's I/O holding its place among the `max_connections`: the permit goes back when
/// the I/O is dropped, after the HTTP connection or the WebSocket session it was upgraded to.
struct Counted<T> {
    inner: T,
    _permit: OwnedSemaphorePermit,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
