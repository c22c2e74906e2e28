//! Turns driver errors into the domain's `RepoError`, by engine error code, at this edge.

use std::fmt::Display;

use moon_domain::{FieldError, RepoError};
use sea_orm::{DbErr, RuntimeErr};

/// An unexpected failure; the text goes to the log, never to a client.
pub fn internal(e: impl Display) -> RepoError {
    RepoError::Internal(e.to_string())
}

/// Classifies a database error: unique and not-null violations, unreachable databases and
/// timeouts get their own variants; everything else is internal.
#[must_use]
pub fn classify(e: &DbErr) -> RepoError {
    let sqlx = match e {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            Some(e.as_ref())
        }
        DbErr::Conn(RuntimeErr::SqlxError(e)) => Some(e.as_ref()),
        DbErr::ConnectionAcquire(_) => {
            return RepoError::Unavailable(e.to_string());
        }
        _ => None,
    };
    let Some(sqlx) = sqlx else {
        return internal(e);
    };
    match sqlx {
        sqlx::Error::Database(db) => match violation(db.as_ref()) {
            Some(v) => refused(
                v,
                db.message(),
                || unique_field(db.as_ref(), db.message()),
                pg_column(db.as_ref()),
            ),
            None => internal(e),
        },
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            RepoError::Unavailable(sqlx.to_string())
        }
        _ => internal(e),
    }
}

/// Classifies an error of SQLite's group writer as [`classify`] does sqlx's.
#[must_use]
pub fn classify_sqlite(e: &rusqlite::Error) -> RepoError {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let message = message.as_deref().unwrap_or("");
            match by_code(&failure.extended_code.to_string()) {
                Some(v) => refused(v, message, || sqlite_unique_field(message), None),
                None => internal(e),
            }
        }
        _ => internal(e),
    }
}

/// The error a refusal of kind `violation` is to the domain.
fn refused(
    violation: Violation,
    message: &str,
    unique: impl FnOnce() -> Option<String>,
    column: Option<&str>,
) -> RepoError {
    match violation {
        Violation::Unique => RepoError::Duplicate { field: unique() },
        Violation::NotNull => not_null(message, column),
        Violation::OutOfRange => {
            RepoError::Invalid(FieldError::invalid("data", "a value is out of range"))
        }
        Violation::Busy | Violation::SessionEnded => RepoError::Unavailable(message.to_owned()),
        Violation::SchemaChanged => RepoError::SchemaChanged(message.to_owned()),
        Violation::TableExists => RepoError::TableExists,
        Violation::TimedOut => {
            RepoError::Unavailable(format!("the statement ran past its time limit: {message}"))
        }
        Violation::Transient => RepoError::Transient(message.to_owned()),
    }
}

/// The kinds of database refusal Moon reports precisely.
enum Violation {
    Unique,
    NotNull,
    OutOfRange,
    /// Locked or busy past the timeout.
    Busy,
    /// The server ended the session (shutdown, restart, an administrator's kill): the next
    /// request gets a fresh connection.
    SessionEnded,
    /// The statement ran past its time limit and was stopped.
    TimedOut,
    /// The statement names a table or column that another process changed.
    SchemaChanged,
    /// A table to create exists already.
    TableExists,
    /// Deadlock or serialization failure: the transaction was rolled back, and running it
    /// again usually succeeds.
    Transient,
}

/// Classifies by the engine's own error code (SQLite extended result codes, PostgreSQL
/// SQLSTATE, MySQL error numbers), never by message text.
fn violation(db: &dyn sqlx::error::DatabaseError) -> Option<Violation> {
    if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return match mysql.number() {
            1022 | 1062 | 1169 | 1586 => Some(Violation::Unique),
            1048 | 1138 => Some(Violation::NotNull),
            // 1406: data too long (a TEXT column of a table made before LONGTEXT).
            1264 | 1365 | 1406 | 1690 => Some(Violation::OutOfRange),
            1205 => Some(Violation::Busy),
            // Server shutdown in progress; connection killed.
            1053 | 1927 => Some(Violation::SessionEnded),
            // MariaDB max_statement_time, MySQL max_execution_time.
            1969 | 3024 => Some(Violation::TimedOut),
            // Deadlock; and MariaDB's "failed to read auto-increment value" on the first
            // INSERT ... SELECT into a table just swapped in by RENAME, which a retry clears.
            1213 | 1467 => Some(Violation::Transient),
            // No such table, unknown column.
            1146 | 1054 => Some(Violation::SchemaChanged),
            // Table exists.
            1050 => Some(Violation::TableExists),
            _ => None,
        };
    }
    by_code(db.code().as_deref()?)
}

/// The refusal a SQLite extended result code or a PostgreSQL SQLSTATE names.
fn by_code(code: &str) -> Option<Violation> {
    match code {
        // SQLite UNIQUE and PRIMARY KEY; PostgreSQL unique_violation.
        "2067" | "1555" | "23505" => Some(Violation::Unique),
        // SQLite NOT NULL; PostgreSQL not_null_violation.
        "1299" | "23502" => Some(Violation::NotNull),
        // PostgreSQL numeric_value_out_of_range.
        "22003" => Some(Violation::OutOfRange),
        // SQLite BUSY/LOCKED (and extended); PostgreSQL lock_not_available.
        "5" | "6" | "517" | "261" | "55P03" => Some(Violation::Busy),
        // PostgreSQL admin_shutdown, crash_shutdown, cannot_connect_now.
        "57P01" | "57P02" | "57P03" => Some(Violation::SessionEnded),
        // SQLite interrupted (the progress handler's time limit); PostgreSQL query_canceled
        // (statement_timeout).
        "9" | "57014" => Some(Violation::TimedOut),
        // PostgreSQL undefined_table, undefined_column, datatype_mismatch.
        "42P01" | "42703" | "42804" => Some(Violation::SchemaChanged),
        // PostgreSQL duplicate_table.
        "42P07" => Some(Violation::TableExists),
        // PostgreSQL serialization_failure, deadlock_detected.
        "40001" | "40P01" => Some(Violation::Transient),
        _ => None,
    }
}

/// The column a unique violation is about, when the engine tells.
fn unique_field(db: &dyn sqlx::error::DatabaseError, message: &str) -> Option<String> {
    if let Some(field) = sqlite_unique_field(message) {
        return Some(field);
    }
    // PostgreSQL: detail "Key (title)=(Pen) already exists."
    if let Some(detail) = db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(sqlx::postgres::PgDatabaseError::detail)
    {
        return detail
            .strip_prefix("Key (")
            .and_then(|rest| rest.split_once(")="))
            .map(|(column, _)| column.trim_matches('"').to_owned());
    }
    // MySQL: "Duplicate entry 'x' for key 'products.title'" (key named after the column).
    message
        .rsplit_once(" for key '")
        .map(|(_, key)| key.trim_end_matches('\''))
        .map(|key| key.rsplit('.').next().unwrap_or(key).to_owned())
}

/// SQLite: "UNIQUE constraint failed: products.title"
fn sqlite_unique_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("UNIQUE constraint failed: ")?;
    let first = rest.split(',').next().unwrap_or(rest).trim();
    first.rsplit('.').next().map(str::to_owned)
}

fn pg_column(db: &dyn sqlx::error::DatabaseError) -> Option<&str> {
    db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(sqlx::postgres::PgDatabaseError::column)
}

fn not_null(message: &str, column: Option<&str>) -> RepoError {
    let field = column
        .map(str::to_owned)
        .or_else(|| {
            message
                .strip_prefix("NOT NULL constraint failed: ")
                .and_then(|rest| rest.rsplit('.').next())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "data".to_owned());
    RepoError::Invalid(FieldError::invalid(
        field,
        "existing records hold null values",
    ))
}
