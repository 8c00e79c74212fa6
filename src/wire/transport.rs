//! The byte stream under a connection: plain TCP, or TLS over TCP.
//!
//! Everything above the transport — frames, the codec, the handler — is the
//! same for both; only two things differ. A fetch's records can go out by
//! `sendfile` only on [`Stream::Plain`] ([`Stream::tcp`] hands the socket
//! over for that): TLS encrypts in user space, so on [`Stream::Tls`] the
//! records are read into memory and written through the session, Kafka's own
//! loss of zero copy under SSL. And a TLS connection knows who the client is
//! when it presented a certificate ([`Stream::principal`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::security::tls;

/// One accepted connection's stream.
#[derive(Debug)]
pub enum Stream {
    /// A PLAINTEXT listener's socket.
    Plain(TcpStream),
    /// An SSL listener's socket after the handshake.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    /// The socket itself, when bytes written to it reach the client as they
    /// are (PLAINTEXT): the only case where `sendfile` may write to it.
    pub fn tcp(&mut self) -> Option<&mut TcpStream> {
        match self {
            Stream::Plain(tcp) => Some(tcp),
            Stream::Tls(_) => None,
        }
    }

    /// The connection's principal: the client certificate's subject under
    /// TLS, `User:ANONYMOUS` otherwise.
    pub fn principal(&self) -> String {
        match self {
            Stream::Plain(_) => crate::security::ANONYMOUS.to_string(),
            Stream::Tls(tls) => tls::principal(tls.get_ref().1.peer_certificates()),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
