//! The SQL contract story: one sequence of repository calls that every engine must pass
//! identically. Run against SQLite always, and PostgreSQL/MySQL when their URLs are given.

use chrono::{DateTime, Utc};
use moon_domain::ports::{CollectionRepository, RecordRepository};
use moon_domain::value::{parse_datetime, parse_decimal};
use moon_domain::{
    Collection, ColumnRename, Cursor, FieldType, ListQuery, NewRecord, RecordId, RepoError,
    SchemaChange, Value, Written,
};
use moon_mock::fixtures::{collection_name, column, column_name};
use moon_sql::{SqlCollectionRepository, SqlDatabase, SqlRecordRepository};
use serde_json::json;
use ulid::Ulid;

/// The collection the story works on: every type, one unique column.
#[must_use]
pub fn items() -> Collection {
    Collection {
        name: collection_name("items"),
        columns: vec![
            column("code", FieldType::String, false, true),
            column("qty", FieldType::Integer, true, false),
            column("price", FieldType::Decimal { scale: 2 }, true, false),
            column("active", FieldType::Boolean, true, false),
            column("seen_at", FieldType::Datetime, true, false),
            column("meta", FieldType::Json, true, false),
        ],
        indexes: Vec::new(),
        version: 1,
    }
}

fn at(text: &str) -> DateTime<Utc> {
    parse_datetime(text).unwrap_or_else(|e| panic!("{e}"))
}

fn dec(text: &str) -> Value {
    Value::Decimal(parse_decimal(text, 2).unwrap_or_else(|e| panic!("{e}")))
}

fn id(n: u64) -> RecordId {
    RecordId::from_ulid(Ulid::from_parts(1_700_000_000_000 + n, u128::from(n)))
}

/// A record of `items` with `code`, `qty` and `price`, the rest given.
#[must_use]
pub fn item(n: u64, code: &str, qty: i64, price: &str) -> NewRecord {
    NewRecord {
        id: id(n),
        created_at: at("2024-05-01T12:00:00.123456Z"),
        fields: vec![
            (column_name("code"), Value::Text(code.to_owned())),
            (column_name("qty"), Value::Integer(qty)),
            (column_name("price"), dec(price)),
            (column_name("active"), Value::Bool(n.is_multiple_of(2))),
            (
                column_name("seen_at"),
                Value::DateTime(at("2024-03-01T10:30:00.5+02:00")),
            ),
            (
                column_name("meta"),
                Value::Json(json!({"tags": ["a", "ü"], "n": n, "deep": {"x": null}})),
            ),
        ],
    }
}

/// Runs the whole story on `db`, which must hold no collection called `items`.
///
/// # Panics
/// On the first broken promise, saying which.
pub async fn story(db: SqlDatabase, reopen: impl AsyncFn() -> SqlDatabase) {
    let collections = SqlCollectionRepository::new(db.clone());
    let records = SqlRecordRepository::new(db.clone());
    let schema = items();
    let version = collections
        .create(&schema)
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    // An instance that read the epoch the create's version came from before the metadata row
    // was in (MySQL writes it outside a transaction) must see the epoch move again after.
    let epoch = collections.schema_epoch().await.unwrap_or_default();
    assert!(
        u64::try_from(epoch).unwrap_or_default() > version,
        "epoch {epoch} after creating version {version}"
    );
    assert_eq!(
        collections.load_all().await.ok(),
        Some(vec![schema.clone()]),
        "metadata stored"
    );

    // Values round-trip exactly.
    let first = item(1, "A-1", 3, "99999999999999999.99");
    records
        .insert(&schema, &first)
        .await
        .unwrap_or_else(|e| panic!("insert: {e}"));
    let got = records
        .get(&schema, first.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("get after insert"));
    assert_eq!(got.fields, first.fields, "every type round-trips");
    assert_eq!(
        (got.created_at, got.updated_at, got.version),
        (first.created_at, first.created_at, 1)
    );
    let json_back = serde_json::to_value(&got).unwrap_or_default();
    assert_eq!(json_back["price"], "99999999999999999.99");
    assert_eq!(json_back["seen_at"], "2024-03-01T08:30:00.500Z");
    assert_eq!(json_back["created_at"], "2024-05-01T12:00:00.123456Z");

    let mut negative = item(2, "B-2", -7, "-0.01");
    negative.fields[4].1 = Value::Null;
    negative.fields[3].1 = Value::Null;
    records
        .insert(&schema, &negative)
        .await
        .unwrap_or_else(|e| panic!("insert nulls: {e}"));
    let got = records
        .get(&schema, negative.id)
        .await
        .ok()
        .flatten()
        .map(|r| r.fields);
    assert_eq!(
        got,
        Some(negative.fields.clone()),
        "nulls and negative decimals round-trip"
    );

    // Unique violations name the field and write nothing.
    let clash = records.insert(&schema, &item(3, "A-1", 0, "1.00")).await;
    assert_eq!(
        clash,
        Err(RepoError::Duplicate {
            field: Some("code".into())
        })
    );
    assert_eq!(
        records.count(&schema, &ListQuery::first(1)).await.ok(),
        Some(2)
    );

    // Updates set only the given fields, bump the version, stamp updated_at.
    let later = at("2024-06-01T00:00:00Z");
    let updated = records
        .update(
            &schema,
            first.id,
            &[
                (column_name("qty"), Value::Integer(4)),
                (column_name("price"), Value::Null),
            ],
            later,
            Some(1),
        )
        .await
        .unwrap_or_else(|e| panic!("update: {e}"));
    let Written::Done(updated) = updated else {
        panic!("update at the current version: {updated:?}")
    };
    assert_eq!(
        (updated.version, updated.updated_at, updated.created_at),
        (2, later, first.created_at)
    );
    assert_eq!(updated.fields[1].1, Value::Integer(4));
    assert_eq!(updated.fields[2].1, Value::Null);
    assert_eq!(updated.fields[0].1, Value::Text("A-1".into()));
    let dup = records
        .update(
            &schema,
            negative.id,
            &[(column_name("code"), Value::Text("A-1".into()))],
            later,
            None,
        )
        .await;
    assert_eq!(
        dup,
        Err(RepoError::Duplicate {
            field: Some("code".into())
        })
    );
    assert_eq!(
        records
            .update(
                &schema,
                id(99),
                &[(column_name("qty"), Value::Integer(1))],
                later,
                None
            )
            .await,
        Ok(Written::Missing)
    );
    // A stale expected version writes nothing, on update and delete alike.
    let stale = records
        .update(
            &schema,
            first.id,
            &[(column_name("qty"), Value::Integer(99))],
            later,
            Some(1),
        )
        .await;
    assert_eq!(stale, Ok(Written::Stale));
    assert_eq!(
        records.delete(&schema, first.id, Some(1)).await,
        Ok(Written::Stale)
    );
    let still = records
        .get(&schema, first.id)
        .await
        .ok()
        .flatten()
        .map(|r| (r.version, r.fields[1].1.clone()));
    assert_eq!(
        still,
        Some((2, Value::Integer(4))),
        "a stale write changes nothing"
    );

    // Lists come in id order and continue after a cursor.
    for n in 3..8 {
        records
            .insert(&schema, &item(n, &format!("C-{n}"), 0, "1.50"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let page = records
        .list(&schema, &ListQuery::first(3))
        .await
        .unwrap_or_default();
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        [id(1), id(2), id(3)]
    );
    let rest = records
        .list(
            &schema,
            &ListQuery {
                after: Some(Cursor {
                    values: vec![],
                    last_id: id(3),
                }),
                ..ListQuery::first(10)
            },
        )
        .await
        .unwrap_or_default();
    assert_eq!(
        rest.iter().map(|r| r.id).collect::<Vec<_>>(),
        [id(4), id(5), id(6), id(7)]
    );

    // Deletes.
    assert_eq!(
        records.delete(&schema, id(7), Some(1)).await,
        Ok(Written::Done(()))
    );
    assert_eq!(
        records.delete(&schema, id(7), None).await,
        Ok(Written::Missing)
    );
    assert_eq!(
        records.count(&schema, &ListQuery::first(1)).await.ok(),
        Some(6)
    );

    let schema = alter_story(&collections, &records, schema).await;

    // A reopened database serves the same schema and rows.
    let again = reopen().await;
    let reloaded = SqlCollectionRepository::new(again.clone())
        .load_all()
        .await
        .unwrap_or_default();
    assert_eq!(reloaded, vec![schema.clone()], "schema survives a restart");
    let reread = SqlRecordRepository::new(again.clone())
        .get(&schema, first.id)
        .await
        .ok()
        .flatten();
    assert_eq!(reread.map(|r| r.version), Some(2), "rows survive a restart");
    again.close().await;

    collections
        .destroy(&schema.name)
        .await
        .unwrap_or_else(|e| panic!("destroy: {e}"));
    assert_eq!(collections.load_all().await.ok(), Some(vec![]));
    assert!(
        records.count(&schema, &ListQuery::first(1)).await.is_err(),
        "the table is gone"
    );
}

/// Schema changes: the happy path, then failures that must leave everything as before.
async fn alter_story(
    collections: &SqlCollectionRepository,
    records: &SqlRecordRepository,
    schema: Collection,
) -> Collection {
    // Failing type change: "A-1" is not an integer. Nothing changes.
    let to_integer = SchemaChange {
        modify: vec![column("code", FieldType::Integer, false, true)],
        ..SchemaChange::default()
    };
    let plan = to_integer
        .plan(&schema, 100)
        .unwrap_or_else(|e| panic!("{e}"));
    let failed = collections.alter(&schema, &plan, false).await;
    assert!(
        matches!(&failed, Err(RepoError::Invalid(f)) if f.field == "code"),
        "{failed:?}"
    );
    assert_eq!(
        collections.load_all().await.ok(),
        Some(vec![schema.clone()]),
        "metadata unchanged"
    );
    let before = records
        .list(&schema, &ListQuery::first(100))
        .await
        .unwrap_or_default();
    assert_eq!(
        before.len(),
        6,
        "rows unchanged and readable with the old types"
    );

    // Making a column with nulls required fails; so does a unique column with duplicates.
    let required = SchemaChange {
        modify: vec![column("seen_at", FieldType::Datetime, false, false)],
        ..SchemaChange::default()
    };
    let plan = required
        .plan(&schema, 100)
        .unwrap_or_else(|e| panic!("{e}"));
    let failed = collections.alter(&schema, &plan, false).await;
    assert!(
        matches!(&failed, Err(RepoError::Invalid(f)) if f.field == "seen_at"),
        "{failed:?}"
    );
    let unique = SchemaChange {
        modify: vec![column("price", FieldType::Decimal { scale: 2 }, true, true)],
        ..SchemaChange::default()
    };
    let plan = unique.plan(&schema, 100).unwrap_or_else(|e| panic!("{e}"));
    let failed = collections.alter(&schema, &plan, false).await;
    assert!(
        matches!(&failed, Err(RepoError::Duplicate { .. })),
        "{failed:?}"
    );
    assert_eq!(
        collections.load_all().await.ok(),
        Some(vec![schema.clone()])
    );

    // A dry run does the work and keeps nothing.
    let change = SchemaChange {
        rename: vec![ColumnRename {
            from: column_name("qty"),
            to: column_name("quantity"),
        }],
        modify: vec![column(
            "price",
            FieldType::Decimal { scale: 4 },
            true,
            false,
        )],
        add: vec![column("note", FieldType::String, true, false)],
        remove: vec![column_name("active")],
        ..SchemaChange::default()
    };
    let plan = change.plan(&schema, 100).unwrap_or_else(|e| panic!("{e}"));
    let statements = collections
        .alter(&schema, &plan, true)
        .await
        .unwrap_or_default();
    assert!(!statements.is_empty(), "a dry run reports its statements");
    assert_eq!(
        collections.load_all().await.ok(),
        Some(vec![schema.clone()]),
        "a dry run keeps nothing"
    );
    assert_eq!(
        records.list(&schema, &ListQuery::first(100)).await.ok(),
        Some(before.clone())
    );

    // The real change: data follows renames, converts, and added columns get type defaults.
    collections
        .alter(&schema, &plan, false)
        .await
        .unwrap_or_else(|e| panic!("alter: {e}"));
    let next = plan.next;
    assert_eq!(collections.load_all().await.ok(), Some(vec![next.clone()]));
    let after = records
        .list(&next, &ListQuery::first(100))
        .await
        .unwrap_or_default();
    assert_eq!(after.len(), before.len());
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(
            (old.id, old.version, old.created_at),
            (new.id, new.version, new.created_at)
        );
        let json = serde_json::to_value(new).unwrap_or_default();
        let old_json = serde_json::to_value(old).unwrap_or_default();
        assert_eq!(json["quantity"], old_json["qty"]);
        assert_eq!(json["note"], "");
        assert!(json.get("active").is_none());
        if let Some(price) = old_json["price"].as_str() {
            assert_eq!(
                json["price"],
                format!("{price}00"),
                "scale 2 → 4 keeps the value"
            );
        }
    }
    // New rows keep working, ids stay unique, pkids keep counting.
    let mut fresh = item(20, "Z-20", 1, "2.00");
    fresh.fields = next
        .columns
        .iter()
        .map(|c| (c.name.clone(), Value::type_default(c.field_type)))
        .collect();
    fresh.fields[0].1 = Value::Text("Z-20".into());
    records
        .insert(&next, &fresh)
        .await
        .unwrap_or_else(|e| panic!("insert after alter: {e}"));
    assert_eq!(
        records.count(&next, &ListQuery::first(1)).await.ok(),
        Some(7)
    );
    next
}
