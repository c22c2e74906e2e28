//! Unit tests of `schema_change`.

use super::*;
use crate::field_type::FieldType;
use crate::name::CollectionName;

fn name(raw: &str) -> ColumnName {
    ColumnName::parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

fn col(raw: &str, field_type: FieldType) -> Column {
    Column {
        name: name(raw),
        field_type,
        nullable: true,
        unique: false,
    }
}

fn current() -> Collection {
    Collection {
        name: CollectionName::parse("items").unwrap_or_else(|e| panic!("{e}")),
        columns: vec![
            col("alpha", FieldType::String),
            col("beta", FieldType::Integer),
        ],
        indexes: Vec::new(),
        version: 3,
    }
}

#[test]
fn operations_apply_in_order_and_track_sources() {
    let change = SchemaChange {
        rename: vec![ColumnRename {
            from: name("alpha"),
            to: name("gamma"),
        }],
        modify: vec![col("gamma", FieldType::Integer)],
        add: vec![col("delta", FieldType::Boolean)],
        remove: vec![name("beta")],
        ..Default::default()
    };
    let plan = change
        .plan(&current(), 100)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.next.version, 4);
    let got: Vec<_> = plan
        .columns
        .iter()
        .map(|p| {
            (
                p.column.name.as_str(),
                p.source.as_ref().map(ColumnName::as_str),
            )
        })
        .collect();
    assert_eq!(got, [("gamma", Some("alpha")), ("delta", None)]);
    assert_eq!(plan.next.columns[0].field_type, FieldType::Integer);
}

#[test]
fn bad_operations_name_the_field() {
    let unknown = SchemaChange {
        remove: vec![name("nope")],
        ..Default::default()
    };
    assert!(
        matches!(unknown.plan(&current(), 100), Err(SchemaError::Field(f)) if f.field == "remove_columns[0]")
    );
    let clash = SchemaChange {
        rename: vec![ColumnRename {
            from: name("alpha"),
            to: name("beta"),
        }],
        ..Default::default()
    };
    assert!(
        matches!(clash.plan(&current(), 100), Err(SchemaError::Field(f)) if f.field == "rename_columns[0].new_name")
    );
    let too_many = SchemaChange {
        add: vec![col("delta", FieldType::Json)],
        ..Default::default()
    };
    assert_eq!(
        too_many.plan(&current(), 2),
        Err(SchemaError::TooManyColumns { max: 2 })
    );
    assert!(SchemaChange::default().plan(&current(), 100).is_err());
    let empty = SchemaChange {
        remove: vec![name("alpha"), name("beta")],
        ..Default::default()
    };
    assert!(empty.plan(&current(), 100).is_err());
}

#[test]
fn new_collections_need_distinct_columns() {
    assert!(check_columns(&[], 10).is_err());
    assert!(
        check_columns(
            &[col("alpha", FieldType::Json), col("alpha", FieldType::Json)],
            10
        )
        .is_err()
    );
    assert_eq!(
        check_columns(
            &[col("alpha", FieldType::Json), col("beta", FieldType::Json)],
            1
        ),
        Err(SchemaError::TooManyColumns { max: 1 })
    );
}
