//! Many creates at once on every engine (SQLite commits them in groups): each acknowledged
//! create reads back exactly and has one log entry, and a duplicate among them fails alone,
//! its neighbours in the same group still written.

use std::collections::BTreeSet;
use std::sync::Arc;

use moon_domain::ports::{ChangeLog, CollectionRepository, RecordRepository};
use moon_domain::{ChangeKind, RepoError};
use moon_sql::{
    PoolOptions, SqlChangeLog, SqlCollectionRepository, SqlDatabase, SqlRecordRepository,
};
use moon_tests::contract::{item, items};
use moon_tests::engines::{Engine, TestDatabase};

/// Creates started together; in the first half every seventh reuses the code of the one
/// before it (groups that fail and are written one by one), the second half all succeed.
const CREATES: u64 = 300;

fn code(n: u64) -> String {
    let owner = if n.is_multiple_of(7) && n <= CREATES / 2 {
        n - 1
    } else {
        n
    };
    format!("C-{owner}")
}

async fn run(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", test_db.url));
    let schema = items();
    SqlCollectionRepository::new(db.clone())
        .create(&schema)
        .await
        .unwrap_or_else(|e| panic!("create collection: {e}"));
    let records = Arc::new(SqlRecordRepository::new(db.clone()));
    let log = SqlChangeLog::new(db.clone());
    // Numbered at once here (PostgreSQL and MySQL number committed entries in passes).
    log.sequence()
        .await
        .unwrap_or_else(|e| panic!("sequence: {e}"));
    let head = log.bounds().await.map(|b| b.head).unwrap_or_default();

    let tasks: Vec<_> = (1..=CREATES)
        .map(|n| {
            let (records, schema) = (records.clone(), schema.clone());
            let record = item(n, &code(n), i64::try_from(n).unwrap_or(0), "1.25");
            tokio::spawn(async move {
                let result = records.insert(&schema, &record).await;
                (record, result)
            })
        })
        .collect();
    let mut written = Vec::new();
    let mut duplicates = BTreeSet::new();
    for task in tasks {
        let (record, result) = task.await.unwrap_or_else(|e| panic!("task: {e}"));
        match result {
            Ok(()) => written.push(record),
            Err(RepoError::Duplicate { .. }) => {
                duplicates.insert(code_of(&record));
            }
            Err(e) => panic!("{engine:?}: create {} failed: {e}", record.id),
        }
    }
    let codes: BTreeSet<String> = (1..=CREATES).map(code).collect();
    assert_eq!(
        written.len(),
        codes.len(),
        "{engine:?}: one create per code"
    );
    assert_eq!(
        duplicates.len(),
        usize::try_from(CREATES).unwrap_or(0) - codes.len(),
        "{engine:?}: every reused code refused"
    );
    for record in &written {
        let got = records
            .get(&schema, record.id)
            .await
            .unwrap_or_else(|e| panic!("get: {e}"))
            .unwrap_or_else(|| panic!("{engine:?}: acknowledged {} missing", record.id));
        assert_eq!(
            got.fields, record.fields,
            "{engine:?}: read back as written"
        );
    }

    log.sequence()
        .await
        .unwrap_or_else(|e| panic!("sequence: {e}"));
    let entries = log
        .after(Some("items"), head, 10_000)
        .await
        .unwrap_or_else(|e| panic!("log: {e}"));
    let logged: BTreeSet<String> = entries
        .iter()
        .filter(|c| c.kind == ChangeKind::Create)
        .filter_map(|c| c.record_id.clone())
        .collect();
    let acknowledged: BTreeSet<String> = written.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(
        entries.len(),
        written.len(),
        "{engine:?}: one entry per create"
    );
    assert_eq!(
        logged, acknowledged,
        "{engine:?}: the log names exactly the written"
    );
    assert!(
        entries.windows(2).all(|w| w[0].seq < w[1].seq),
        "{engine:?}: entries in sequence order"
    );
    db.close().await;
    test_db.drop_database().await;
}

fn code_of(record: &moon_domain::NewRecord) -> String {
    match &record.fields[0].1 {
        moon_domain::Value::Text(code) => code.clone(),
        other => panic!("code is text, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_creates_at_once() {
    run(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_creates_at_once() {
    if Engine::configured().contains(&Engine::Postgres) {
        run(Engine::Postgres).await;
    } else {
        eprintln!("PostgreSQL not configured (MOON_TEST_POSTGRES_URL unset): not run on it");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_creates_at_once() {
    if Engine::configured().contains(&Engine::MySql) {
        run(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): not run on it");
    }
}
