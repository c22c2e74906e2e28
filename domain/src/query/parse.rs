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
mod tests;
