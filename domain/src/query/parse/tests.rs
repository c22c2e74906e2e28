//! Unit tests of `parse`.

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
    assert!(parse_aggregate(&c, "sum", &p(&[("field", "price"), ("sort", "title")]), l).is_err());
}
