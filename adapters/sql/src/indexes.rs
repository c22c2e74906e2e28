//! Declared indexes in the database: their physical names, their DDL (keyed the way Moon's
//! queries compare and sort, so the planner can use them for filters and `sort=`), and which
//! to drop and create when a schema changes.

use moon_domain::{Collection, FieldType, Index, IndexKey, SchemaPlan};
use sea_query::{Alias, IndexCreateStatement, IndexOrder};

use crate::dialect::Backend;
use crate::query::DECIMAL_COLLATION;

/// The longest identifier every engine takes (PostgreSQL: 63 bytes).
const MAX_IDENTIFIER: usize = 63;

/// The prefix of physical index names on MySQL, whose index names are per table.
pub const MYSQL_PREFIX: &str = "moon_ix_";

/// The index's name in the database: per table on MySQL, per schema on SQLite and
/// PostgreSQL (so the collection is part of it); long names end in a hash of the whole.
#[must_use]
pub fn physical_name(backend: Backend, collection: &str, index: &Index) -> String {
    let full = match backend {
        Backend::MySql => format!("{MYSQL_PREFIX}{}", index.name),
        Backend::Sqlite | Backend::Postgres => format!("{collection}__{}", index.name),
    };
    if full.len() <= MAX_IDENTIFIER {
        return full;
    }
    // FNV-1a: stable across builds (the name must be the same on every start).
    let hash = full.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{}_{:012x}", &full[..50], hash & 0xffff_ffff_ffff)
}

fn quote(backend: Backend, ident: &str) -> String {
    match backend {
        Backend::MySql => format!("`{ident}`"),
        Backend::Sqlite | Backend::Postgres => format!("\"{ident}\""),
    }
}

/// The type a key compares as.
fn key_type(collection: &Collection, key: &IndexKey) -> FieldType {
    match key.field.as_str() {
        "id" => FieldType::String,
        "created_at" | "updated_at" => FieldType::Datetime,
        name => collection
            .column(name)
            .map_or(FieldType::String, |c| c.field_type),
    }
}

/// Characters of a MySQL `LONGTEXT` a non-unique index keeps: InnoDB keys hold 3,072
/// bytes, four per character, shared by the index's string keys.
fn mysql_prefix(collection: &Collection, index: &Index) -> u32 {
    let strings = index
        .keys
        .iter()
        .filter(|k| k.field != "id" && key_type(collection, k) == FieldType::String)
        .count();
    u32::try_from((700 / strings.max(1)).min(191)).unwrap_or(191)
}

/// One key as DDL: collated the way queries compare it, `DESC` when descending.
fn key_sql(backend: Backend, collection: &Collection, index: &Index, key: &IndexKey) -> String {
    let mut sql = quote(backend, &key.field);
    match (backend, key_type(collection, key)) {
        (Backend::Postgres, FieldType::String) => sql.push_str(" COLLATE \"C\""),
        (Backend::Sqlite, FieldType::Decimal { .. }) => {
            sql.push_str(" COLLATE ");
            sql.push_str(DECIMAL_COLLATION);
        }
        // A unique key over long text is hashed whole by MariaDB; a plain one keeps a prefix.
        (Backend::MySql, FieldType::String) if key.field != "id" && !index.unique => {
            sql.push_str(&format!("({})", mysql_prefix(collection, index)));
        }
        _ => {}
    }
    if key.descending {
        sql.push_str(" DESC");
    }
    sql
}

/// Whether the index ends in `id` without declaring it: every list is ordered by its sorts
/// and then by `id`, so a plain index that ends in it serves the whole `ORDER BY` and the
/// engine sorts nothing (SQLite otherwise sorts each run of equal keys in a temporary
/// b-tree). A unique index keeps exactly its keys: with `id` it would refuse nothing.
fn ends_in_id(index: &Index) -> bool {
    !index.unique && index.keys.iter().all(|k| k.field != "id")
}

/// A plain index's columns (`a,b,id`) without a trailing `id`, so an index made before plain
/// indexes ended in `id`, one made after, and one declaring `id` last all compare by what
/// was declared before it (a crashed change's recovery compares catalogue and schema).
#[must_use]
pub fn without_id_tiebreak(unique: bool, columns: &str) -> &str {
    if unique {
        columns
    } else {
        columns.strip_suffix(",id").unwrap_or(columns)
    }
}

fn keys_sql(backend: Backend, collection: &Collection, index: &Index) -> String {
    let mut keys = index
        .keys
        .iter()
        .map(|k| key_sql(backend, collection, index, k))
        .collect::<Vec<_>>();
    if ends_in_id(index) {
        keys.push(quote(backend, "id"));
    }
    keys.join(", ")
}

/// `CREATE INDEX` of `index` on the table `table` (SQLite, PostgreSQL: run after the table
/// has its final name, since the physical name belongs to the collection).
#[must_use]
pub fn create_sql(backend: Backend, collection: &Collection, index: &Index, table: &str) -> String {
    let unique = if index.unique { "UNIQUE " } else { "" };
    format!(
        "CREATE {unique}INDEX {} ON {} ({})",
        quote(
            backend,
            &physical_name(backend, collection.name.as_str(), index)
        ),
        quote(backend, table),
        keys_sql(backend, collection, index)
    )
}

/// `DROP INDEX` of `index` (SQLite, PostgreSQL).
#[must_use]
pub fn drop_sql(backend: Backend, collection: &Collection, index: &Index) -> String {
    format!(
        "DROP INDEX IF EXISTS {}",
        quote(
            backend,
            &physical_name(backend, collection.name.as_str(), index)
        )
    )
}

/// MySQL `ALTER TABLE` clauses: `ADD [UNIQUE] INDEX ...` and `DROP INDEX ...`.
#[must_use]
pub fn mysql_add_clause(collection: &Collection, index: &Index) -> String {
    let unique = if index.unique { "UNIQUE " } else { "" };
    format!(
        "ADD {unique}INDEX {} ({})",
        quote(
            Backend::MySql,
            &physical_name(Backend::MySql, collection.name.as_str(), index)
        ),
        keys_sql(Backend::MySql, collection, index)
    )
}

#[must_use]
pub fn mysql_drop_clause(collection: &Collection, index: &Index) -> String {
    format!(
        "DROP INDEX {}",
        quote(
            Backend::MySql,
            &physical_name(Backend::MySql, collection.name.as_str(), index)
        )
    )
}

/// The indexes of `collection` inline in MySQL's `CREATE TABLE` (one atomic statement).
#[must_use]
pub fn mysql_inline(collection: &Collection) -> Vec<IndexCreateStatement> {
    collection
        .indexes
        .iter()
        .map(|index| {
            let mut stmt = sea_query::Index::create();
            stmt.name(physical_name(
                Backend::MySql,
                collection.name.as_str(),
                index,
            ));
            if index.unique {
                stmt.unique();
            }
            for key in &index.keys {
                let name = Alias::new(key.field.as_str());
                let order = if key.descending {
                    IndexOrder::Desc
                } else {
                    IndexOrder::Asc
                };
                let string = key.field != "id" && key_type(collection, key) == FieldType::String;
                if string && !index.unique {
                    stmt.col((name, mysql_prefix(collection, index), order));
                } else {
                    stmt.col((name, order));
                }
            }
            if ends_in_id(index) {
                stmt.col((Alias::new("id"), IndexOrder::Asc));
            }
            stmt
        })
        .collect()
}

/// What a change does to the indexes: the current ones to drop and the next ones to create.
/// An index is kept when the next schema has it by name with the same keys, once renamed
/// columns are renamed in it (every engine renames a column inside its indexes).
#[must_use]
pub fn changes<'a>(
    current: &'a Collection,
    plan: &'a SchemaPlan,
) -> (Vec<&'a Index>, Vec<&'a Index>) {
    let renamed = |index: &Index| -> Option<Index> {
        let mut index = index.clone();
        for key in index.keys.iter_mut().filter(|k| !k.is_system()) {
            let planned = plan
                .columns
                .iter()
                .find(|p| p.source.as_ref().is_some_and(|s| s.as_str() == key.field))?;
            key.field = planned.column.name.to_string();
        }
        Some(index)
    };
    let next = &plan.next.indexes;
    let kept = |index: &Index| renamed(index).is_some_and(|r| next.contains(&r));
    let dropped = current.indexes.iter().filter(|ix| !kept(ix)).collect();
    let created = next
        .iter()
        .filter(|ix| {
            !current
                .indexes
                .iter()
                .any(|old| kept(old) && renamed(old).as_ref() == Some(*ix))
        })
        .collect();
    (dropped, created)
}
