//! Request coalescing for idempotent reads (positions, quote snapshots).
//!
//! Callers of the same key that arrive while a request for that key is in flight do not send
//! their own request; they join the *next* one, which starts as soon as the in-flight one
//! finishes and serves every caller that queued meanwhile. Every caller therefore gets the answer
//! of a request sent after it called (never an older answer), while at most one request per key
//! is in flight: under load the TWS round trips per key are bounded by 1 / RTT instead of growing
//! with the number of callers. For positions this also matters for correctness: `reqPositions`
//! has no request id, so concurrent requests share one stream in ibapi and each caller would see
//! the others' rows and `positionEnd`s.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::watch;

use super::{BrokerError, BrokerResult};

type Reply<V> = Option<BrokerResult<V>>;

struct KeyState<V> {
    /// The batch waiting for the next request (not sent yet).
    pending: Option<watch::Sender<Reply<V>>>,
    /// A runner task is sending requests for this key.
    running: bool,
}

/// Coalesces concurrent identical reads; see the module docs.
pub(crate) struct Coalescer<K, V> {
    keys: Arc<Mutex<HashMap<K, KeyState<V>>>>,
}

impl<K, V> Default for Coalescer<K, V> {
    fn default() -> Self {
        Coalescer {
            keys: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<K, V> Coalescer<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The result of a `fetch` started after this call: either a new one, or the one every
    /// caller queued behind the in-flight request shares. `fetch` runs in a spawned task, so a
    /// caller that gives up (dropped future) does not cancel the request for the others.
    pub(crate) async fn run<F, Fut>(&self, key: K, fetch: F) -> BrokerResult<V>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = BrokerResult<V>> + Send + 'static,
    {
        let mut rx = {
            let mut keys = self.keys.lock();
            let state = keys.entry(key.clone()).or_insert_with(|| KeyState {
                pending: None,
                running: false,
            });
            let rx = match &state.pending {
                Some(tx) => tx.subscribe(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    state.pending = Some(tx);
                    rx
                }
            };
            if !state.running {
                state.running = true;
                tokio::spawn(drive(self.keys.clone(), key, fetch));
            }
            rx
        };
        match rx.wait_for(Option::is_some).await {
            Ok(r) => r.clone().expect("waited for Some"),
            Err(_) => Err(BrokerError::Other("coalesced request was dropped".into())),
        }
    }
}

/// Sends one request per queued batch until no caller is waiting.
async fn drive<K, V, F, Fut>(keys: Arc<Mutex<HashMap<K, KeyState<V>>>>, key: K, fetch: F)
where
    K: Eq + Hash + Send + Sync,
    V: Send + Sync,
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = BrokerResult<V>> + Send,
{
    // If `fetch` panics: fail the queued callers (dropping their sender) and free the key.
    struct OnPanic<'a, K: Eq + Hash, V> {
        keys: &'a Mutex<HashMap<K, KeyState<V>>>,
        key: &'a K,
        armed: bool,
    }
    impl<K: Eq + Hash, V> Drop for OnPanic<'_, K, V> {
        fn drop(&mut self) {
            if self.armed {
                self.keys.lock().remove(self.key);
            }
        }
    }
    let mut guard = OnPanic {
        keys: &keys,
        key: &key,
        armed: true,
    };
    loop {
        let batch = {
            let mut map = keys.lock();
            match map.get_mut(&key).and_then(|s| s.pending.take()) {
                Some(tx) => tx,
                None => {
                    // Under the same lock a new caller checks `running`: no caller is lost.
                    map.remove(&key);
                    guard.armed = false;
                    return;
                }
            }
        };
        let result = fetch().await;
        batch.send_replace(Some(result));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn callers_share_the_next_request_and_never_an_older_one() {
        let c: Arc<Coalescer<u8, usize>> = Arc::new(Coalescer::default());
        let sent = Arc::new(AtomicUsize::new(0));
        let fetch = {
            let sent = sent.clone();
            move || {
                let sent = sent.clone();
                async move {
                    let n = sent.fetch_add(1, Ordering::SeqCst) + 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(n)
                }
            }
        };
        // The first caller starts request 1.
        let first = tokio::spawn({
            let (c, f) = (c.clone(), fetch.clone());
            async move { c.run(0, f).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        // Ten callers while request 1 is in flight: all share request 2, sent after they called.
        let mut later = Vec::new();
        for _ in 0..10 {
            let (c, f) = (c.clone(), fetch.clone());
            later.push(tokio::spawn(async move { c.run(0, f).await }));
        }
        assert_eq!(first.await.unwrap(), Ok(1));
        for t in later {
            assert_eq!(t.await.unwrap(), Ok(2));
        }
        assert_eq!(sent.load(Ordering::SeqCst), 2);
        // Idle again: the next caller sends its own request; other keys are independent.
        assert_eq!(c.run(0, fetch.clone()).await, Ok(3));
        assert_eq!(c.run(1, fetch).await, Ok(4));
        assert!(c.keys.lock().is_empty());
    }

    #[tokio::test]
    async fn errors_reach_every_caller_of_the_batch() {
        let c: Arc<Coalescer<u8, usize>> = Arc::new(Coalescer::default());
        let fetch = || async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err(BrokerError::Other("boom".into()))
        };
        let a = tokio::spawn({
            let c = c.clone();
            async move { c.run(0, fetch).await }
        });
        let b = tokio::spawn({
            let c = c.clone();
            async move { c.run(0, fetch).await }
        });
        assert!(a.await.unwrap().is_err());
        assert!(b.await.unwrap().is_err());
    }
}
