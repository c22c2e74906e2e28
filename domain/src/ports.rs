//! The ports: what the application needs from the outside world, as small dyn-safe traits.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::auth::{AccessClaims, ApiKey, Role, Session, User};
use crate::batch::{BatchFailure, BatchOutcome, BatchWrite};
use crate::collection::Collection;
use crate::error::RepoError;
use crate::idempotency::{IdempotencyKey, Reservation, StoredAnswer};
use crate::name::{CollectionName, ColumnName};
use crate::query::{Aggregate, ListQuery};
use crate::record::{NewRecord, Record, RecordId, Written};
use crate::schema_change::SchemaPlan;
use crate::value::Value;
use crate::webhook::{EventStatus, WebhookEndpoint, WebhookEvent};

/// DDL and schema metadata: the physical tables and the system table describing them.
#[async_trait]
pub trait CollectionRepository: Send + Sync {
    /// Every collection recorded in the schema metadata, for loading the registry.
    ///
    /// # Errors
    /// [`RepoError`] when the metadata cannot be read or decoded.
    async fn load_all(&self) -> Result<Vec<Collection>, RepoError>;

    /// Creates the table, its indexes and its metadata row, all or nothing.
    ///
    /// # Errors
    /// [`RepoError`] when the database refuses; nothing is left behind.
    async fn create(&self, collection: &Collection) -> Result<(), RepoError>;

    /// Moves the table from `current` to `plan.next`, converting existing rows, all or
    /// nothing. With `dry_run`, does the work and rolls it back. Returns the statements run.
    ///
    /// # Errors
    /// [`RepoError::Invalid`] naming the column when existing rows do not fit;
    /// [`RepoError::Duplicate`] when a new unique column holds duplicates.
    async fn alter(
        &self,
        current: &Collection,
        plan: &SchemaPlan,
        dry_run: bool,
    ) -> Result<Vec<String>, RepoError>;

    /// Drops the table and its metadata row.
    ///
    /// # Errors
    /// [`RepoError`] when the database refuses.
    async fn destroy(&self, name: &CollectionName) -> Result<(), RepoError>;
}

/// Record reads and writes on collection tables.
#[async_trait]
pub trait RecordRepository: Send + Sync {
    /// Inserts one validated record.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] on a unique violation.
    async fn insert(&self, collection: &Collection, record: &NewRecord) -> Result<(), RepoError>;

    /// The record with `id`, if any.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn get(&self, collection: &Collection, id: RecordId)
    -> Result<Option<Record>, RepoError>;

    /// Sets `fields` on the record with `id`, stamps `updated_at`, bumps its version, and
    /// returns the record as stored. With `expected_version`, writes only if the stored
    /// version is that one (checked in the same statement as the write).
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] on a unique violation.
    async fn update(
        &self,
        collection: &Collection,
        id: RecordId,
        fields: &[(ColumnName, Value)],
        updated_at: DateTime<Utc>,
        expected_version: Option<i64>,
    ) -> Result<Written<Record>, RepoError>;

    /// Deletes the record with `id`, only at `expected_version` when given.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn delete(
        &self,
        collection: &Collection,
        id: RecordId,
        expected_version: Option<i64>,
    ) -> Result<Written<()>, RepoError>;

    /// Applies every write of a batch in one transaction, all or nothing.
    ///
    /// # Errors
    /// The first failing item ([`BatchFailure`]); nothing is written then.
    async fn write_atomic(
        &self,
        collection: &Collection,
        writes: &[BatchWrite],
    ) -> Result<Vec<BatchOutcome>, BatchFailure>;

    /// Up to `query.limit` records matching the query's filters and search, in its order
    /// (then `id`), after its cursor if any.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn list(
        &self,
        collection: &Collection,
        query: &ListQuery,
    ) -> Result<Vec<Record>, RepoError>;

    /// How many records match the query's filters and search (all, for an empty query).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn count(&self, collection: &Collection, query: &ListQuery) -> Result<u64, RepoError>;

    /// Computes `aggregate` over the matching records: exact, `Null` for an empty set
    /// (count: 0). Sums of integers that leave i64 come back as decimals.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn aggregate(
        &self,
        collection: &Collection,
        aggregate: &Aggregate,
        query: &ListQuery,
    ) -> Result<Value, RepoError>;
}

/// The in-memory schema cache every request is validated against.
pub trait SchemaRegistry: Send + Sync {
    /// The collection called `name` (already lowercase).
    fn get(&self, name: &str) -> Option<Arc<Collection>>;
    /// Every collection, sorted by name.
    fn list(&self) -> Vec<Arc<Collection>>;
    /// Adds or replaces a collection; call only after the database change committed.
    fn put(&self, collection: Collection);
    /// Forgets a collection; call only after the database change committed.
    fn remove(&self, name: &str);
    /// How many collections there are.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Stored answers of idempotent writes, kept in the database so they survive restarts.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Reserves `key` for a request whose content hashes to `request_hash`, or reports what
    /// the key already holds. Entries past `expires_at` (Unix seconds) count as absent.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn reserve(
        &self,
        key: &IdempotencyKey,
        request_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Reservation, RepoError>;

    /// Stores the answer of a reserved key.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn complete(&self, key: &IdempotencyKey, answer: &StoredAnswer) -> Result<(), RepoError>;

    /// Frees a reserved key without an answer (a 5xx is not kept: the client may retry).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn release(&self, key: &IdempotencyKey) -> Result<(), RepoError>;

    /// Deletes the entries expired at `now`; returns how many.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn sweep(&self, now: i64) -> Result<u64, RepoError>;
}

/// Users, their sessions and API keys, and server settings such as the JWT secret.
#[async_trait]
pub trait AuthRepository: Send + Sync {
    /// Every user, in id order, after `after` (an id), at most `limit`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>, RepoError>;
    /// The user with `id`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn user(&self, id: &str) -> Result<Option<User>, RepoError>;
    /// The user called `username`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn user_by_name(&self, username: &str) -> Result<Option<User>, RepoError>;
    /// How many users hold `role`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn count_role(&self, role: Role) -> Result<u64, RepoError>;
    /// Inserts or replaces a user (by id).
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] naming `username` or `email`.
    async fn save_user(&self, user: &User, insert: bool) -> Result<(), RepoError>;
    /// Deletes a user and their sessions.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn delete_user(&self, id: &str) -> Result<bool, RepoError>;

    /// The session with `id`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn session(&self, id: &str) -> Result<Option<Session>, RepoError>;
    /// Inserts or replaces a session (by id).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn save_session(&self, session: &Session) -> Result<(), RepoError>;
    /// Revokes every session of `user_id` except `keep`; returns the revoked ids.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn revoke_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, RepoError>;

    /// Every API key, in id order, after `after`, at most `limit`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn list_keys(&self, after: Option<&str>, limit: u32) -> Result<Vec<ApiKey>, RepoError>;
    /// The key with `id`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn key(&self, id: &str) -> Result<Option<ApiKey>, RepoError>;
    /// The key whose hash is `key_hash`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, RepoError>;
    /// Inserts or replaces a key (by id).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn save_key(&self, key: &ApiKey, insert: bool) -> Result<(), RepoError>;
    /// Deletes a key.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn delete_key(&self, id: &str) -> Result<bool, RepoError>;

    /// A server setting.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn setting(&self, name: &str) -> Result<Option<String>, RepoError>;
    /// Stores a setting unless one is there; returns the stored value (first writer wins).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, RepoError>;
}

/// Password hashing (argon2id); slow on purpose: call it off the async threads.
pub trait PasswordHasher: Send + Sync {
    /// A PHC hash string of `password`.
    ///
    /// # Errors
    /// [`RepoError::Internal`] when hashing fails.
    fn hash(&self, password: &str) -> Result<String, RepoError>;
    /// Whether `password` matches `hash` (constant time).
    fn verify(&self, password: &str, hash: &str) -> bool;
}

/// Signs and checks access tokens (JWT, HS256).
pub trait TokenIssuer: Send + Sync {
    /// A signed token for `claims`.
    ///
    /// # Errors
    /// [`RepoError::Internal`] when signing fails.
    fn issue(&self, claims: &AccessClaims) -> Result<String, RepoError>;
    /// The claims of a valid, unexpired token signed with our secret; `None` otherwise
    /// (any algorithm but HS256, a bad signature, a modified or expired token).
    fn verify(&self, token: &str) -> Option<AccessClaims>;
}

/// Webhook endpoints and their events, stored durably.
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Every endpoint, by name.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn endpoints(&self) -> Result<Vec<WebhookEndpoint>, RepoError>;
    /// Inserts (`insert`) or replaces an endpoint.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] for an existing name on insert.
    async fn save_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        insert: bool,
    ) -> Result<(), RepoError>;
    /// Deletes an endpoint; `false` when there was none.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn delete_endpoint(&self, name: &str) -> Result<bool, RepoError>;

    /// Stores a received event; a duplicate `(webhook, event_key)` stores nothing and
    /// returns the first event's id.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn insert_event(&self, event: &WebhookEvent) -> Result<Result<(), String>, RepoError>;
    /// Claims up to `limit` events that are due (pending, failed and due, or processing
    /// with an expired lease) until `lease_until`; safe when several processes share the
    /// database.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn claim(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, RepoError>;
    /// Writes the event's record and marks the event done, in one transaction, only while
    /// the event's `lease` is still its claim (so no event is ever applied twice).
    ///
    /// # Errors
    /// [`RepoError`] (a unique violation, a lost claim); nothing is written then.
    async fn complete(
        &self,
        event: &WebhookEvent,
        collection: &Collection,
        record: &NewRecord,
    ) -> Result<(), RepoError>;
    /// Records a failed attempt under the event's claim: `failed` and due again at
    /// `next_attempt_at`, or `dead`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn fail(
        &self,
        event: &WebhookEvent,
        error: &str,
        dead: bool,
        next_attempt_at: i64,
    ) -> Result<(), RepoError>;
    /// Makes every claimed event pending again (at start-up: claims of a crashed process).
    /// Safe with other live processes: a claim taken over only means their completion is
    /// refused, never a second record.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn release_claims(&self) -> Result<u64, RepoError>;
    /// Events of `webhook` (all if `None`) with `status` (any if `None`), oldest first,
    /// after the id `after`, at most `limit`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn events(
        &self,
        webhook: Option<&str>,
        status: Option<EventStatus>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, RepoError>;
    /// One event.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn event(&self, id: &str) -> Result<Option<WebhookEvent>, RepoError>;
    /// Makes an event pending again, due now, with its attempts reset.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn requeue(&self, id: &str) -> Result<(), RepoError>;
}

/// Whether the database answers, for `/health`.
#[async_trait]
pub trait DatabaseHealth: Send + Sync {
    /// A cheap round trip to the database.
    ///
    /// # Errors
    /// [`RepoError`] when the database does not answer.
    async fn ping(&self) -> Result<(), RepoError>;
}

/// The time, injected so tests can pin it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // Whole microseconds: what every engine stores and returns.
        let now = Utc::now();
        DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
    }
}
