//! Deadlocks and serialization failures are the engine's to resolve, not the client's: a
//! write the engine rolled back for one of them runs again, a bounded number of times.

use std::future::Future;
use std::time::Duration;

use moon_domain::RepoError;

/// Runs of a write in all, the first included.
const ATTEMPTS: u32 = 5;
/// The pause before the second run; it doubles after each.
const FIRST_PAUSE: Duration = Duration::from_millis(4);

/// Runs `write` until it ends other than with a transient conflict (`is_transient`), at
/// most [`ATTEMPTS`] times; the last outcome is returned as it is.
pub async fn on_conflict<T, E, F, Fut>(
    is_transient: impl Fn(&E) -> bool,
    mut write: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut pause = FIRST_PAUSE;
    for _ in 1..ATTEMPTS {
        match write().await {
            Err(e) if is_transient(&e) => {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            outcome => return outcome,
        }
    }
    write().await
}

/// Whether a repository error is a transient conflict.
#[must_use]
pub const fn transient(e: &RepoError) -> bool {
    matches!(e, RepoError::Transient(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn conflicts_run_again_a_bounded_number_of_times() {
        let runs = AtomicU32::new(0);
        let outcome: Result<u32, RepoError> = on_conflict(transient, || async {
            let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
            if n < 3 {
                Err(RepoError::Transient("deadlock".into()))
            } else {
                Ok(n)
            }
        })
        .await;
        assert_eq!(outcome.ok(), Some(3));

        runs.store(0, Ordering::SeqCst);
        let outcome: Result<(), RepoError> = on_conflict(transient, || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Err(RepoError::Transient("deadlock".into()))
        })
        .await;
        assert!(matches!(outcome, Err(RepoError::Transient(_))));
        assert_eq!(runs.load(Ordering::SeqCst), ATTEMPTS);

        runs.store(0, Ordering::SeqCst);
        let outcome: Result<(), RepoError> = on_conflict(transient, || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Err(RepoError::Duplicate { field: None })
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "other errors are final at once"
        );
    }
}
