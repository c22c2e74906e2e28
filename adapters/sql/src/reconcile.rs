//! Start-up consistency: finishes or undoes schema changes a crash interrupted, removes
//! leftovers, and checks the metadata against the physical tables, so nothing is served
//! wrong.

use moon_domain::{Collection, RepoError};
use sea_orm::ConnectionTrait;
use sea_query::{Alias, Table};

use crate::connect::SqlDatabase;
use crate::dialect::{Backend, get};
use crate::error::classify;
use crate::rebuild::{OLD_TABLE, REBUILD_TABLE};
use crate::table::{CREATED_AT, ID, PKID, UPDATED_AT, VERSION};
use crate::{adopt, catalogue, metadata};

/// The physical tables of the database, lowercase.
///
/// # Errors
/// [`RepoError`] when the catalogue cannot be read.
pub async fn physical_tables(db: &SqlDatabase) -> Result<Vec<String>, RepoError> {
    let sql = match db.backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()"
        }
        Backend::MySql => {
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()"
        }
    };
    let stmt = sea_orm::Statement::from_string(db.backend.db_backend(), sql);
    let rows = db
        .writer
        .query_all_raw(stmt)
        .await
        .map_err(|e| classify(&e))?;
    rows.iter()
        .map(|row| get::<String>(row, 0).map(|n| n.unwrap_or_default().to_ascii_lowercase()))
        .collect()
}

/// Brings metadata and tables back in line after a crash.
///
/// # Errors
/// [`RepoError`] when the database refuses a repair.
pub async fn repair(db: &SqlDatabase) -> Result<(), RepoError> {
    recover_interrupted(db).await?;
    let tables = physical_tables(db).await?;
    let known = metadata::load_all(db).await?;
    for collection in &known {
        if !tables.iter().any(|t| t == collection.name.as_str()) {
            metadata::delete(&db.writer, &collection.name).await?;
            tracing::warn!(collection = %collection.name, "metadata without a table: collection dropped from the registry");
        }
    }
    for table in &tables {
        let internal = table.starts_with("moon_")
            || table.starts_with("_moon")
            || table.starts_with("sqlite_");
        if !internal
            && !known.iter().any(|c| c.name.as_str() == table)
            && let Err(e) = adopt::adopt(db, table).await
        {
            tracing::warn!(table = %table, error = %e, "table without Moon metadata not adopted; left as it was");
        }
    }
    Ok(())
}

/// Whether an in-place change's `ALTER TABLE` ran (MySQL): the table's user columns and
/// indexes are the intent's and no longer the stored schema's (a rebuild's intent never
/// passes this while its swap is undone: its table still has the stored shape). Index key
/// directions are not compared: a change of direction alone reads as undone.
async fn altered_in_place(
    db: &SqlDatabase,
    intent: &Collection,
    stored: &[Collection],
) -> Result<bool, RepoError> {
    let Some(before) = stored.iter().find(|c| c.name == intent.name) else {
        return Ok(false);
    };
    let system = [PKID, ID, CREATED_AT, UPDATED_AT, VERSION];
    let mut physical: Vec<String> = catalogue::columns(db, intent.name.as_str())
        .await?
        .into_iter()
        .map(|c| c.name.to_ascii_lowercase())
        .filter(|name| !system.contains(&name.as_str()))
        .collect();
    physical.sort_unstable();
    let names = |c: &Collection| {
        let mut names: Vec<String> = c.columns.iter().map(|col| col.name.to_string()).collect();
        names.sort_unstable();
        names
    };
    let indexes = |c: &Collection| {
        let mut lines: Vec<String> = c
            .indexes
            .iter()
            .map(|ix| {
                let keys: Vec<&str> = ix.keys.iter().map(|k| k.field.as_str()).collect();
                let keys = keys.join(",");
                let keys = crate::indexes::without_id_tiebreak(ix.unique, &keys);
                let name = crate::indexes::physical_name(db.backend, c.name.as_str(), ix);
                format!("{name} {} {keys}", ix.unique)
            })
            .collect();
        lines.sort_unstable();
        lines
    };
    let physical_indexes = catalogue::mysql_indexes(db, intent.name.as_str()).await?;
    let state = |c: &Collection| (names(c), indexes(c));
    let now = (physical, physical_indexes);
    Ok(now == state(intent) && now != state(before))
}

/// Finishes or undoes a schema change a crash interrupted (MySQL marks and intents) and drops
/// its leftover tables. Only run while no change can be in progress: at start-up and under
/// the database-wide change lock (`startup`).
///
/// # Errors
/// [`RepoError`] when the database refuses a repair.
pub async fn recover_interrupted(db: &SqlDatabase) -> Result<(), RepoError> {
    let tables = physical_tables(db).await?;
    crate::change_marks::clear_changing_marks(&db.writer).await?;
    let stored = metadata::load_all(db).await?;
    for intent in metadata::load_intents(db).await? {
        let swapped = tables.iter().any(|t| t == OLD_TABLE);
        if swapped || altered_in_place(db, &intent, &stored).await? {
            // The swap (or the in-place ALTER) happened; the metadata write did not. Finish it.
            metadata::update(&db.writer, &intent).await?;
            tracing::warn!(collection = %intent.name, version = intent.version, "finished an interrupted schema change");
        } else {
            tracing::warn!(collection = %intent.name, "rolled back an interrupted schema change");
        }
        metadata::clear_intent(&db.writer, &intent.name).await?;
    }
    for leftover in [REBUILD_TABLE, OLD_TABLE] {
        if tables.iter().any(|t| t == leftover) {
            let drop = Table::drop().table(Alias::new(leftover)).to_owned();
            db.writer.execute(&drop).await.map_err(|e| classify(&e))?;
            tracing::info!(table = leftover, "dropped a leftover table");
        }
    }
    Ok(())
}
