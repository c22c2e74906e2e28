//! Schema changes made in place, without copying the table (API.md §3 "Cost"): adding a
//! nullable column, renaming or removing one. SQLite and PostgreSQL run them inside the
//! change's transaction; MySQL as one atomic `ALTER TABLE` under a recorded intent
//! (`collections`). A change that converts a column still goes through `rebuild`.

use moon_domain::{Collection, Column, ColumnName, RepoError, SchemaPlan, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use sea_query::{Alias, ColumnDef, Expr, QueryBuilder, Table, TableAlterStatement};

use crate::dialect::Backend;
use crate::error::classify;
use crate::indexes;

/// One `ALTER TABLE` of an in-place change.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Rename { from: ColumnName, to: ColumnName },
    Add(Column),
    Remove(ColumnName),
}

/// The steps that make `current` into `plan.next` in place, or `None` when some column
/// changes type, nullability or uniqueness (or the engine cannot do a step in place).
fn steps(backend: Backend, current: &Collection, plan: &SchemaPlan) -> Option<Vec<Step>> {
    let mut renames = Vec::new();
    let mut adds = Vec::new();
    for planned in &plan.columns {
        let next = &planned.column;
        match &planned.source {
            Some(source) => {
                let old = current.column(source.as_str())?;
                let same_shape = old.field_type == next.field_type
                    && old.nullable == next.nullable
                    && old.unique == next.unique;
                if !same_shape {
                    return None;
                }
                if old.name != next.name {
                    // Renamed onto a name the table still has (a swap): one at a time
                    // would collide, so rebuild.
                    if current.column(next.name.as_str()).is_some() {
                        return None;
                    }
                    renames.push(Step::Rename {
                        from: old.name.clone(),
                        to: next.name.clone(),
                    });
                }
            }
            // SQLite cannot add a UNIQUE column; a required one needs an empty table,
            // which a rebuild copies for free.
            None if next.nullable && !next.unique => adds.push(Step::Add(next.clone())),
            None => return None,
        }
    }
    let mut removes = Vec::new();
    for old in &current.columns {
        let kept = plan
            .columns
            .iter()
            .any(|p| p.source.as_ref() == Some(&old.name));
        if !kept {
            // SQLite refuses to drop a column its UNIQUE constraint covers.
            if old.unique && backend == Backend::Sqlite {
                return None;
            }
            removes.push(Step::Remove(old.name.clone()));
        }
    }
    renames.extend(adds);
    renames.extend(removes);
    Some(renames)
}

/// Adds `step` to `alter`.
fn add_step(backend: Backend, alter: &mut TableAlterStatement, step: &Step) {
    match step {
        Step::Rename { from, to } => {
            alter.rename_column(Alias::new(from.as_str()), Alias::new(to.as_str()));
        }
        Step::Add(column) => {
            let mut def = ColumnDef::new_with_type(
                Alias::new(column.name.as_str()),
                backend.column_type(column.field_type),
            );
            def.null();
            // Existing rows read the type's default, as a rebuild would have written it
            // (a constant default: instant on every engine).
            let default = Value::type_default(column.field_type);
            if !default.is_null() {
                let value = backend.bind(&default, column.field_type);
                if backend == Backend::MySql {
                    // MySQL takes defaults of TEXT and JSON columns only as expressions
                    // (sea-query writes a custom default in parentheses).
                    let literal = sea_query::MysqlQueryBuilder.value_to_string(&value);
                    def.default(Expr::cust(literal));
                } else {
                    def.default(Expr::val(value));
                }
            }
            alter.add_column(&mut def);
        }
        Step::Remove(name) => {
            alter.drop_column(Alias::new(name.as_str()));
        }
    }
}

/// The DDL that makes `current` into `plan.next` in place, or `None` when the change needs
/// a rebuild. SQLite and PostgreSQL: the indexes going away are dropped first (SQLite cannot
/// drop an indexed column), then one `ALTER TABLE` per column step (SQLite takes no more),
/// then the new indexes. MySQL: all of it as one `ALTER TABLE`, atomic there, so a crash
/// leaves the old shape or the new.
pub fn statements(
    backend: Backend,
    current: &Collection,
    plan: &SchemaPlan,
) -> Option<Vec<String>> {
    let steps = steps(backend, current, plan)?;
    let (dropped, created) = indexes::changes(current, plan);
    let builder = backend.db_backend();
    let table = Alias::new(current.name.as_str());
    let alter_of = |step: &Step| {
        let mut alter = Table::alter();
        alter.table(table.clone());
        add_step(backend, &mut alter, step);
        alter
    };
    if backend == Backend::MySql {
        let mut clauses: Vec<String> = dropped
            .iter()
            .map(|ix| indexes::mysql_drop_clause(current, ix))
            .collect();
        if !steps.is_empty() {
            let mut alter = Table::alter();
            alter.table(table.clone());
            for step in &steps {
                add_step(backend, &mut alter, step);
            }
            let sql = builder.build(&alter).to_string();
            let prefix = format!("ALTER TABLE `{}` ", current.name);
            clauses.push(sql.strip_prefix(&prefix).unwrap_or(&sql).to_owned());
        }
        clauses.extend(
            created
                .iter()
                .map(|ix| indexes::mysql_add_clause(&plan.next, ix)),
        );
        if clauses.is_empty() {
            return Some(Vec::new());
        }
        return Some(vec![format!(
            "ALTER TABLE `{}` {}",
            current.name,
            clauses.join(", ")
        )]);
    }
    let mut run: Vec<String> = dropped
        .iter()
        .map(|ix| indexes::drop_sql(backend, current, ix))
        .collect();
    run.extend(
        steps
            .iter()
            .map(|step| builder.build(&alter_of(step)).to_string()),
    );
    run.extend(
        created
            .iter()
            .map(|ix| indexes::create_sql(backend, &plan.next, ix, current.name.as_str())),
    );
    Some(run)
}

/// Makes `current` into `plan.next` in place inside `txn` when it can (SQLite, PostgreSQL),
/// returning the DDL run; `None` when the change needs a rebuild (nothing run then).
pub async fn alter_in_transaction(
    txn: &DatabaseTransaction,
    backend: Backend,
    current: &Collection,
    plan: &SchemaPlan,
) -> Result<Option<Vec<String>>, RepoError> {
    let Some(statements) = statements(backend, current, plan) else {
        return Ok(None);
    };
    for sql in &statements {
        txn.execute_unprepared(sql)
            .await
            .map_err(|e| classify(&e))?;
    }
    Ok(Some(statements))
}

#[cfg(test)]
mod tests {
    use super::*;
    use moon_domain::{CollectionName, FieldType, PlannedColumn};

    fn column(name: &str, field_type: FieldType, nullable: bool, unique: bool) -> Column {
        Column {
            name: ColumnName::parse(name).unwrap_or_else(|e| panic!("{e}")),
            field_type,
            nullable,
            unique,
        }
    }

    fn collection(columns: Vec<Column>) -> Collection {
        Collection {
            name: CollectionName::parse("items").unwrap_or_else(|e| panic!("{e}")),
            columns,
            indexes: Vec::new(),
            version: 1,
        }
    }

    fn plan(next: Vec<(Column, Option<&str>)>) -> SchemaPlan {
        SchemaPlan {
            next: collection(next.iter().map(|(c, _)| c.clone()).collect()),
            columns: next
                .into_iter()
                .map(|(column, source)| PlannedColumn {
                    column,
                    source: source.map(|s| ColumnName::parse(s).unwrap_or_else(|e| panic!("{e}"))),
                })
                .collect(),
        }
    }

    #[test]
    fn adding_renaming_and_removing_go_in_place() {
        let title = column("title", FieldType::String, false, false);
        let code = column("code", FieldType::String, true, true);
        let current = collection(vec![title.clone(), code.clone()]);
        let name = column("name", FieldType::String, false, false);
        let note = column("note", FieldType::Json, true, false);
        let change = plan(vec![(name, Some("title")), (note.clone(), None)]);
        let postgres = steps(Backend::Postgres, &current, &change);
        assert_eq!(
            postgres.map(|s| s.len()),
            Some(3),
            "rename, add, remove on PostgreSQL"
        );
        // SQLite cannot drop the unique `code` in place.
        assert_eq!(steps(Backend::Sqlite, &current, &change), None);
        let keep_code = plan(vec![
            (title, Some("title")),
            (code, Some("code")),
            (note, None),
        ]);
        let sqlite = steps(Backend::Sqlite, &current, &keep_code);
        assert!(matches!(sqlite.as_deref(), Some([Step::Add(_)])));
        let decimal = column("num", FieldType::Decimal { scale: 2 }, true, false);
        let sqlite =
            |alter: &TableAlterStatement| Backend::Sqlite.db_backend().build(alter).to_string();
        let mut alter = Table::alter();
        alter.table(Alias::new("items"));
        add_step(Backend::Sqlite, &mut alter, &Step::Add(decimal.clone()));
        assert!(
            sqlite(&alter).contains("DEFAULT '0.00'"),
            "{}",
            sqlite(&alter)
        );
        // MySQL: every step in one statement, defaults as expressions.
        let text = statements(Backend::MySql, &current, &change).unwrap_or_default();
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(
            text[0].contains("RENAME COLUMN")
                && text[0].contains("DROP COLUMN")
                && text[0].contains("DEFAULT ('{}')"),
            "{text:?}"
        );
    }

    #[test]
    fn conversions_swaps_and_required_columns_rebuild() {
        let a = column("aaa", FieldType::Integer, true, false);
        let b = column("bbb", FieldType::Integer, true, false);
        let current = collection(vec![a.clone(), b.clone()]);
        let retyped = column("aaa", FieldType::String, true, false);
        let convert = plan(vec![(retyped, Some("aaa")), (b.clone(), Some("bbb"))]);
        assert_eq!(steps(Backend::Postgres, &current, &convert), None);
        let swap = plan(vec![
            (column("bbb", FieldType::Integer, true, false), Some("aaa")),
            (column("aaa", FieldType::Integer, true, false), Some("bbb")),
        ]);
        assert_eq!(steps(Backend::Postgres, &current, &swap), None);
        let required = plan(vec![
            (a, Some("aaa")),
            (b, Some("bbb")),
            (column("ccc", FieldType::Integer, false, false), None),
        ]);
        assert_eq!(steps(Backend::Sqlite, &current, &required), None);
    }
}
