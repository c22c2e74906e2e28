//! Each row's text from remembered one-row inserts is the text sea-query renders for it,
//! value for value; the writer commits a group whole or not at all.

use chrono::Utc;
use moon_domain::{
    Collection, CollectionName, Column, ColumnName, FieldType, NewRecord, RecordId, Value,
};
use sea_query::{Expr, SqliteQueryBuilder};
use tokio::sync::oneshot;

use std::time::Duration;

use moon_domain::RepoError;
use sea_query::Value as SqlValue;

use super::writer::Row;
use super::{Setup, Texts, Writer, rows};
use crate::changes;
use crate::connect::SqliteSync;
use crate::dialect::Backend;
use crate::group_commit::Create;
use crate::shaped;

fn collection(name: &str, columns: &[(&str, FieldType)]) -> Collection {
    Collection {
        name: CollectionName::parse(name).unwrap_or_else(|e| panic!("{e}")),
        columns: columns
            .iter()
            .map(|(name, field_type)| Column {
                name: ColumnName::parse(name).unwrap_or_else(|e| panic!("{e}")),
                field_type: *field_type,
                nullable: true,
                unique: false,
            })
            .collect(),
        indexes: Vec::new(),
        version: 3,
    }
}

fn create(collection: &Collection, values: Vec<Value>) -> Create {
    let record = NewRecord {
        id: RecordId::from_ulid(ulid::Ulid::new()),
        created_at: Utc::now(),
        fields: collection
            .columns
            .iter()
            .map(|c| c.name.clone())
            .zip(values)
            .collect(),
    };
    let (done, _) = oneshot::channel();
    Create::new(Backend::Sqlite, collection, &record, done).unwrap_or_else(|e| panic!("{e}"))
}

/// What sea-query renders for `create` alone, tagged with its shape: the oracle.
fn rendered_alone(create: &Create) -> (String, Vec<sea_query::Value>) {
    let mut insert = create.head.clone();
    insert
        .values(create.row.iter().cloned().map(Expr::val))
        .unwrap_or_else(|e| panic!("{e}"));
    let (text, bound) = insert.build(SqliteQueryBuilder);
    let shape = &create.shape;
    (shaped::tag(&shape.name, shape.fingerprint, &text), bound.0)
}

fn rendered_entry(create: &Create) -> (String, Vec<sea_query::Value>) {
    let mut log = changes::append_head();
    log.values(create.entry.iter().cloned().map(Expr::val))
        .unwrap_or_else(|e| panic!("{e}"));
    let (text, bound) = log.build(SqliteQueryBuilder);
    (text, bound.0)
}

#[test]
fn each_row_renders_as_sea_query_renders_it() {
    let things = collection(
        "things",
        &[
            ("title", FieldType::String),
            ("count", FieldType::Integer),
            ("done", FieldType::Boolean),
            ("price", FieldType::Decimal { scale: 2 }),
        ],
    );
    let others = collection("others", &[("note", FieldType::Json)]);
    let price = || Value::Decimal("19.99".parse().unwrap_or_else(|e| panic!("{e}")));
    let creates = [
        create(
            &things,
            vec![
                Value::Text("a".into()),
                Value::Integer(1),
                Value::Bool(true),
                price(),
            ],
        ),
        create(&others, vec![Value::Null]),
        create(
            &things,
            vec![
                Value::Null,
                Value::Integer(-7),
                Value::Bool(false),
                Value::Null,
            ],
        ),
        create(
            &things,
            vec![
                Value::Text("it's".into()),
                Value::Null,
                Value::Null,
                price(),
            ],
        ),
    ];
    let mut texts = Texts::default();
    for group in [
        creates.iter().collect::<Vec<_>>(),
        vec![&creates[1]],
        vec![&creates[2], &creates[0]],
        creates.iter().rev().collect(),
    ] {
        let rows = rows(&mut texts, &group).unwrap_or_else(|e| panic!("{e}"));
        let expected: Vec<_> = group
            .iter()
            .flat_map(|c| [rendered_alone(c), rendered_entry(c)])
            .collect();
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.sql.to_string(), r.values.clone()))
            .collect();
        assert_eq!(got, expected, "a group of {}", group.len());
    }
    assert_eq!(texts.inserts.len(), 2, "one text per shape");
}

fn writer(dir: &tempfile::TempDir, sync: SqliteSync) -> (Writer, rusqlite::Connection) {
    let path = dir.path().join("moon.db");
    let setup = Setup {
        sync,
        busy_timeout: Duration::from_secs(5),
    };
    let writer = Writer::open(&path, setup).unwrap_or_else(|e| panic!("{e}"));
    let reader = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
    reader
        .execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, b INTEGER)")
        .unwrap_or_else(|e| panic!("{e}"));
    (writer, reader)
}

fn row(id: &str, n: Option<i64>, b: Option<bool>) -> Row {
    Row {
        sql: "INSERT INTO t (id, n, b) VALUES (?, ?, ?)".into(),
        values: vec![
            SqlValue::String(Some(id.into())),
            SqlValue::BigInt(n),
            SqlValue::Bool(b),
        ],
    }
}

fn stored(reader: &rusqlite::Connection) -> Vec<(String, Option<i64>, Option<i64>)> {
    let mut query = reader
        .prepare("SELECT id, n, b FROM t ORDER BY id")
        .unwrap_or_else(|e| panic!("{e}"));
    query
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(Iterator::collect)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_group_is_written_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (writer, reader) = writer(&dir, SqliteSync::Normal);
    let first = vec![row("a", Some(1), Some(true)), row("b", None, Some(false))];
    writer.write(first).await.unwrap_or_else(|e| panic!("{e}"));
    let clash = vec![row("c", Some(3), None), row("a", Some(9), None)];
    let refused = writer.write(clash).await;
    assert!(
        matches!(&refused, Err(RepoError::Duplicate { field: Some(f) }) if f == "id"),
        "{refused:?}"
    );
    assert_eq!(
        stored(&reader),
        vec![
            ("a".to_owned(), Some(1), Some(1)),
            ("b".to_owned(), None, Some(0)),
        ],
        "the refused group left nothing, the first is whole"
    );
    writer
        .write(vec![row("c", Some(3), None)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        stored(&reader).len(),
        3,
        "the writer goes on after a refusal"
    );
}

#[tokio::test]
async fn the_writer_commits_as_synchronous_as_asked() {
    for (sync, level) in [(SqliteSync::Normal, 1), (SqliteSync::Full, 2)] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (writer, _reader) = writer(&dir, sync);
        let asked = writer.ask("PRAGMA synchronous").await;
        assert_eq!(asked.ok(), Some(level), "{sync:?}");
    }
}
