//! Password hashing, bounded: an argon2 hash takes 19 MiB and tens of milliseconds, so at most
//! as many run at once as there are cores, a bounded number wait their turn, and the rest are
//! told to come back (`503` with `Retry-After`) instead of growing memory without limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use moon_domain::ports::PasswordHasher;
use tokio::sync::Semaphore;

use crate::error::AppError;

/// How many hashes run at once and how many may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    pub concurrent: usize,
    pub waiting: usize,
}

impl Default for HashingLimits {
    fn default() -> Self {
        Self {
            concurrent: std::thread::available_parallelism().map_or(2, usize::from),
            waiting: 64,
        }
    }
}

/// The hasher behind a semaphore and a bounded queue.
pub struct HashingPool {
    hasher: Arc<dyn PasswordHasher>,
    permits: Arc<Semaphore>,
    limits: HashingLimits,
    /// Jobs admitted and not finished: running and waiting.
    admitted: Arc<AtomicUsize>,
}

impl HashingPool {
    #[must_use]
    pub fn new(hasher: Arc<dyn PasswordHasher>, limits: HashingLimits) -> Self {
        let limits = HashingLimits {
            concurrent: limits.concurrent.max(1),
            ..limits
        };
        Self {
            hasher,
            permits: Arc::new(Semaphore::new(limits.concurrent)),
            limits,
            admitted: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Jobs admitted now (running and waiting), and the limits.
    #[must_use]
    pub fn load(&self) -> (usize, HashingLimits) {
        (self.admitted.load(Ordering::Relaxed), self.limits)
    }

    /// Runs `job` with the hasher on a blocking thread, when a slot is free.
    ///
    /// # Errors
    /// [`AppError::Busy`] when the queue is full; [`AppError::Internal`] if the job panics.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&dyn PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let capacity = self.limits.concurrent + self.limits.waiting;
        if self.admitted.fetch_add(1, Ordering::SeqCst) >= capacity {
            self.admitted.fetch_sub(1, Ordering::SeqCst);
            return Err(AppError::Busy { retry_after: 1 });
        }
        // Leaves the count right however this future ends (finished, failed or dropped).
        let admitted = Admitted {
            count: Arc::clone(&self.admitted),
            hasher: Arc::clone(&self.hasher),
        };
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let hasher = Arc::clone(&self.hasher);
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job(hasher.as_ref())
        })
        .await
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")));
        drop(admitted);
        outcome
    }
}

struct Admitted {
    count: Arc<AtomicUsize>,
    hasher: Arc<dyn PasswordHasher>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            // Nothing running or waiting: the memory kept between hashes goes back.
            self.hasher.release_memory();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    struct SlowHasher {
        running: AtomicUsize,
        most: AtomicUsize,
        released: AtomicBool,
    }

    impl PasswordHasher for SlowHasher {
        fn hash(&self, _: &str) -> Result<String, moon_domain::RepoError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(String::new())
        }
        fn verify(&self, _: &str, _: &str) -> bool {
            false
        }
        fn verify_unknown_user(&self, _: &str) {}
        fn release_memory(&self) {
            self.released.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn hashes_run_a_few_at_a_time_and_the_overflow_is_told_to_wait() {
        let hasher = Arc::new(SlowHasher {
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            released: AtomicBool::new(false),
        });
        let pool = Arc::new(HashingPool::new(
            hasher.clone(),
            HashingLimits {
                concurrent: 2,
                waiting: 6,
            },
        ));
        let jobs: Vec<_> = (0..12)
            .map(|_| {
                let pool = Arc::clone(&pool);
                tokio::spawn(async move { pool.run(|h| h.hash("x")).await })
            })
            .collect();
        let mut busy = 0;
        let mut done = 0;
        for job in jobs {
            match job.await.unwrap_or(Err(AppError::Internal(String::new()))) {
                Ok(_) => done += 1,
                Err(AppError::Busy { retry_after }) => {
                    assert_eq!(retry_after, 1);
                    busy += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!((done, busy), (8, 4), "2 running + 6 waiting, 4 turned away");
        assert_eq!(hasher.most.load(Ordering::SeqCst), 2);
        assert!(
            hasher.released.load(Ordering::SeqCst),
            "memory given back when idle"
        );
    }
}
