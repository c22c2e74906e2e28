//! Unit tests of `index`.

use super::*;

fn column(name: &str, field_type: FieldType) -> Column {
    Column {
        name: ColumnName::parse(name).unwrap_or_else(|e| panic!("{e}")),
        field_type,
        nullable: true,
        unique: false,
    }
}

fn index(name: &str, keys: &[&str]) -> Index {
    Index {
        name: ColumnName::parse(name).unwrap_or_else(|e| panic!("{e}")),
        keys: keys.iter().map(|k| IndexKey::parse(k)).collect(),
        unique: false,
    }
}

#[test]
fn a_change_carries_renames_into_indexes_and_keeps_them_covered() {
    let current = Collection {
        name: crate::name::CollectionName::parse("goods").unwrap_or_else(|e| panic!("{e}")),
        columns: vec![
            column("brand", FieldType::String),
            column("price", FieldType::Integer),
        ],
        indexes: vec![index("by_brand", &["brand", "-created_at"])],
        version: 1,
    };
    let name = |raw: &str| ColumnName::parse(raw).unwrap_or_else(|e| panic!("{e}"));
    let rename = SchemaChange {
        rename: vec![crate::schema_change::ColumnRename {
            from: name("brand"),
            to: name("maker"),
        }],
        ..SchemaChange::default()
    };
    let plan = rename.plan(&current, 100).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.next.indexes[0].keys[0].field, "maker");
    let orphan = SchemaChange {
        remove: vec![name("brand")],
        ..SchemaChange::default()
    };
    let refused = orphan.plan(&current, 100).err();
    assert!(
        matches!(&refused, Some(SchemaError::Field(f)) if f.field == "remove_columns[0]"),
        "{refused:?}"
    );
    let both = SchemaChange {
        remove: vec![name("brand")],
        remove_indexes: vec![name("by_brand")],
        add_indexes: vec![index("by_price", &["-price"])],
        ..SchemaChange::default()
    };
    let plan = both.plan(&current, 100).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.next.indexes, [index("by_price", &["-price"])]);
}

#[test]
fn keys_name_columns_or_system_fields_once_and_never_json() {
    let columns = [
        column("brand", FieldType::String),
        column("price", FieldType::Decimal { scale: 2 }),
        column("specs", FieldType::Json),
    ];
    let path = |i: usize| format!("indexes[{i}]");
    let good = [index("by_brand_price", &["brand", "-price", "created_at"])];
    assert_eq!(check_indexes(&columns, &good, path), Ok(()));
    assert_eq!(good[0].keys[1].wire(), "-price");
    let cases = [
        (vec![index("bad", &["nope"])], "indexes[0].columns[0]"),
        (
            vec![index("bad", &["brand", "-brand"])],
            "indexes[0].columns[1]",
        ),
        (vec![index("bad", &["specs"])], "indexes[0].columns[0]"),
        (vec![index("bad", &[])], "indexes[0].columns"),
        (
            vec![
                index("bad", &["id", "brand", "price", "created_at", "updated_at"]),
                index("bad", &["id"]),
            ],
            "indexes[1].name",
        ),
    ];
    for (indexes, field) in cases {
        let error = check_indexes(&columns, &indexes, path).err();
        assert_eq!(
            error.map(|e| e.field),
            Some(field.to_owned()),
            "{indexes:?}"
        );
    }
}
