//! The group's text from remembered one-row inserts is the text sea-query renders for the
//! whole group, value for value.

use chrono::Utc;
use moon_domain::{
    Collection, CollectionName, Column, ColumnName, FieldType, NewRecord, RecordId, Value,
};
use sea_query::{Expr, SqliteQueryBuilder};
use tokio::sync::oneshot;

use super::{Texts, render};
use crate::changes;
use crate::dialect::Backend;
use crate::group_commit::{Create, by_shape};
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

/// What sea-query renders for `group` built row by row: the oracle.
fn rendered_whole(group: &[&Create]) -> (String, Vec<sea_query::Value>) {
    let mut sql = String::from("BEGIN; ");
    let mut values = Vec::new();
    let mut log = changes::append_head();
    for (shape, creates) in by_shape(group) {
        let mut insert = creates[0].head.clone();
        for create in &creates {
            insert
                .values(create.row.iter().cloned().map(Expr::val))
                .unwrap_or_else(|e| panic!("{e}"));
            log.values(create.entry.iter().cloned().map(Expr::val))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let (text, bound) = insert.build(SqliteQueryBuilder);
        sql.push_str(&shaped::tag(&shape.name, shape.fingerprint, &text));
        sql.push_str("; ");
        values.extend(bound.0);
    }
    let (text, bound) = log.build(SqliteQueryBuilder);
    sql.push_str(&text);
    sql.push_str("; COMMIT");
    values.extend(bound.0);
    (sql, values)
}

#[test]
fn a_group_renders_as_sea_query_renders_it() {
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
        assert_eq!(
            render(&mut texts, &group).unwrap_or_else(|e| panic!("{e}")),
            rendered_whole(&group),
            "a group of {}",
            group.len()
        );
    }
    assert_eq!(texts.inserts.len(), 2, "one text per shape");
}
