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
    // One body at a time, as a request validates it: batches of bodies cloned before the
    // timing (SmallInput) leave a heap so full of them that the frees of each body's keys
    // inside the timing meet glibc's fastbin consolidation, ~200 ns no request pays.
    c.bench_function("validate_create/10 fields", |b| {
        b.iter_batched(
            || map.clone(),
            |data| black_box(validate_create(black_box(&collection), data)),
            criterion::BatchSize::PerIteration,
        );
    });
}

/// What timing one call at a time costs by itself, to read the figure above net of it.
fn bench_timer(c: &mut Criterion) {
    c.bench_function("timer overhead", |b| {
        b.iter_batched(|| 1_u64, black_box, criterion::BatchSize::PerIteration);
    });
}

criterion_group!(benches, bench_validation, bench_timer);
criterion_main!(benches);
