//! A metadata client for fault schedules: it creates and deletes topics
//! through the brokers (which forward to the active controller) for as long
//! as a schedule runs, and records what it was told, so that afterwards the
//! test can check that the quorum lost no committed metadata record and that
//! every broker's image converged (issue 14 §4).
//!
//! ```text
//!  thread: create meta-1, meta-2, … ; every other step delete the oldest created
//!          │ CreateTopics / DeleteTopics (spool::client::Client, to any broker)
//!          ▼
//!  ops: [(Create meta-7, Acknowledged), (Delete meta-3, NotAcknowledged(..)), …]
//!          │ after the heal
//!          ▼
//!  converged(): Metadata to every broker directly, until they agree and
//!    every acknowledged create never asked to be deleted is there,
//!    every acknowledged delete is gone
//! ```
//!
//! Each name is created at most once and deleted at most once, so an answer
//! that was lost (a timeout, NOT_CONTROLLER while the request may still
//! commit under the next leader) leaves one name in doubt, never a history
//! to untangle: a create in doubt may or may not exist, but every broker must
//! agree on which; a create whose delete was sent is not required either way.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use spool::client::{Client, NewTopic};

/// Names this client creates start with this.
pub const PREFIX: &str = "meta-";

/// How long one admin request may take: longer than a controller failover.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);

/// The pause between two requests: a steady trickle of metadata changes.
const PAUSE: Duration = Duration::from_millis(200);

/// Create or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Create,
    Delete,
}

/// What one request was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Acknowledged,
    /// An error or no answer: the change may or may not have been committed.
    NotAcknowledged(String),
}

/// One request and its outcome.
#[derive(Debug, Clone)]
pub struct Op {
    pub kind: Kind,
    pub topic: String,
    pub outcome: Outcome,
    /// When the answer came.
    pub at: Instant,
}

/// The running client (a thread with its own runtime).
pub struct MetadataClient {
    stop: Arc<AtomicBool>,
    ops: Arc<Mutex<Vec<Op>>>,
    thread: Option<JoinHandle<()>>,
}

impl MetadataClient {
    /// Starts creating and deleting topics through `bootstrap`.
    pub fn start(bootstrap: &str) -> MetadataClient {
        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(Mutex::new(Vec::new()));
        let (bootstrap, thread_stop, thread_ops) = (bootstrap.to_string(), stop.clone(), ops.clone());
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(run(&bootstrap, &thread_stop, &thread_ops));
        });
        MetadataClient { stop, ops, thread: Some(thread) }
    }

    /// Every request so far.
    pub fn ops(&self) -> Vec<Op> {
        self.ops.lock().expect("ops").clone()
    }

    /// How many creates were acknowledged so far.
    pub fn acknowledged_creates(&self) -> usize {
        self.ops().iter().filter(|o| o.kind == Kind::Create && o.outcome == Outcome::Acknowledged).count()
    }

    /// Waits until a create is acknowledged after `since`, at most `bound`:
    /// the quorum decides metadata again. Returns how long after `since`.
    pub fn wait_for_create_after(&self, since: Instant, bound: Duration) -> Duration {
        let deadline = Instant::now() + bound;
        loop {
            let acked = self
                .ops()
                .into_iter()
                .find(|o| o.kind == Kind::Create && o.outcome == Outcome::Acknowledged && o.at > since);
            if let Some(op) = acked {
                return op.at - since;
            }
            let last: Vec<Op> = self.ops().into_iter().rev().take(3).collect();
            assert!(
                Instant::now() < deadline,
                "no topic created within {bound:?}; the last requests: {last:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the thread after its current request; returns every request.
    pub fn stop(&mut self) -> Vec<Op> {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the metadata client panicked");
        }
        self.ops()
    }
}

impl Drop for MetadataClient {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

async fn run(bootstrap: &str, stop: &AtomicBool, ops: &Mutex<Vec<Op>>) {
    let mut next = 1;
    let mut deletable: Vec<String> = Vec::new();
    while !stop.load(Ordering::Acquire) {
        let topic = format!("{PREFIX}{next}");
        next += 1;
        let outcome = create(bootstrap, &topic).await;
        if outcome == Outcome::Acknowledged {
            deletable.push(topic.clone());
        }
        ops.lock().expect("ops").push(Op { kind: Kind::Create, topic, outcome, at: Instant::now() });
        if next % 2 == 0 && !deletable.is_empty() {
            let topic = deletable.remove(0);
            let outcome = delete(bootstrap, &topic).await;
            ops.lock().expect("ops").push(Op { kind: Kind::Delete, topic, outcome, at: Instant::now() });
        }
        tokio::time::sleep(PAUSE).await;
    }
}

async fn create(bootstrap: &str, topic: &str) -> Outcome {
    let mut client = match Client::connect(bootstrap, REQUEST_TIMEOUT).await {
        Ok(client) => client,
        Err(e) => return Outcome::NotAcknowledged(format!("connect: {e}")),
    };
    let new = NewTopic { partitions: 1, replication_factor: 1, ..NewTopic::new(topic) };
    match client.create_topics(&[new], false).await {
        Ok(results) => match results.into_iter().next() {
            Some(Ok(_)) => Outcome::Acknowledged,
            Some(Err(e)) => Outcome::NotAcknowledged(e.to_string()),
            None => Outcome::NotAcknowledged("no result for the topic".into()),
        },
        Err(e) => Outcome::NotAcknowledged(e.to_string()),
    }
}

async fn delete(bootstrap: &str, topic: &str) -> Outcome {
    let mut client = match Client::connect(bootstrap, REQUEST_TIMEOUT).await {
        Ok(client) => client,
        Err(e) => return Outcome::NotAcknowledged(format!("connect: {e}")),
    };
    match client.delete_topics(&[topic]).await {
        Ok(results) => match results.into_iter().next() {
            Some((_, Ok(()))) => Outcome::Acknowledged,
            Some((_, Err(e))) => Outcome::NotAcknowledged(e.to_string()),
            None => Outcome::NotAcknowledged("no result for the topic".into()),
        },
        Err(e) => Outcome::NotAcknowledged(e.to_string()),
    }
}

/// What every broker must show once healed, from the requests' outcomes.
#[derive(Debug, Default)]
pub struct Expected {
    /// Acknowledged creates never asked to be deleted.
    pub present: BTreeSet<String>,
    /// Acknowledged deletes.
    pub absent: BTreeSet<String>,
}

impl Expected {
    pub fn from_ops(ops: &[Op]) -> Expected {
        let acked = |kind| {
            ops.iter()
                .filter(move |o| o.kind == kind && o.outcome == Outcome::Acknowledged)
                .map(|o| o.topic.clone())
        };
        let asked_to_delete: BTreeSet<&str> =
            ops.iter().filter(|o| o.kind == Kind::Delete).map(|o| o.topic.as_str()).collect();
        Expected {
            present: acked(Kind::Create).filter(|t| !asked_to_delete.contains(t.as_str())).collect(),
            absent: acked(Kind::Delete).collect(),
        }
    }
}

/// The client's topics each broker holds, by name with their ids.
pub type View = BTreeMap<String, uuid::Uuid>;

/// Asks each broker at `brokers` directly for every topic (its own image).
pub async fn views(brokers: &[SocketAddr]) -> Vec<Option<View>> {
    let mut all = Vec::new();
    for addr in brokers {
        let view = async {
            let mut client = Client::connect(&addr.to_string(), Duration::from_secs(3)).await.ok()?;
            let metadata = client.metadata(None, false).await.ok()?;
            let topics =
                metadata.topics.into_iter().filter(|t| t.name.starts_with(PREFIX) && t.error_code == 0);
            Some(topics.map(|t| (t.name, t.topic_id)).collect::<View>())
        };
        all.push(view.await);
    }
    all
}

/// Waits until every broker at `brokers` holds the same topics, including
/// every one `expected` needs present and none it needs absent, at most
/// `bound`; returns how many topics they agree on. Panics with each
/// broker's differences after the bound.
pub async fn converged(brokers: &[SocketAddr], expected: &Expected, bound: Duration) -> usize {
    let deadline = Instant::now() + bound;
    loop {
        let views = views(brokers).await;
        let problems = problems(&views, expected);
        if problems.is_empty() {
            return views[0].as_ref().map_or(0, BTreeMap::len);
        }
        assert!(
            Instant::now() < deadline,
            "brokers' metadata did not converge within {bound:?}:\n{problems}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What keeps `views` from being converged; empty when they are.
fn problems(views: &[Option<View>], expected: &Expected) -> String {
    let mut out = String::new();
    for (i, view) in views.iter().enumerate() {
        let Some(view) = view else {
            out.push_str(&format!("  broker #{i}: no Metadata answer\n"));
            continue;
        };
        let missing: Vec<&String> = expected.present.iter().filter(|t| !view.contains_key(*t)).collect();
        let resurrected: Vec<&String> = expected.absent.iter().filter(|t| view.contains_key(*t)).collect();
        if !missing.is_empty() {
            out.push_str(&format!("  broker #{i}: acknowledged creates missing: {missing:?}\n"));
        }
        if !resurrected.is_empty() {
            out.push_str(&format!("  broker #{i}: acknowledged deletes still there: {resurrected:?}\n"));
        }
        if let Some(Some(first)) = views.first() {
            if view != first {
                let only_here: Vec<_> = view.iter().filter(|(t, id)| first.get(*t) != Some(id)).collect();
                let only_first: Vec<_> = first.iter().filter(|(t, id)| view.get(*t) != Some(id)).collect();
                out.push_str(&format!(
                    "  broker #{i} disagrees with #0: only here {only_here:?}, only on #0 {only_first:?}\n"
                ));
            }
        }
    }
    out
}
