//! Criterion benchmark of record validation against a 10-field collection.

use criterion::{Criterion, criterion_group, criterion_main};
use moon_domain::validation::validate_create;
use moon_domain::{Collection, CollectionName, Column, ColumnName, FieldType};
use serde_json::json;
use std::hint::black_box;

fn ten_field_collection() -> Collection {
    let col = |name: &str, field_type| Column {
        name: ColumnName::parse(name).unwrap_or_else(|e| panic!("{e}")),
        field_type,
        nullable: false,
        unique: false,
    };
    Collection {
        name: CollectionName::parse("products").unwrap_or_else(|e| panic!("{e}")),
        columns: vec![
            col("title", FieldType::String),
            col("sku", FieldType::String),
            col("description", FieldType::String),
            col("price", FieldType::Decimal { scale: 2 }),
            col("cost", FieldType::Decimal { scale: 4 }),
            col("stock", FieldType::Integer),
            col("weight_grams", FieldType::Integer),
            col("active", FieldType::Boolean),
            col("released_at", FieldType::Datetime),
            col("attributes", FieldType::Json),
        ],
        indexes: Vec::new(),
        version: 1,
    }
}

fn bench_validation(c: &mut Criterion) {
    let collection = ten_field_collection();
    let payload = json!({
        "title": "Mechanical keyboard",
        "sku": "KB-0042",
        "description": "Tenkeyless, brown switches",
        "price": "129.99",
        "cost": "71.2500",
        "stock": 42,
        "weight_grams": 830,
        "active": true,
        "released_at": "2024-03-01T10:30:00+02:00",
        "attributes": {"layout": "ansi", "rgb": false}
    });
    let serde_json::Value::Object(map) = payload else {
        unreachable!("object literal")
    };
    c.bench_function("validate_create/10 fields", |b| {
        b.iter_batched(
            || map.clone(),
            |data| black_box(validate_create(black_box(&collection), data)),
            criterion::BatchSize::SmallInput,
        );
    });
}

criterion_group!(benches, bench_validation);
criterion_main!(benches);
