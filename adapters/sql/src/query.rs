//! Renders the domain's list query into sea-query: filters, search, keyset condition and
//! order, with the few dialect differences that keep results identical on every engine
//! (code-point string order on PostgreSQL, numeric decimal order on SQLite, nulls smallest).

use moon_domain::{Collection, Field, FieldType, Filter, FilterOp, ListQuery, Value};
use sea_query::{
    Alias, Cond, Condition, Expr, ExprTrait, LikeExpr, NullOrdering, Order, SelectStatement,
};

use crate::dialect::Backend;

/// The SQLite collation that orders decimal text numerically (registered per connection).
pub const DECIMAL_COLLATION: &str = "moon_decimal";

/// [`DECIMAL_COLLATION`]'s order: decimal text numerically (`"9.50" < "10.00"`), any other
/// text as text.
#[must_use]
pub fn compare_decimal_text(a: &str, b: &str) -> std::cmp::Ordering {
    match (
        a.parse::<rust_decimal::Decimal>(),
        b.parse::<rust_decimal::Decimal>(),
    ) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

fn column(field: &Field) -> Expr {
    Expr::col(Alias::new(field.name()))
}

/// A custom expression whose `?` placeholders take `exprs` in turn (numbered `$n` on
/// PostgreSQL, as sea-query expects there).
fn custom<const N: usize>(backend: Backend, template: &str, exprs: [Expr; N]) -> Expr {
    if backend != Backend::Postgres {
        return Expr::cust_with_exprs(template.to_owned(), exprs);
    }
    let mut numbered = String::with_capacity(template.len() + 4);
    let mut n = 0;
    for c in template.chars() {
        if c == '?' {
            n += 1;
            numbered.push('$');
            numbered.push_str(&n.to_string());
        } else {
            numbered.push(c);
        }
    }
    Expr::cust_with_exprs(numbered, exprs)
}

/// The field as compared and sorted: by code point for strings, numerically for decimals.
fn comparable(backend: Backend, field: &Field) -> Expr {
    match (backend, field.field_type()) {
        (Backend::Postgres, FieldType::String) => {
            custom(backend, "? COLLATE \"C\"", [column(field)])
        }
        (Backend::Sqlite, FieldType::Decimal { .. }) => custom(
            backend,
            &format!("? COLLATE {DECIMAL_COLLATION}"),
            [column(field)],
        ),
        _ => column(field),
    }
}

fn bound(backend: Backend, field: &Field, value: &Value) -> Expr {
    Expr::val(backend.bind(value, field.field_type()))
}

/// `%`, `_` and the escape character itself taken literally, for `LIKE ... ESCAPE '!'`.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// A substring test. SQLite's LIKE with a leading `%` backtracks (pattern × text per row:
/// a 256-character term over a megabyte row took a second), so there it is `instr`, a plain
/// scan; the others keep `LIKE ... ESCAPE`, bounded by their statement time limits.
fn contains(backend: Backend, field: &Field, term: &str, case_insensitive: bool) -> Expr {
    if backend != Backend::Sqlite {
        return like(
            backend,
            field,
            format!("%{}%", escape_like(term)),
            case_insensitive,
        );
    }
    let sql = if case_insensitive {
        "instr(LOWER(?), LOWER(?)) > 0"
    } else {
        "instr(?, ?) > 0"
    };
    custom(backend, sql, [column(field), Expr::val(term.to_owned())])
}

/// A suffix test; on SQLite a comparison of the last characters (see [`contains`]).
fn ends_with(backend: Backend, field: &Field, term: &str) -> Expr {
    if backend != Backend::Sqlite || term.is_empty() {
        return like(backend, field, format!("%{}", escape_like(term)), false);
    }
    let chars = i64::try_from(term.chars().count()).unwrap_or(i64::MAX);
    custom(
        backend,
        "substr(?, ?) = ?",
        [column(field), Expr::val(-chars), Expr::val(term.to_owned())],
    )
}

fn like(backend: Backend, field: &Field, pattern: String, case_insensitive: bool) -> Expr {
    if case_insensitive {
        custom(
            backend,
            "LOWER(?) LIKE LOWER(?) ESCAPE '!'",
            [column(field), Expr::val(pattern)],
        )
    } else {
        column(field).like(LikeExpr::new(pattern).escape('!'))
    }
}

fn text_of(value: Option<&Value>) -> &str {
    match value {
        Some(Value::Text(t)) => t,
        _ => "",
    }
}

fn filter(backend: Backend, f: &Filter) -> Expr {
    let field = &f.field;
    let first = f.values.first();
    let value = || first.map_or_else(|| Expr::val(None::<String>), |v| bound(backend, field, v));
    match f.op {
        FilterOp::Eq => comparable(backend, field).eq(value()),
        FilterOp::Ne => comparable(backend, field).ne(value()),
        FilterOp::Gt => comparable(backend, field).gt(value()),
        FilterOp::Gte => comparable(backend, field).gte(value()),
        FilterOp::Lt => comparable(backend, field).lt(value()),
        FilterOp::Lte => comparable(backend, field).lte(value()),
        FilterOp::In => {
            comparable(backend, field).is_in(f.values.iter().map(|v| bound(backend, field, v)))
        }
        FilterOp::Null => column(field).is_null(),
        FilterOp::NotNull => column(field).is_not_null(),
        // The client's own pattern; `\` escapes on every engine.
        FilterOp::Like => column(field).like(LikeExpr::new(text_of(first)).escape('\\')),
        FilterOp::Contains => contains(backend, field, text_of(first), false),
        FilterOp::IContains => contains(backend, field, text_of(first), true),
        FilterOp::StartsWith => like(
            backend,
            field,
            format!("{}%", escape_like(text_of(first))),
            false,
        ),
        FilterOp::EndsWith => ends_with(backend, field, text_of(first)),
    }
}

/// The filters and the search, ANDed.
#[must_use]
pub fn conditions(backend: Backend, collection: &Collection, query: &ListQuery) -> Condition {
    let mut all = Cond::all();
    for f in &query.filters {
        all = all.add(filter(backend, f));
    }
    if let Some(term) = &query.search {
        let mut any = Cond::any();
        let mut searchable = false;
        for c in collection
            .columns
            .iter()
            .filter(|c| c.field_type == FieldType::String)
        {
            searchable = true;
            any = any.add(contains(
                backend,
                &Field::Column(c.name.clone(), c.field_type),
                term,
                true,
            ));
        }
        all = all.add(if searchable {
            any
        } else {
            Cond::all().add(Expr::cust("1 = 0"))
        });
    }
    all
}

/// The keyset condition: rows strictly after the cursor in the query's order, nulls being
/// the smallest values and `id` breaking ties.
#[must_use]
pub fn after_cursor(backend: Backend, query: &ListQuery) -> Option<Condition> {
    let cursor = query.after.as_ref()?;
    let id = Field::System(moon_domain::SystemField::Id);
    let mut any = Cond::any();
    for (i, sort) in query.sorts.iter().enumerate() {
        let Some(value) = cursor.values.get(i) else {
            break;
        };
        let mut branch = Cond::all();
        for (j, earlier) in query.sorts[..i].iter().enumerate() {
            branch = branch.add(equal(backend, &earlier.field, cursor.values.get(j)));
        }
        let after = match (value, sort.descending) {
            (Value::Null, false) => Some(Cond::all().add(column(&sort.field).is_not_null())),
            (Value::Null, true) => None,
            (v, false) => Some(Cond::all().add(comparable(backend, &sort.field).gt(bound(
                backend,
                &sort.field,
                v,
            )))),
            (v, true) => Some(
                Cond::any()
                    .add(comparable(backend, &sort.field).lt(bound(backend, &sort.field, v)))
                    .add(column(&sort.field).is_null()),
            ),
        };
        if let Some(after) = after {
            any = any.add(branch.add(after));
        }
    }
    let mut last = Cond::all();
    for (j, sort) in query.sorts.iter().enumerate() {
        last = last.add(equal(backend, &sort.field, cursor.values.get(j)));
    }
    any = any.add(last.add(column(&id).gt(cursor.last_id.to_string())));
    Some(any)
}

fn equal(backend: Backend, field: &Field, value: Option<&Value>) -> Expr {
    match value {
        None | Some(Value::Null) => column(field).is_null(),
        Some(v) => comparable(backend, field).eq(bound(backend, field, v)),
    }
}

/// `ORDER BY` the query's sorts, then `id`; nulls first ascending, last descending.
pub fn order(select: &mut SelectStatement, backend: Backend, query: &ListQuery) {
    for sort in &query.sorts {
        let (order, nulls) = if sort.descending {
            (Order::Desc, NullOrdering::Last)
        } else {
            (Order::Asc, NullOrdering::First)
        };
        let expr = comparable(backend, &sort.field);
        if backend == Backend::Postgres {
            select.order_by_expr_with_nulls(expr, order, nulls);
        } else {
            // SQLite and MySQL already sort nulls as the smallest values.
            select.order_by_expr(expr, order);
        }
    }
    select.order_by(Alias::new("id"), Order::Asc);
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_taken_literally() {
        assert_eq!(escape_like("50%_off!"), "50!%!_off!!");
    }
}

#[cfg(test)]
mod rendering {
    use super::*;
    use moon_domain::{CollectionName, Column, ColumnName, Sort};
    use sea_query::{Query, SqliteQueryBuilder};

    #[test]
    fn sqlite_orders_decimals_by_the_decimal_collation() {
        let price = Column {
            name: ColumnName::parse("price").unwrap_or_else(|e| panic!("{e}")),
            field_type: FieldType::Decimal { scale: 2 },
            nullable: true,
            unique: false,
        };
        let collection = Collection {
            name: CollectionName::parse("things").unwrap_or_else(|e| panic!("{e}")),
            columns: vec![price],
            indexes: Vec::new(),
            version: 1,
        };
        let field = Field::resolve(&collection, "price")
            .unwrap_or(Field::System(moon_domain::SystemField::Id));
        let mut query = ListQuery::first(5);
        query.sorts.push(Sort {
            field,
            descending: true,
        });
        let mut select = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("things"))
            .to_owned();
        order(&mut select, Backend::Sqlite, &query);
        assert_eq!(
            select.to_string(SqliteQueryBuilder),
            r#"SELECT "id" FROM "things" ORDER BY "price" COLLATE moon_decimal DESC, "id" ASC"#
        );
    }
}
