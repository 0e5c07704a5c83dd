//! Streaming objects' bodies, several at once, handed on in key order.
//!
//! A driver task walks the objects in key order and starts a download for each as soon as one of
//! `concurrency` permits is free; each download feeds its body into a small channel of its own
//! and keeps its permit until the body is through. The scan takes the objects in key order
//! ([`Objects::next`]) and reads each body through a blocking [`ObjectReader`] on its own reader
//! thread. Memory is bounded: at most `concurrency` downloads, each at most [`BODY_CHUNKS`] chunks
//! ahead of the scan.

use std::io::{self, Read};
use std::sync::Arc;

use indicatif::ProgressBar;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::error::{self, Op, S3Error};
use crate::{Client, Object, Progress, S3Url};

/// Chunks of a body (as the HTTP client hands them, tens of KiB) buffered ahead of the scan.
pub const BODY_CHUNKS: usize = 64;

struct Pending {
    key: String,
    ready: oneshot::Receiver<Result<(), S3Error>>,
    body: mpsc::Receiver<io::Result<Vec<u8>>>,
}

/// The objects of a listing, downloading in the background; see the module's header.
pub struct Objects {
    next: mpsc::Receiver<Pending>,
    bar: Option<ProgressBar>,
    total: usize,
    started: usize,
}

impl Objects {
    /// Starts downloading `objects` (in the order given) on `handle`'s runtime.
    pub fn start(
        handle: &Handle,
        client: &Client,
        url: &S3Url,
        objects: Vec<Object>,
        concurrency: usize,
        progress: &Progress,
    ) -> Objects {
        let concurrency = concurrency.max(1);
        let (tx, rx) = mpsc::channel(concurrency);
        let sem = Arc::new(Semaphore::new(concurrency));
        let bar = progress.bar();
        let total = objects.len();
        let (client, url, bar2) = (client.clone(), url.clone(), bar.clone());
        handle.spawn(async move {
            for o in objects {
                let Ok(permit) = sem.clone().acquire_owned().await else {
                    return;
                };
                let (ready_tx, ready) = oneshot::channel();
                let (body_tx, body) = mpsc::channel(BODY_CHUNKS);
                let (client, url, bar, key) = (client.clone(), url.clone(), bar2.clone(), o.key);
                let key2 = key.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    download(&client, &url, &key2, ready_tx, body_tx, bar).await;
                });
                if tx.send(Pending { key, ready, body }).await.is_err() {
                    return;
                }
            }
        });
        Objects {
            next: rx,
            bar,
            total,
            started: 0,
        }
    }

    /// The next object, in key order, once its download has started; an error when S3 refused it.
    /// Blocks: call it from a thread that is not the runtime's.
    pub fn next_object(&mut self) -> Option<Result<(String, ObjectReader), S3Error>> {
        let p = self.next.blocking_recv()?;
        self.started += 1;
        if let Some(b) = &self.bar {
            b.set_message(format!("{}/{} objects", self.started, self.total));
        }
        match p.ready.blocking_recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Some(Err(e)),
            Err(_) => {
                return Some(Err(S3Error::Aws {
                    operation: "GetObject",
                    resource: p.key,
                    message: "the download stopped".into(),
                }))
            }
        }
        Some(Ok((
            p.key,
            ObjectReader {
                body: p.body,
                buf: Vec::new(),
                at: 0,
            },
        )))
    }
}

async fn download(
    client: &Client,
    url: &S3Url,
    key: &str,
    ready: oneshot::Sender<Result<(), S3Error>>,
    body_tx: mpsc::Sender<io::Result<Vec<u8>>>,
    bar: Option<ProgressBar>,
) {
    let resp = client
        .inner
        .get_object()
        .bucket(&url.bucket)
        .key(key)
        .send()
        .await;
    let mut body = match resp {
        Ok(r) => {
            let _ = ready.send(Ok(()));
            r.body
        }
        Err(e) => {
            let _ = ready.send(Err(error::classify(&e, Op::Get, client, url, Some(key))));
            return;
        }
    };
    loop {
        let chunk = match body.next().await {
            None => return,
            Some(Ok(b)) => Ok(b.to_vec()),
            Some(Err(e)) => Err(io::Error::other(format!(
                "reading {} from {} failed: {}",
                url.object(key),
                client.endpoint,
                error::chain(&e)
            ))),
        };
        let failed = chunk.is_err();
        if let (Some(b), Ok(c)) = (&bar, &chunk) {
            b.inc(c.len() as u64);
        }
        if body_tx.send(chunk).await.is_err() || failed {
            return;
        }
    }
}

/// The body of one object, read as it downloads. Blocks: read it from a thread that is not the
/// runtime's.
pub struct ObjectReader {
    body: mpsc::Receiver<io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    at: usize,
}

impl Read for ObjectReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.buf.len() {
            match self.body.blocking_recv() {
                None => return Ok(0),
                Some(chunk) => {
                    self.buf = chunk?;
                    self.at = 0;
                }
            }
        }
        let k = out.len().min(self.buf.len() - self.at);
        out[..k].copy_from_slice(&self.buf[self.at..self.at + k]);
        self.at += k;
        Ok(k)
    }
}

/// A runtime for the S3 client: two threads suffice for downloads that wait on the network.
pub fn runtime() -> Result<tokio::runtime::Runtime, S3Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(S3Error::Runtime)
}
