//! Parses URL query parameters into a [`ListQuery`] (and aggregates), typed by the
//! collection: every malformed parameter, unknown field or operator, operator that does not
//! fit the type, or value that does not parse is refused, naming it.

use crate::collection::Collection;
use crate::error::{FieldError, QueryError};
use crate::field_type::FieldType;
use crate::value::{Value, parse_datetime, parse_decimal};

use super::cursor::Cursor;
use super::model::{Aggregate, Field, Filter, FilterOp, ListQuery, Sort};

/// The configurable bounds of a query (API.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    pub max_filters: usize,
    pub max_sorts: usize,
    pub default_limit: u32,
    pub max_limit: u32,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_filters: 20,
            max_sorts: 5,
            default_limit: 15,
            max_limit: 200,
        }
    }
}

/// Parameter names that are never a `col=value` filter (API.md §8).
const RESERVED: [&str; 9] = [
    "q", "sort", "fields", "limit", "after", "count", "field", "atomic", "dry_run",
];
/// The reserved names `:list` takes.
const LIST_PARAMS: [&str; 6] = ["q", "sort", "fields", "limit", "after", "count"];

fn invalid(field: &str, message: impl Into<String>) -> QueryError {
    QueryError::Field(FieldError::invalid(field, message))
}

/// Parses the parameters of `:list`.
///
/// # Errors
/// The first bad parameter, named.
pub fn parse_list_query(
    collection: &Collection,
    params: &[(String, String)],
    limits: QueryLimits,
) -> Result<ListQuery, QueryError> {
    parse(collection, params, limits, &LIST_PARAMS)
}

/// Parses `:count|sum|avg|min|max` (`action`) with its `field` and filters.
///
/// # Errors
/// The first bad parameter, named; a `field` missing or of a type the aggregate does not
/// take.
pub fn parse_aggregate(
    collection: &Collection,
    action: &str,
    params: &[(String, String)],
    limits: QueryLimits,
) -> Result<(Aggregate, ListQuery), QueryError> {
    let query = parse(collection, params, limits, &["q", "field"])?;
    let field_param = single(params, "field")?;
    if action == "count" {
        if field_param.is_some() {
            return Err(QueryError::Field(FieldError::unknown_parameter(
                "field",
                "count takes no field",
            )));
        }
        return Ok((Aggregate::Count, query));
    }
    let raw =
        field_param.ok_or_else(|| invalid("field", format!("{action} needs ?field=<column>")))?;
    let field = Field::resolve(collection, raw)
        .ok_or_else(|| invalid("field", format!("unknown field '{raw}'")))?;
    let ty = field.field_type();
    let numeric = matches!(ty, FieldType::Integer | FieldType::Decimal { .. });
    let ordered = numeric || matches!(ty, FieldType::Datetime | FieldType::String);
    let aggregate = match action {
        "sum" if numeric => Aggregate::Sum(field),
        "avg" if numeric => Aggregate::Avg(field),
        "min" if ordered => Aggregate::Min(field),
        "max" if ordered => Aggregate::Max(field),
        "sum" | "avg" | "min" | "max" => {
            return Err(invalid(
                "field",
                format!("{action} does not apply to the {ty} field '{raw}'"),
            ));
        }
        _ => return Err(invalid("action", format!("unknown aggregate '{action}'"))),
    };
    Ok((aggregate, query))
}

/// Parses a `fields=a,b` projection (also used by `:get`).
///
/// # Errors
/// An unknown field name.
pub fn parse_fields(collection: &Collection, raw: &str) -> Result<Vec<Field>, QueryError> {
    let mut fields = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let field = Field::resolve(collection, name)
            .ok_or_else(|| invalid("fields", format!("unknown field '{name}' in fields")))?;
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    Ok(fields)
}

fn single<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, QueryError> {
    let mut found = params.iter().filter(|(k, _)| k == name);
    let first = found.next().map(|(_, v)| v.as_str());
    if found.next().is_some() {
        return Err(invalid(name, format!("'{name}' is given more than once")));
    }
    Ok(first)
}

fn parse(
    collection: &Collection,
    params: &[(String, String)],
    limits: QueryLimits,
    allowed: &[&str],
) -> Result<ListQuery, QueryError> {
    let mut query = ListQuery::first(limits.default_limit);
    for (key, raw) in params {
        if RESERVED.contains(&key.as_str()) {
            if !allowed.contains(&key.as_str()) {
                return Err(QueryError::Field(FieldError::unknown_parameter(
                    key,
                    format!("'{key}' does not apply here"),
                )));
            }
            continue;
        }
        query.filters.push(filter(collection, key, raw)?);
        if query.filters.len() > limits.max_filters {
            return Err(invalid(
                "filters",
                format!("at most {} filters", limits.max_filters),
            ));
        }
    }
    if let Some(raw) = single(params, "q")? {
        query.search = Some(raw.to_owned()).filter(|q| !q.is_empty());
        if raw.contains('\0') {
            return Err(invalid("q", "q may not contain NUL"));
        }
        if let Some(problem) = crate::portable::search_term_problem(raw) {
            return Err(invalid("q", problem));
        }
    }
    if let Some(raw) = single(params, "sort")? {
        query.sorts = sorts(collection, raw, limits.max_sorts)?;
    }
    if let Some(raw) = single(params, "fields")? {
        query.fields = Some(parse_fields(collection, raw)?);
    }
    if let Some(raw) = single(params, "limit")? {
        let limit: u32 = raw.parse().map_err(|_| {
            invalid(
                "limit",
                format!(
                    "limit must be a whole number from 1 to {}, not '{raw}'",
                    limits.max_limit
                ),
            )
        })?;
        if limit == 0 {
            return Err(invalid("limit", "limit must be at least 1"));
        }
        if limit > limits.max_limit {
            return Err(QueryError::PageSizeExceeded {
                max: limits.max_limit,
            });
        }
        query.limit = limit;
    }
    match single(params, "count")? {
        None => {}
        Some("none") => query.with_total = false,
        Some(other) => {
            return Err(invalid(
                "count",
                format!("count may only be 'none' (skip the total), not '{other}'"),
            ));
        }
    }
    if let Some(raw) = single(params, "after")?.filter(|raw| !raw.is_empty()) {
        query.after = Some(Cursor::decode(raw, &query).map_err(|m| invalid("after", m))?);
    }
    Ok(query)
}

fn sorts(collection: &Collection, raw: &str, max: usize) -> Result<Vec<Sort>, QueryError> {
    let mut sorts: Vec<Sort> = Vec::new();
    for item in raw.split(',').map(str::trim) {
        let (descending, name) = item.strip_prefix('-').map_or((false, item), |n| (true, n));
        let field = Field::resolve(collection, name)
            .ok_or_else(|| invalid("sort", format!("unknown field '{name}' in sort")))?;
        if field.field_type() == FieldType::Json {
            return Err(invalid(
                "sort",
                format!("json field '{name}' cannot be sorted"),
            ));
        }
        if sorts.iter().any(|s| s.field == field) {
            return Err(invalid("sort", format!("'{name}' is sorted twice")));
        }
        sorts.push(Sort { field, descending });
        if sorts.len() > max {
            return Err(invalid("sort", format!("at most {max} sort fields")));
        }
    }
    Ok(sorts)
}

fn filter(collection: &Collection, key: &str, raw: &str) -> Result<Filter, QueryError> {
    let (name, op) = match key.strip_suffix(']').and_then(|k| k.split_once('[')) {
        Some((name, op)) => {
            let op = FilterOp::parse(op)
                .ok_or_else(|| invalid(key, format!("unknown operator '{op}' in '{key}'")))?;
            (name, op)
        }
        None if key.contains('[') || key.contains(']') => {
            return Err(invalid(
                key,
                format!("malformed filter '{key}'; use col[op]=value"),
            ));
        }
        None => (key, FilterOp::Eq),
    };
    let Some(field) = Field::resolve(collection, name) else {
        return Err(if key == name {
            QueryError::Field(FieldError::unknown_parameter(
                key,
                format!("unknown query parameter '{key}'"),
            ))
        } else {
            invalid(key, format!("unknown field '{name}' in filter '{key}'"))
        });
    };
    let ty = field.field_type();
    if !op.fits(ty) {
        return Err(invalid(
            key,
            format!(
                "operator '{}' does not apply to the {ty} field '{name}'",
                op.name()
            ),
        ));
    }
    if matches!(
        op,
        FilterOp::Like
            | FilterOp::Contains
            | FilterOp::IContains
            | FilterOp::StartsWith
            | FilterOp::EndsWith
    ) && let Some(problem) = crate::portable::search_term_problem(raw)
    {
        return Err(invalid(key, problem));
    }
    let values = match op {
        FilterOp::Null | FilterOp::NotNull => Vec::new(),
        FilterOp::In if raw.split(',').count() > crate::portable::MAX_IN_VALUES => {
            return Err(invalid(
                key,
                format!(
                    "an 'in' list may hold at most {} values",
                    crate::portable::MAX_IN_VALUES
                ),
            ));
        }
        FilterOp::In => raw
            .split(',')
            .map(|item| filter_value(ty, item).map_err(|m| invalid(key, m)))
            .collect::<Result<_, _>>()?,
        _ => vec![filter_value(ty, raw).map_err(|m| invalid(key, m))?],
    };
    Ok(Filter { field, op, values })
}

/// A filter value, parsed by the field's type (a `+` of an offset that arrived as a space,
/// as form decoding makes it, is taken back).
fn filter_value(ty: FieldType, raw: &str) -> Result<Value, String> {
    match ty {
        FieldType::String | FieldType::Json => {
            if raw.contains('\0') {
                Err("values may not contain NUL".to_owned())
            } else {
                Ok(Value::Text(raw.to_owned()))
            }
        }
        FieldType::Integer => raw
            .parse()
            .map(Value::Integer)
            .map_err(|_| format!("'{raw}' is not an integer")),
        FieldType::Decimal { scale } => parse_decimal(raw, scale).map(Value::Decimal),
        FieldType::Boolean => match raw {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("'{raw}' is not true or false")),
        },
        FieldType::Datetime => parse_datetime(raw)
            .or_else(|e| parse_datetime(&raw.replacen(' ', "+", 1)).map_err(|_| e))
            .map(Value::DateTime),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::Column;
    use crate::error::FieldErrorKind;
    use crate::name::{CollectionName, ColumnName};

    fn products() -> Collection {
        let col = |name: &str, field_type| Column {
            name: ColumnName::parse(name).unwrap_or_else(|e| panic!("{e}")),
            field_type,
            nullable: true,
            unique: false,
        };
        Collection {
            name: CollectionName::parse("products").unwrap_or_else(|e| panic!("{e}")),
            columns: vec![
                col("title", FieldType::String),
                col("price", FieldType::Decimal { scale: 2 }),
                col("stock", FieldType::Integer),
                col("active", FieldType::Boolean),
                col("meta", FieldType::Json),
            ],
            indexes: Vec::new(),
            version: 1,
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn parse_ok(pairs: &[(&str, &str)]) -> ListQuery {
        parse_list_query(&products(), &params(pairs), QueryLimits::default())
            .unwrap_or_else(|e| panic!("{pairs:?}: {e}"))
    }

    fn parse_err(pairs: &[(&str, &str)]) -> (FieldErrorKind, String) {
        match parse_list_query(&products(), &params(pairs), QueryLimits::default()) {
            Err(QueryError::Field(f)) => (f.kind, f.field),
            other => panic!("{pairs:?} gave {other:?}"),
        }
    }

    #[test]
    fn filters_sorts_and_projection_parse() {
        let q = parse_ok(&[
            ("price[gte]", "9.5"),
            ("title", "Pen"),
            ("stock[in]", "1,2,3"),
            ("meta[null]", ""),
            ("sort", "-price,title"),
            ("fields", "title"),
            ("limit", "50"),
            ("count", "none"),
            ("q", "pe"),
        ]);
        assert_eq!(q.filters.len(), 4);
        assert_eq!(q.filters[1].op, FilterOp::Eq);
        assert_eq!(
            q.filters[2].values,
            vec![Value::Integer(1), Value::Integer(2), Value::Integer(3)]
        );
        assert_eq!(
            q.sorts
                .iter()
                .map(|s| (s.field.name(), s.descending))
                .collect::<Vec<_>>(),
            [("price", true), ("title", false)]
        );
        assert_eq!(q.fields.map(|f| f.len()), Some(1));
        assert_eq!(
            (q.limit, q.with_total, q.search.as_deref()),
            (50, false, Some("pe"))
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        assert_eq!(
            parse_err(&[("bogus", "1")]),
            (FieldErrorKind::UnknownParameter, "bogus".into())
        );
        assert_eq!(
            parse_err(&[("field", "price")]),
            (FieldErrorKind::UnknownParameter, "field".into())
        );
        assert_eq!(parse_err(&[("bogus[eq]", "1")]).1, "bogus[eq]");
        assert_eq!(parse_err(&[("price[like]", "1")]).1, "price[like]");
        assert_eq!(parse_err(&[("price[xx]", "1")]).1, "price[xx]");
        assert_eq!(parse_err(&[("price", "abc")]).1, "price");
        assert_eq!(parse_err(&[("stock[gt]", "1.5")]).1, "stock[gt]");
        assert_eq!(parse_err(&[("active", "yes")]).1, "active");
        assert_eq!(parse_err(&[("meta[eq]", "{}")]).1, "meta[eq]");
        assert_eq!(parse_err(&[("sort", "nope")]).1, "sort");
        assert_eq!(parse_err(&[("sort", "meta")]).1, "sort");
        assert_eq!(parse_err(&[("sort", "a,b,c,d,e,f")]).1, "sort");
        assert_eq!(parse_err(&[("fields", "title,nope")]).1, "fields");
        assert_eq!(parse_err(&[("limit", "0")]).1, "limit");
        assert_eq!(parse_err(&[("after", "garbage")]).1, "after");
        assert_eq!(parse_err(&[("price[", "1")]).1, "price[");
        assert!(matches!(
            parse_list_query(
                &products(),
                &params(&[("limit", "201")]),
                QueryLimits::default()
            ),
            Err(QueryError::PageSizeExceeded { max: 200 })
        ));
        let many: Vec<(String, String)> = (0..21)
            .map(|i| ("stock[ne]".to_owned(), i.to_string()))
            .collect();
        assert!(parse_list_query(&products(), &many, QueryLimits::default()).is_err());
    }

    #[test]
    fn datetimes_survive_a_decoded_plus() {
        let collection = products();
        let q = parse_list_query(
            &collection,
            &params(&[("created_at[gt]", "2024-01-01T00:00:00 02:00")]),
            QueryLimits::default(),
        );
        assert!(q.is_ok(), "{q:?}");
    }

    #[test]
    fn aggregates_take_a_fitting_field() {
        let p = |pairs: &[(&str, &str)]| params(pairs);
        let c = products();
        let l = QueryLimits::default();
        assert!(matches!(
            parse_aggregate(&c, "count", &p(&[("stock[gt]", "1")]), l),
            Ok((Aggregate::Count, _))
        ));
        assert!(matches!(
            parse_aggregate(&c, "sum", &p(&[("field", "price")]), l),
            Ok((Aggregate::Sum(_), _))
        ));
        assert!(matches!(
            parse_aggregate(&c, "max", &p(&[("field", "title")]), l),
            Ok((Aggregate::Max(_), _))
        ));
        assert!(parse_aggregate(&c, "sum", &p(&[("field", "title")]), l).is_err());
        assert!(parse_aggregate(&c, "avg", &p(&[]), l).is_err());
        assert!(
            parse_aggregate(&c, "sum", &p(&[("field", "price"), ("sort", "title")]), l).is_err()
        );
    }
}
