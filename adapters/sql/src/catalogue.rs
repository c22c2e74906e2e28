//! Reads a table's columns from the engine's catalogue and infers the API type of each,
//! for adopting tables that exist without Moon's metadata.

use moon_domain::{FieldType, RepoError};
use sea_orm::{ConnectionTrait, Statement};

use crate::connect::SqlDatabase;
use crate::dialect::{Backend, get};
use crate::error::classify;

/// One column as the catalogue describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhysicalColumn {
    pub name: String,
    /// The declared type, lowercase (`bigint`, `numeric`, `varchar(20)`, ...).
    pub sql_type: String,
    pub nullable: bool,
    /// The scale of numeric columns, when the catalogue gives one.
    pub scale: Option<u32>,
}

/// MySQL: Moon's indexes on `table` as `name unique col,col,...` lines, sorted (what a
/// crashed change's recovery compares with the schema it meant to reach), a plain index's
/// trailing `id` left out (see [`crate::indexes::without_id_tiebreak`]).
///
/// # Errors
/// [`RepoError`] when the catalogue cannot be read.
pub async fn mysql_indexes(db: &SqlDatabase, table: &str) -> Result<Vec<String>, RepoError> {
    let sql = "SELECT CAST(index_name AS CHAR), non_unique = 0, \
         CAST(GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR ',') AS CHAR) \
         FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? \
         AND index_name LIKE 'moon\\_ix\\_%' GROUP BY index_name, non_unique";
    let stmt = Statement::from_sql_and_values(db.backend.db_backend(), sql, vec![table.into()]);
    let rows = db
        .writer
        .query_all_raw(stmt)
        .await
        .map_err(|e| classify(&e))?;
    let mut out = rows
        .iter()
        .map(|row| {
            let name = get::<String>(row, 0)?.unwrap_or_default();
            let unique = get::<bool>(row, 1)?.unwrap_or(false);
            let columns = get::<String>(row, 2)?
                .unwrap_or_default()
                .to_ascii_lowercase();
            let columns = crate::indexes::without_id_tiebreak(unique, &columns);
            Ok(format!("{name} {unique} {columns}"))
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    out.sort_unstable();
    Ok(out)
}

/// The columns of `table`, in order.
///
/// # Errors
/// [`RepoError`] when the catalogue cannot be read.
pub async fn columns(db: &SqlDatabase, table: &str) -> Result<Vec<PhysicalColumn>, RepoError> {
    let backend = db.backend;
    let (sql, values): (&str, Vec<sea_orm::Value>) = match backend {
        Backend::Sqlite => (
            r#"SELECT name, lower(type), "notnull" = 0 AND pk = 0, NULL FROM pragma_table_info(?) ORDER BY cid"#,
            vec![table.into()],
        ),
        Backend::Postgres => (
            "SELECT column_name::text, lower(data_type::text), is_nullable = 'YES', numeric_scale::bigint \
             FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 \
             ORDER BY ordinal_position",
            vec![table.into()],
        ),
        Backend::MySql => (
            "SELECT CAST(column_name AS CHAR), CAST(lower(column_type) AS CHAR), is_nullable = 'YES', \
             CAST(numeric_scale AS SIGNED) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
            vec![table.into()],
        ),
    };
    let stmt = Statement::from_sql_and_values(backend.db_backend(), sql, values);
    let rows = db
        .writer
        .query_all_raw(stmt)
        .await
        .map_err(|e| classify(&e))?;
    rows.iter()
        .map(|row| {
            Ok(PhysicalColumn {
                name: get::<String>(row, 0)?.unwrap_or_default(),
                sql_type: get::<String>(row, 1)?.unwrap_or_default(),
                nullable: get::<bool>(row, 2)?.unwrap_or(true),
                scale: get::<i64>(row, 3)?.and_then(|s| u32::try_from(s).ok()),
            })
        })
        .collect()
}

/// The API type a column of `sql_type` holds, or `None` when Moon has no exact match
/// (floating point, binary, ...).
#[must_use]
pub fn infer(backend: Backend, column: &PhysicalColumn) -> Option<FieldType> {
    let ty = column.sql_type.as_str();
    let base = ty.split(['(', ' ']).next().unwrap_or(ty);
    let decimal = |scale: Option<u32>| {
        let scale = scale.or_else(|| declared_scale(ty)).unwrap_or(0);
        (scale <= moon_domain::field_type::MAX_DECIMAL_SCALE)
            .then_some(FieldType::Decimal { scale })
    };
    match backend {
        // SQLite's affinity rules, in its own order.
        Backend::Sqlite => {
            if ty.contains("int") {
                Some(FieldType::Integer)
            } else if ty.contains("bool") {
                Some(FieldType::Boolean)
            } else if ty.contains("json") {
                Some(FieldType::Json)
            } else if ty.contains("date") || ty.contains("time") {
                Some(FieldType::Datetime)
            } else if ty.contains("char")
                || ty.contains("clob")
                || ty.contains("text")
                || ty.is_empty()
            {
                Some(FieldType::String)
            } else if ty.contains("dec") || ty.contains("numeric") {
                decimal(None)
            } else {
                None
            }
        }
        Backend::Postgres => match base {
            "text" | "character" | "varchar" | "char" | "name" | "uuid" => Some(FieldType::String),
            "smallint" | "integer" | "bigint" => Some(FieldType::Integer),
            "numeric" => decimal(column.scale),
            "boolean" => Some(FieldType::Boolean),
            "timestamp" => Some(FieldType::Datetime),
            "json" | "jsonb" => Some(FieldType::Json),
            _ => None,
        },
        Backend::MySql => match base {
            "tinyint" if ty.starts_with("tinyint(1)") => Some(FieldType::Boolean),
            "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => Some(FieldType::Integer),
            "varchar" | "char" | "text" | "tinytext" | "mediumtext" | "longtext" => {
                Some(FieldType::String)
            }
            "decimal" => decimal(column.scale),
            "datetime" | "timestamp" => Some(FieldType::Datetime),
            "json" => Some(FieldType::Json),
            "bool" | "boolean" => Some(FieldType::Boolean),
            _ => None,
        },
    }
}

/// The scale in a declared type like `decimal(10,2)`.
fn declared_scale(ty: &str) -> Option<u32> {
    let inside = ty.split_once('(')?.1.split_once(')')?.0;
    inside.split_once(',')?.1.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(sql_type: &str, scale: Option<u32>) -> PhysicalColumn {
        PhysicalColumn {
            name: "x".into(),
            sql_type: sql_type.into(),
            nullable: true,
            scale,
        }
    }

    #[test]
    fn types_are_inferred_per_engine() {
        assert_eq!(
            infer(Backend::Sqlite, &col("varchar(20)", None)),
            Some(FieldType::String)
        );
        assert_eq!(
            infer(Backend::Sqlite, &col("integer", None)),
            Some(FieldType::Integer)
        );
        assert_eq!(
            infer(Backend::Sqlite, &col("decimal(10,2)", None)),
            Some(FieldType::Decimal { scale: 2 })
        );
        assert_eq!(infer(Backend::Sqlite, &col("real", None)), None);
        assert_eq!(
            infer(Backend::Postgres, &col("numeric", Some(3))),
            Some(FieldType::Decimal { scale: 3 })
        );
        assert_eq!(
            infer(Backend::Postgres, &col("timestamp with time zone", None)),
            Some(FieldType::Datetime)
        );
        assert_eq!(
            infer(Backend::Postgres, &col("double precision", None)),
            None
        );
        assert_eq!(
            infer(Backend::MySql, &col("tinyint(1)", None)),
            Some(FieldType::Boolean)
        );
        assert_eq!(
            infer(Backend::MySql, &col("int(11)", None)),
            Some(FieldType::Integer)
        );
        assert_eq!(
            infer(Backend::MySql, &col("decimal(12,4)", Some(4))),
            Some(FieldType::Decimal { scale: 4 })
        );
    }
}
