//! The ports: what the application needs from the outside world, as small dyn-safe traits,
//! one file per concern.

mod auth;
mod changes;
mod idempotency;
mod records;
mod schema;
mod subscriptions;
mod system;
mod webhooks;

pub use auth::{AuthRepository, LoginFailureLog, PasswordHasher, TokenIssuer, UserRemoval};
pub use changes::ChangeLog;
pub use idempotency::IdempotencyStore;
pub use records::RecordRepository;
pub use schema::{CollectionRepository, SchemaRegistry};
pub use subscriptions::{DeliveryTransport, SubscriptionRepository};
pub use system::{Clock, DatabaseHealth, PoolUse, SystemClock};
pub use webhooks::WebhookRepository;
