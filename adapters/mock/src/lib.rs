//! mockall doubles of every Moon port, plus fixtures, for tests that need no database.
#![forbid(unsafe_code)]

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use mockall::mock;
use moon_domain::ports::{Clock, CollectionRepository, DatabaseHealth, RecordRepository};
use moon_domain::{
    Aggregate, BatchFailure, BatchOutcome, BatchWrite, Collection, CollectionName, Column,
    ColumnName, FieldType, ListQuery, NewRecord, Record, RecordId, RepoError, SchemaPlan, Value,
    Written,
};

mock! {
    pub CollectionRepository {}
    #[async_trait]
    impl CollectionRepository for CollectionRepository {
        async fn load_all(&self) -> Result<Vec<Collection>, RepoError>;
        async fn load_current(&self) -> Result<Vec<Collection>, RepoError>;
        async fn schema_epoch(&self) -> Result<i64, RepoError>;
        async fn create(&self, collection: &Collection) -> Result<u64, RepoError>;
        async fn alter(&self, current: &Collection, plan: &SchemaPlan, dry_run: bool) -> Result<Vec<String>, RepoError>;
        async fn destroy(&self, name: &CollectionName) -> Result<(), RepoError>;
    }
}

mock! {
    pub RecordRepository {}
    #[async_trait]
    impl RecordRepository for RecordRepository {
        async fn insert(&self, collection: &Collection, record: &NewRecord) -> Result<(), RepoError>;
        async fn get(&self, collection: &Collection, id: RecordId) -> Result<Option<Record>, RepoError>;
        async fn update(
            &self,
            collection: &Collection,
            id: RecordId,
            fields: &[(ColumnName, Value)],
            updated_at: DateTime<Utc>,
            expected_version: Option<i64>,
        ) -> Result<Written<Record>, RepoError>;
        async fn delete(&self, collection: &Collection, id: RecordId, expected_version: Option<i64>) -> Result<Written<()>, RepoError>;
        async fn write_atomic(&self, collection: &Collection, writes: &[BatchWrite]) -> Result<Vec<BatchOutcome>, BatchFailure>;
        async fn list(&self, collection: &Collection, query: &ListQuery) -> Result<Vec<Record>, RepoError>;
        async fn count(&self, collection: &Collection, query: &ListQuery) -> Result<u64, RepoError>;
        async fn aggregate(&self, collection: &Collection, aggregate: &Aggregate, query: &ListQuery) -> Result<Value, RepoError>;
    }
}

mock! {
    pub DatabaseHealth {}
    #[async_trait]
    impl DatabaseHealth for DatabaseHealth {
        async fn ping(&self) -> Result<(), RepoError>;
    }
}

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Ready-made values for tests.
pub mod fixtures {
    use super::*;

    /// 2024-01-02T03:04:05Z, the instant of [`FixedClock`] in fixtures.
    #[must_use]
    pub fn instant() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5)
            .single()
            .unwrap_or_default()
    }

    /// A column, panicking on a bad name (fixtures only).
    #[must_use]
    pub fn column(name: &str, field_type: FieldType, nullable: bool, unique: bool) -> Column {
        Column {
            name: column_name(name),
            field_type,
            nullable,
            unique,
        }
    }

    /// A column name, panicking on a bad one (fixtures only).
    #[must_use]
    pub fn column_name(name: &str) -> ColumnName {
        ColumnName::parse(name).unwrap_or_else(|e| panic!("fixture column {name}: {e}"))
    }

    /// A collection name, panicking on a bad one (fixtures only).
    #[must_use]
    pub fn collection_name(name: &str) -> CollectionName {
        CollectionName::parse(name).unwrap_or_else(|e| panic!("fixture collection {name}: {e}"))
    }

    /// `products`: title (string, required, unique), price (decimal), stock (integer).
    #[must_use]
    pub fn products() -> Collection {
        Collection {
            name: collection_name("products"),
            columns: vec![
                column("title", FieldType::String, false, true),
                column("price", FieldType::Decimal { scale: 2 }, true, false),
                column("stock", FieldType::Integer, true, false),
            ],
            indexes: Vec::new(),
            version: 1,
        }
    }

    /// A stored `products` record with the given id and title.
    #[must_use]
    pub fn product(id: RecordId, title: &str) -> Record {
        Record {
            id,
            created_at: instant(),
            updated_at: instant(),
            version: 1,
            fields: vec![
                (column_name("title"), Value::Text(title.to_owned())),
                (column_name("price"), Value::Decimal(rust_decimal_zero())),
                (column_name("stock"), Value::Integer(0)),
            ],
        }
    }

    fn rust_decimal_zero() -> moon_domain::value::DecimalValue {
        moon_domain::value::parse_decimal("0", 2).unwrap_or_default()
    }
}
