//! Batch writes: what one item of a batch does, what it produced, and where an atomic
//! batch stopped.

use chrono::{DateTime, Utc};

use crate::error::RepoError;
use crate::name::ColumnName;
use crate::record::{NewRecord, Record, RecordId};
use crate::value::Value;

/// One validated item of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchWrite {
    Create(NewRecord),
    Update {
        id: RecordId,
        fields: Vec<(ColumnName, Value)>,
        updated_at: DateTime<Utc>,
    },
    Delete(RecordId),
}

/// What one item of a committed batch produced.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOutcome {
    Created(Record),
    Updated(Record),
    Deleted(RecordId),
}

/// Why an atomic batch wrote nothing: the first item that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    /// 0-based position of the item in the batch.
    pub index: usize,
    /// `None`: the item's record does not exist.
    pub error: Option<RepoError>,
}
