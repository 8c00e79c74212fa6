//! Writing a response's parts to the socket: bytes with `write`, regions with
//! `sendfile(2)`.
//!
//! The socket is tokio's, hence non-blocking: `sendfile` moves what fits in the
//! socket's send buffer and returns, or fails with `EAGAIN` when nothing fits.
//! [`send_region`] loops until the region is gone, waiting for the socket to be
//! writable again whenever it is full (`TcpStream::async_io` does the waiting:
//! it calls the closure when the socket is ready, and waits again on
//! `WouldBlock`). `sendfile` advances the file offset it is given, so a partial
//! send simply resumes where the kernel stopped.
//!
//! [`send_fetch`] is where the two paths part: the broker's fetch response
//! calls it when the wire server hands it the socket.

use std::io;
use std::sync::atomic::Ordering;

use kafka_protocol::messages::{ApiKey, ResponseKind};
use tokio::io::{AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use super::encode::{encode_fetch, Part};
use super::{FetchReply, Region, ZeroCopyStats};
use crate::wire::codec::encode_response;

// ANCHOR: send_fetch
/// Sends a fetch response down one of this chapter's two paths: headers
/// encoded by hand with the records sent by `sendfile` (`zero_copy`), or the
/// records read into memory and the whole response encoded by the codec.
/// An answer the hand encoder cannot write (a version it does not know, a
/// field the version cannot carry) takes the codec's path even with zero copy
/// on, rather than closing the connection: a follower whose answer was
/// refused (once, its diverging epoch) could never truncate, and never
/// rejoin the ISR.
pub async fn send_fetch(
    stream: &mut TcpStream,
    reply: FetchReply,
    version: i16,
    correlation_id: i32,
    zero_copy: bool,
    stats: &ZeroCopyStats,
) -> Result<(), String> {
    let by_hand = if zero_copy { encode_fetch(&reply, version, correlation_id).ok() } else { None };
    if let Some(parts) = by_hand {
        send_parts(stream, &parts, stats).await.map_err(|e| e.to_string())
    } else {
        send_fetch_copied(stream, reply, version, correlation_id, stats).await
    }
}
// ANCHOR_END: send_fetch

// ANCHOR: send_fetch_copied
/// The path without `sendfile`: the records read into memory and the whole
/// response encoded by the codec, then written to any stream — the only path
/// a TLS connection can take, since the kernel cannot encrypt for it.
pub async fn send_fetch_copied<S: AsyncWrite + Unpin>(
    stream: &mut S,
    reply: FetchReply,
    version: i16,
    correlation_id: i32,
    stats: &ZeroCopyStats,
) -> Result<(), String> {
    let (response, copied) = reply.read_into_response().map_err(|e| format!("fetch read: {e}"))?;
    stats.copied_bytes.fetch_add(copied, Ordering::Relaxed);
    let body = ResponseKind::Fetch(response);
    let bytes = encode_response(ApiKey::Fetch, version, correlation_id, &body)?;
    stream.write_all(&bytes).await.map_err(|e| e.to_string())
}
// ANCHOR_END: send_fetch_copied

// ANCHOR: send_parts
/// Writes every part, in order.
pub async fn send_parts(
    stream: &mut TcpStream,
    parts: &[Part<std::sync::Arc<std::fs::File>>],
    stats: &ZeroCopyStats,
) -> io::Result<()> {
    for part in parts {
        match part {
            Part::Bytes(bytes) => stream.write_all(bytes).await?,
            Part::Region(region) => send_region(stream, region, stats).await?,
        }
    }
    Ok(())
}
// ANCHOR_END: send_parts

// ANCHOR: send_region
/// Sends a file region with `sendfile`, however many calls it takes. A region
/// that comes up short — its segment was truncated after the fetch found it —
/// is an error: the response's size prefix is already on the wire, so the
/// caller must close the connection.
#[cfg(target_os = "linux")]
pub async fn send_region(stream: &TcpStream, region: &Region, stats: &ZeroCopyStats) -> io::Result<()> {
    use std::sync::atomic::Ordering::Relaxed;
    let mut offset = region.position;
    let end = region.position + u64::from(region.length);
    while offset < end {
        let left = (end - offset) as usize;
        let sent = stream
            .async_io(Interest::WRITABLE, || {
                // Moves up to `left` bytes from the page cache to the socket and
                // advances `offset` by as many.
                rustix::fs::sendfile(stream, &*region.handle, Some(&mut offset), left)
                    .map_err(io::Error::from)
            })
            .await;
        match sent {
            Ok(0) => return Err(short_region(region, offset)),
            Ok(n) => {
                stats.sendfile_calls.fetch_add(1, Relaxed);
                stats.sendfile_bytes.fetch_add(n as u64, Relaxed);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
// ANCHOR_END: send_region

/// Without `sendfile`, the region is read into memory and written. Same
/// signature as the Linux path: a shared reference, written with `try_write`.
#[cfg(not(target_os = "linux"))]
pub async fn send_region(stream: &TcpStream, region: &Region, stats: &ZeroCopyStats) -> io::Result<()> {
    let bytes = region.read_bytes()?;
    stats.copied_bytes.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
    if bytes.len() < region.length as usize {
        return Err(short_region(region, region.position + bytes.len() as u64));
    }
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        stream.writable().await?;
        match stream.try_write(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn short_region(region: &Region, at: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!(
            "segment {} shrank while being sent: region {}+{} ended at {at}",
            region.segment_base_offset, region.position, region.length
        ),
    )
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::messages::fetch_response::PartitionData;
    use kafka_protocol::messages::{FetchResponse, ResponseHeader, TopicName};
    use kafka_protocol::protocol::{Decodable, StrBytes};
    use tokio::io::AsyncReadExt;

    use super::*;
    use crate::zero_copy::{FetchPartition, FetchTopic};

    /// A follower whose log diverges from its new leader's is told where
    /// (the diverging epoch, a tagged field of Fetch v12+, KIP-595/KIP-320)
    /// with zero copy on as well. The hand encoder once wrote no tagged
    /// fields and closed the follower's connection instead, which left it
    /// unable ever to truncate and rejoin the ISR (found by
    /// tests/it/cluster_faults.rs, SIGSTOP schedule); it writes them now.
    #[tokio::test]
    async fn a_diverging_epoch_answer_is_sent_with_zero_copy_on() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let follower = tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let mut bytes = Vec::new();
            stream.read_to_end(&mut bytes).await.unwrap();
            bytes
        });
        let (mut leader, _) = listener.accept().await.unwrap();
        let mut data = PartitionData::default().with_high_watermark(40).with_records(Some(Bytes::new()));
        data.diverging_epoch.epoch = 0;
        data.diverging_epoch.end_offset = 48;
        let reply = FetchReply {
            topics: vec![FetchTopic {
                name: TopicName(StrBytes::from_static_str("faults")),
                partitions: vec![FetchPartition { data, region: None }],
            }],
            ..FetchReply::default()
        };
        let sent = send_fetch(&mut leader, reply, 12, 7, true, &ZeroCopyStats::default()).await;
        assert_eq!(sent, Ok(()));
        drop(leader);
        let bytes = follower.await.unwrap();
        let mut body = Bytes::from(bytes[4..].to_vec());
        assert_eq!(ResponseHeader::decode(&mut body, 1).unwrap().correlation_id, 7);
        let response = FetchResponse::decode(&mut body, 12).unwrap();
        let diverging = &response.responses[0].partitions[0].diverging_epoch;
        assert_eq!((diverging.epoch, diverging.end_offset), (0, 48));
    }
}
