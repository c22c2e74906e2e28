//! Built documents, one per kind and audience, kept until the schema changes or they go
//! unused: concurrent requests wait for the one build and share its bytes.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::OnceCell;

/// A built document and its tag.
#[derive(Debug, Clone)]
pub(super) struct Built {
    pub(super) body: Bytes,
    pub(super) etag: String,
}

/// Built documents, one per kind and audience, kept until the schema changes. A document
/// is built once per schema version: concurrent requests wait for the one build (OpenAPI's
/// on a blocking thread, off the request threads) and share its bytes.
#[derive(Debug, Default)]
pub struct DocsCache {
    slots: Arc<Mutex<Vec<Slot>>>,
    /// Whether a sweeper is watching the slots.
    sweeping: Arc<AtomicBool>,
}

/// A document kind and audience, the schema key it was built for, its (pending) bytes and
/// when it was last served.
type Slot = (&'static str, u64, Arc<OnceCell<Built>>, Instant);

/// A document not served for this long is dropped (a 100 × 100 schema's is 14 MB); the
/// next request builds it again.
const KEEP_IDLE: Duration = Duration::from_secs(5);

impl DocsCache {
    /// The cell for `slot` at `key`, replacing the slot's older one.
    fn cell(&self, slot: &'static str, key: u64) -> Arc<OnceCell<Built>> {
        let Ok(mut slots) = self.slots.lock() else {
            return Arc::new(OnceCell::new());
        };
        let now = Instant::now();
        if let Some(found) = slots
            .iter_mut()
            .find(|(s, k, _, _)| *s == slot && *k == key)
        {
            found.3 = now;
            return Arc::clone(&found.2);
        }
        let cell = Arc::new(OnceCell::new());
        slots.retain(|(s, _, _, _)| *s != slot);
        slots.push((slot, key, Arc::clone(&cell), now));
        drop(slots);
        self.sweep_later();
        cell
    }

    /// Starts (once) a task that drops documents idle past [`KEEP_IDLE`], and ends when
    /// none is left.
    fn sweep_later(&self) {
        if self.sweeping.swap(true, Ordering::SeqCst) {
            return;
        }
        let (slots, sweeping) = (Arc::clone(&self.slots), Arc::clone(&self.sweeping));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(KEEP_IDLE / 2).await;
                let Ok(mut held) = slots.lock() else {
                    break;
                };
                held.retain(|(_, _, _, used)| used.elapsed() < KEEP_IDLE);
                if held.is_empty() {
                    sweeping.store(false, Ordering::SeqCst);
                    break;
                }
            }
        });
    }

    /// The document for `slot` at `key`, built on a blocking thread by `build` when missing.
    pub(super) async fn get_or_build(
        &self,
        slot: &'static str,
        key: u64,
        build: impl FnOnce() -> Vec<u8> + Send + 'static,
    ) -> Built {
        let cell = self.cell(slot, key);
        cell.get_or_init(|| async move {
            let body = tokio::task::spawn_blocking(build).await.unwrap_or_default();
            let etag = etag_of(&body);
            Built {
                body: body.into(),
                etag,
            }
        })
        .await
        .clone()
    }
}

pub(super) fn etag_of(body: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}
