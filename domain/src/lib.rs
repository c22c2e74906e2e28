//! Moon's model and ports: names, types, values and validation, with no I/O.
#![forbid(unsafe_code)]

pub mod auth;
pub mod batch;
pub mod change;
pub mod collection;
pub mod error;
pub mod field_type;
pub mod idempotency;
pub mod index;
pub mod name;
pub mod portable;
pub mod ports;
pub mod query;
pub mod record;
pub mod schema_change;
pub mod subscription;
pub mod validation;
pub mod value;
pub mod webhook;

pub use auth::{AccessClaims, ApiKey, Principal, Role, Session, User};
pub use batch::{BatchFailure, BatchOutcome, BatchWrite};
pub use change::{Change, ChangeKind, LogBounds, NewChange, SchemaAction};
pub use collection::{Collection, Column};
pub use error::{FieldError, FieldErrorKind, QueryError, RepoError};
pub use field_type::FieldType;
pub use idempotency::{IdempotencyKey, Reservation, StoredAnswer};
pub use index::{Index, IndexKey, IndexName, check_indexes};
pub use name::{CollectionName, ColumnName, NameError};
pub use query::{
    Aggregate, Cursor, Field, Filter, FilterOp, ListQuery, QueryLimits, Sort, SystemField,
};
pub use record::{NewRecord, Record, RecordId, Written};
pub use schema_change::{
    ColumnRename, PlannedColumn, SchemaChange, SchemaError, SchemaPlan, check_columns,
};
pub use subscription::{Attempt, Delivery, DeliveryStatus, WebhookSubscription, is_private};
pub use value::Value;
pub use webhook::{EventStatus, SignatureScheme, WebhookEndpoint, WebhookEvent};
