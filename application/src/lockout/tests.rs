//! Unit tests of `lockout`.

use super::*;
use std::sync::Mutex;

struct TestClock(Mutex<DateTime<Utc>>);
impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|t| *t).unwrap_or_default()
    }
}

fn lockout(max: u32) -> (Arc<LoginLockout>, Arc<TestClock>) {
    let clock = Arc::new(TestClock(Mutex::new(Utc::now())));
    let lock = LoginLockout::new(max, Duration::from_secs(900), clock.clone());
    (Arc::new(lock), clock)
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_gets_max_answers_then_429() {
    let (lock, clock) = lockout(5);
    let attempts = (0..24).map(|_| {
        let lock = Arc::clone(&lock);
        tokio::spawn(async move {
            match lock.begin("ip|ada").await {
                Ok(attempt) => {
                    tokio::task::yield_now().await;
                    attempt.failed().await;
                    "checked"
                }
                Err(AppError::RateLimited { .. }) => "locked",
                Err(_) => "other",
            }
        })
    });
    let mut outcomes = Vec::new();
    for a in attempts {
        outcomes.push(a.await.unwrap_or("panicked"));
    }
    assert_eq!(outcomes.iter().filter(|o| **o == "checked").count(), 5);
    assert_eq!(outcomes.iter().filter(|o| **o == "locked").count(), 19);
    if let Ok(mut t) = clock.0.lock() {
        *t += chrono::Duration::seconds(901);
    }
    assert!(
        lock.begin("ip|ada").await.is_ok(),
        "the lock ends with its window"
    );
}

#[tokio::test]
async fn correct_logins_in_a_burst_all_get_through() {
    let (lock, _) = lockout(5);
    let attempts = (0..16).map(|_| {
        let lock = Arc::clone(&lock);
        tokio::spawn(async move {
            let attempt = lock.begin("ip|ada").await.ok()?;
            tokio::task::yield_now().await;
            attempt.succeeded().await;
            Some(())
        })
    });
    for a in attempts {
        assert_eq!(a.await.ok().flatten(), Some(()));
    }
    assert!(lock.is_empty(), "nothing is remembered after successes");
}

#[tokio::test]
async fn the_table_is_bounded_and_swept() {
    let (lock, clock) = lockout(5);
    for i in 0..MAX_ENTRIES {
        if let Ok(a) = lock.begin(&format!("k{i}")).await {
            a.failed().await;
        }
    }
    assert!(matches!(
        lock.begin("new").await,
        Err(AppError::Busy { .. })
    ));
    if let Ok(mut t) = clock.0.lock() {
        *t += chrono::Duration::seconds(901);
    }
    assert!(lock.begin("new").await.is_ok(), "expired entries make room");
    assert!(lock.len() <= 1);
}
