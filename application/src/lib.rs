//! Moon's use cases: every request is validated against the schema registry, then the
//! ports do the I/O.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod api_keys;
pub mod auth;
pub mod batch;
pub mod collections;
pub mod delivery;
pub mod error;
pub mod feed;
pub mod gate;
pub mod hashing;
pub mod health;
pub mod idempotency;
pub mod limits;
pub mod lockout;
pub mod records;
pub mod registry;
pub mod secrets;
pub mod signature;
pub mod subscriptions;
pub mod webhook_worker;
pub mod webhooks;

pub use accounts::{NewUser, UserChanges};
pub use api_keys::KeyChanges;
pub use auth::{API_KEY_PREFIX, AuthPolicy, AuthService, TokenPair};
pub use batch::{BatchKind, BatchReport};
pub use collections::{AlterOutcome, CollectionService, CollectionSummary};
pub use delivery::{Deliverer, DeliveryPolicy};
pub use error::AppError;
pub use feed::{ChangeFeed, FeedEnd, FeedItem, FeedTiming, Subscription};
pub use gate::SchemaGate;
pub use hashing::{HashingLimits, HashingPool};
pub use health::HealthService;
pub use idempotency::IdempotencyService;
pub use limits::Limits;
pub use records::{ListPage, Params, RecordService};
pub use registry::InMemorySchemaRegistry;
pub use subscriptions::{SubscriptionInput, SubscriptionService};
pub use webhooks::{Ingested, RetryPolicy, WebhookService};
