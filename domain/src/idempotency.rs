//! Idempotent writes: a stored answer per (caller, path, key), replayed for a repeat with
//! the same request, refused for another request or while the first is still running.

/// Which stored answer a key names: a hash of the caller, the path and the client's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(pub String);

/// An answer kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: String,
    pub etag: Option<String>,
}

/// What reserving a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The key is new: the caller runs the request and completes or releases the key.
    Fresh,
    /// The same request ran before: replay its answer.
    Replay(StoredAnswer),
    /// The same key is still running, or was used for a different request.
    Conflict { in_flight: bool },
}
