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
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            let message = db.message();
            match code.as_ref() {
                // SQLite extended codes: UNIQUE, PRIMARY KEY; PostgreSQL 23505; MySQL 1062/1169/1586.
                "2067" | "1555" | "23505" | "23000" if is_unique(db.as_ref(), message) => {
                    RepoError::Duplicate {
                        field: unique_field(db.as_ref(), message),
                    }
                }
                // SQLite NOT NULL; PostgreSQL 23502; MySQL 1048 (SQLSTATE 23000).
                "1299" | "23502" => not_null(message, pg_column(db.as_ref())),
                // PostgreSQL/MySQL numeric out of range.
                "22003" => {
                    RepoError::Invalid(FieldError::invalid("data", "a value is out of range"))
                }
                // SQLite BUSY/LOCKED, PostgreSQL lock timeout / deadlock.
                "5" | "6" | "517" | "55P03" | "40P01" => RepoError::Unavailable(message.to_owned()),
                _ => internal(e),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            RepoError::Unavailable(sqlx.to_string())
        }
        _ => internal(e),
    }
}

fn is_unique(db: &dyn sqlx::error::DatabaseError, message: &str) -> bool {
    matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation)
        || message.contains("UNIQUE constraint failed")
}

/// The column a unique violation is about, when the engine tells.
fn unique_field(db: &dyn sqlx::error::DatabaseError, message: &str) -> Option<String> {
    // SQLite: "UNIQUE constraint failed: products.title"
    if let Some(rest) = message.strip_prefix("UNIQUE constraint failed: ") {
        let first = rest.split(',').next().unwrap_or(rest).trim();
        return first.rsplit('.').next().map(str::to_owned);
    }
    // PostgreSQL: constraint "products_title_key" (table_column_key).
    if let (Some(constraint), Some(table)) = (db.constraint(), db.table()) {
        return constraint
            .strip_prefix(table)
            .and_then(|c| c.strip_prefix('_'))
            .and_then(|c| c.strip_suffix("_key"))
            .map(str::to_owned);
    }
    // MySQL: "Duplicate entry 'x' for key 'products.title'" (key named after the column).
    message
        .rsplit_once(" for key '")
        .map(|(_, key)| key.trim_end_matches('\''))
        .map(|key| key.rsplit('.').next().unwrap_or(key).to_owned())
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
