//! End to end, several Moon processes over one PostgreSQL or MariaDB database: three started
//! at the same moment on an empty database all come up with one admin and one JWT secret,
//! and every schema change made through one is served by the others within a second.

mod common;

use std::time::{Duration, Instant};

use common::Moon;
use moon_tests::engines::{Engine, TestDatabase};
use serde_json::{Value as Json, json};

/// Three instances started together on `url`.
fn start_three(url: &str) -> Vec<(Moon, tempfile::TempDir)> {
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let url = url.to_owned();
            std::thread::spawn(move || {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
                let moon = Moon::start(dir.path(), Some(&url));
                (moon, dir)
            })
        })
        .collect();
    starts
        .into_iter()
        .map(|s| {
            s.join()
                .unwrap_or_else(|_| panic!("an instance did not come up"))
        })
        .collect()
}

/// Waits until `check` holds for the answer of `GET path` on `moon`; the time it took.
async fn served_within(moon: &Moon, path: &str, check: impl Fn(u16, &Json) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = moon.get(path).await;
        if check(status, &body) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} not served as expected after 5 s: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn column<'a>(body: &'a Json, name: &str) -> Option<&'a Json> {
    body["collection"]["columns"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}

async fn instances_on(engine: Engine) {
    let db = TestDatabase::create(engine).await;
    let moons = start_three(&db.url);
    let (a, others) = (&moons[0].0, &moons[1..]);

    // One admin, one JWT secret: a token from one instance works on every other.
    let (status, users) = a.get("/users:list").await;
    assert_eq!(status, 200, "{engine:?}: {users}");
    let admins = users["users"]
        .as_array()
        .map(|u| u.iter().filter(|u| u["role"] == "admin").count());
    assert_eq!(admins, Some(1), "{engine:?}: {users}");
    for (other, _) in others {
        let res = other
            .http
            .get(format!("{}/auth:me", other.base))
            .bearer_auth(&a.token)
            .send()
            .await
            .map(|r| r.status().as_u16());
        assert_eq!(
            res.ok(),
            Some(200),
            "{engine:?}: A's token on another instance"
        );
    }

    // Every schema change through A is served by B and C within a second.
    let mut worst = Duration::ZERO;
    let steps: Vec<(Json, &str)> = vec![
        (
            json!({"create": {"name": "orders", "columns": [{"name": "qty", "type": "integer"}]}}),
            "create",
        ),
        (
            json!({"update": {"name": "orders", "add_columns": [{"name": "note", "type": "string"}]}}),
            "add",
        ),
        (
            json!({"update": {"name": "orders", "rename_columns": [{"old_name": "note", "new_name": "remark"}]}}),
            "rename",
        ),
        (
            json!({"update": {"name": "orders", "modify_columns": [{"name": "qty", "type": "string"}]}}),
            "type change",
        ),
        (json!({"destroy": {"name": "orders"}}), "destroy"),
    ];
    for (step, what) in steps {
        let (path, body) = match step.as_object().and_then(|o| o.iter().next()) {
            Some((k, v)) => (format!("/collections:{k}"), v.clone()),
            None => unreachable!(),
        };
        let (status, answer) = a.post(&path, &body).await;
        assert!(matches!(status, 200 | 201), "{engine:?} {what}: {answer}");
        for (other, _) in others {
            let took = served_within(other, "/collections:get?name=orders", |s, b| match what {
                "create" => s == 200,
                "add" => column(b, "note").is_some(),
                "rename" => column(b, "remark").is_some() && column(b, "note").is_none(),
                "type change" => column(b, "qty").is_some_and(|c| c["type"] == "string"),
                _ => s == 404,
            })
            .await;
            worst = worst.max(took);
        }
    }
    eprintln!(
        "{engine:?}: 3 instances; worst delay before another instance served a change: {worst:?}"
    );
    assert!(worst <= Duration::from_secs(1), "{engine:?}: {worst:?}");
    drop(moons);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_postgres_instances_start_together_and_agree_on_the_schema() {
    if Engine::configured().contains(&Engine::Postgres) {
        instances_on(Engine::Postgres).await;
    } else {
        eprintln!("PostgreSQL not configured (MOON_TEST_POSTGRES_URL unset): not run");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_mysql_instances_start_together_and_agree_on_the_schema() {
    if Engine::configured().contains(&Engine::MySql) {
        instances_on(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): not run");
    }
}
