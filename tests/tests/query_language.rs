//! The list query language and aggregates on every configured engine: every operator on
//! every type it fits, sort orders (numeric decimals on SQLite too, code-point strings,
//! nulls smallest), and keyset pagination that visits every row exactly once.

use std::cmp::Ordering;

use moon_application::{CollectionService, RecordService};
use moon_domain::{FieldType, Value};
use moon_mock::fixtures::{collection_name, column};
use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::sql_services;
use serde_json::{Value as Json, json};

async fn setup(engine: Engine) -> (TestDatabase, SqlDatabase, CollectionService, RecordService) {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (collections, records) = sql_services(&db, vec![]);
    let columns = vec![
        column("name", FieldType::String, true, false),
        column("qty", FieldType::Integer, true, false),
        column("price", FieldType::Decimal { scale: 2 }, true, false),
        column("flag", FieldType::Boolean, true, false),
        column("seen", FieldType::Datetime, true, false),
        column("doc", FieldType::Json, true, false),
    ];
    collections
        .create(collection_name("things"), columns, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (test_db, db, collections, records)
}

fn obj(v: Json) -> serde_json::Map<String, Json> {
    match v {
        Json::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The names of the records a query returns, in order (one page of up to 200).
async fn names(records: &RecordService, pairs: &[(&str, &str)]) -> Vec<String> {
    let mut all = params(pairs);
    all.push(("limit".into(), "200".into()));
    let page = records
        .list("things", &all)
        .await
        .unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
    page.records
        .iter()
        .map(|r| match r.fields[0].1 {
            Value::Text(ref t) => t.clone(),
            _ => "<null>".to_owned(),
        })
        .collect()
}

async fn sorted_names(records: &RecordService, pairs: &[(&str, &str)]) -> Vec<String> {
    let mut got = names(records, pairs).await;
    got.sort();
    got
}

/// Query parameters of one case.
type Query = Vec<(&'static str, &'static str)>;

async fn operators_on(engine: Engine) {
    let (test_db, db, _, records) = setup(engine).await;
    let rows = [
        json!({"name": "apple", "qty": 3, "price": "9.50", "flag": true, "seen": "2024-01-01T00:00:00Z", "doc": {"a": 1}}),
        json!({"name": "Banana", "qty": 10, "price": "10.00", "flag": false, "seen": "2024-06-01T12:00:00+02:00", "doc": [1]}),
        json!({"name": "cherry", "qty": -2, "price": "-0.01", "flag": true, "seen": "2023-12-31T23:59:59.999999Z"}),
        json!({"name": "Zoë", "qty": 0, "price": "100.00", "flag": null, "seen": null, "doc": null}),
        json!({"name": "50% off", "qty": null, "price": null, "flag": false}),
        json!({"name": "a_b", "qty": 7, "price": "0.99"}),
        json!({"name": "ab", "qty": 7, "price": "0.98"}),
        json!({"name": "ÅSA", "qty": 1}),
    ];
    for row in rows {
        records
            .create("things", obj(row))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let cases: Vec<(Query, Vec<&str>)> = vec![
        // strings: case-sensitive eq/like/contains, code point comparisons, literal wildcards
        (vec![("name", "apple")], vec!["apple"]),
        (vec![("name[eq]", "Apple")], vec![]),
        (
            vec![("name[ne]", "apple"), ("qty[notnull]", "")],
            vec!["Banana", "Zoë", "a_b", "ab", "cherry", "ÅSA"],
        ),
        (
            vec![("name[gt]", "a"), ("name[lt]", "b")],
            vec!["a_b", "ab", "apple"],
        ),
        (
            vec![("name[gte]", "Zoë")],
            vec!["a_b", "ab", "apple", "cherry", "Zoë", "ÅSA"],
        ),
        (vec![("name[lte]", "Banana")], vec!["50% off", "Banana"]),
        (vec![("name[like]", "a%")], vec!["a_b", "ab", "apple"]),
        (vec![("name[like]", "a\\_b")], vec!["a_b"]),
        (vec![("name[contains]", "an")], vec!["Banana"]),
        (vec![("name[contains]", "_")], vec!["a_b"]),
        (vec![("name[contains]", "%")], vec!["50% off"]),
        (vec![("name[icontains]", "AN")], vec!["Banana"]),
        (vec![("name[icontains]", "ZO")], vec!["Zoë"]),
        (vec![("name[startswith]", "a")], vec!["a_b", "ab", "apple"]),
        (vec![("name[startswith]", "A")], vec![]),
        (vec![("name[endswith]", "y")], vec!["cherry"]),
        (vec![("name[in]", "apple,ab,nope")], vec!["ab", "apple"]),
        // integers
        (vec![("qty[gt]", "3")], vec!["Banana", "a_b", "ab"]),
        (
            vec![("qty[gte]", "3"), ("qty[lt]", "10")],
            vec!["a_b", "ab", "apple"],
        ),
        (vec![("qty[lte]", "0")], vec!["Zoë", "cherry"]),
        (
            vec![("qty[ne]", "7")],
            vec!["Banana", "Zoë", "apple", "cherry", "ÅSA"],
        ),
        (vec![("qty[in]", "7,-2")], vec!["a_b", "ab", "cherry"]),
        (vec![("qty[null]", "")], vec!["50% off"]),
        // decimals compare numerically, on SQLite too
        (
            vec![("price[lt]", "10")],
            vec!["a_b", "ab", "apple", "cherry", "ÅSA"],
        ),
        (vec![("price[gte]", "9.5")], vec!["Banana", "Zoë", "apple"]),
        (vec![("price", "0.99")], vec!["a_b"]),
        (vec![("price[in]", "100,-0.01")], vec!["Zoë", "cherry"]),
        (vec![("price[null]", "")], vec!["50% off"]),
        // booleans
        (vec![("flag", "true")], vec!["apple", "cherry"]),
        (
            vec![("flag[ne]", "true")],
            vec!["50% off", "Banana", "a_b", "ab", "ÅSA"],
        ),
        (
            vec![("flag[in]", "false")],
            vec!["50% off", "Banana", "a_b", "ab", "ÅSA"],
        ),
        (vec![("flag[null]", "")], vec!["Zoë"]),
        // datetimes, compared as instants
        (vec![("seen[gt]", "2024-01-01T00:00:00Z")], vec!["Banana"]),
        (
            vec![("seen[gte]", "2024-01-01T01:00:00+01:00")],
            vec!["Banana", "apple"],
        ),
        (vec![("seen[lt]", "2024-01-01T00:00:00Z")], vec!["cherry"]),
        (vec![("seen", "2024-06-01T10:00:00Z")], vec!["Banana"]),
        (
            vec![("seen[notnull]", "")],
            vec!["Banana", "apple", "cherry"],
        ),
        (
            vec![("seen[ne]", "2024-01-01T00:00:00Z")],
            vec!["Banana", "cherry"],
        ),
        (
            vec![("seen[lte]", "2024-01-01T00:00:00Z")],
            vec!["apple", "cherry"],
        ),
        (
            vec![("seen[in]", "2024-01-01T00:00:00Z,2024-06-01T10:00:00Z")],
            vec!["Banana", "apple"],
        ),
        (
            vec![("seen[null]", "")],
            vec!["50% off", "Zoë", "a_b", "ab", "ÅSA"],
        ),
        (vec![("price[gt]", "9.99")], vec!["Banana", "Zoë"]),
        (vec![("price[lte]", "0.98")], vec!["ab", "cherry", "ÅSA"]),
        (
            vec![("price[ne]", "0.00")],
            vec!["Banana", "Zoë", "a_b", "ab", "apple", "cherry"],
        ),
        (
            vec![("flag", "false"), ("qty[gte]", "7")],
            vec!["Banana", "a_b", "ab"],
        ),
        (vec![("name[null]", "")], vec![]),
        (vec![("name[notnull]", ""), ("qty[in]", "0")], vec!["Zoë"]),
        (vec![("name[icontains]", "ZOë")], vec!["Zoë"]),
        // json
        (
            vec![("doc[notnull]", "")],
            vec!["Banana", "apple", "cherry", "ÅSA", "50% off", "a_b", "ab"],
        ),
        (vec![("doc[null]", "")], vec!["Zoë"]),
        // q: case-insensitive substring over string columns, wildcards literal, ANDed
        (vec![("q", "AN")], vec!["Banana"]),
        (vec![("q", "%")], vec!["50% off"]),
        (
            vec![("q", "a"), ("qty[gt]", "5")],
            vec!["Banana", "a_b", "ab"],
        ),
        // system fields
        (
            vec![("created_at[notnull]", ""), ("name[in]", "ab")],
            vec!["ab"],
        ),
    ];
    for (query, expected) in cases {
        let mut expected: Vec<String> = expected.into_iter().map(str::to_owned).collect();
        expected.sort();
        assert_eq!(
            sorted_names(&records, &query).await,
            expected,
            "{engine:?} {query:?}"
        );
    }

    // Orders: decimals numerically, strings by code point, nulls smallest, id breaks ties.
    assert_eq!(
        names(&records, &[("sort", "price"), ("price[notnull]", "")]).await,
        ["cherry", "ÅSA", "ab", "a_b", "apple", "Banana", "Zoë"],
        "{engine:?}"
    );
    assert_eq!(
        names(&records, &[("sort", "-price,name")]).await,
        [
            "Zoë", "Banana", "apple", "a_b", "ab", "ÅSA", "cherry", "50% off"
        ],
        "{engine:?}"
    );
    assert_eq!(
        names(&records, &[("sort", "name")]).await,
        [
            "50% off", "Banana", "Zoë", "a_b", "ab", "apple", "cherry", "ÅSA"
        ],
        "{engine:?}"
    );
    assert_eq!(
        names(&records, &[("sort", "-qty"), ("qty[lte]", "1")]).await,
        ["ÅSA", "Zoë", "cherry"],
        "{engine:?}"
    );
    assert_eq!(
        names(
            &records,
            &[("sort", "flag,name"), ("name[startswith]", "a")]
        )
        .await,
        ["a_b", "ab", "apple"]
    );

    // Aggregates, exact.
    let agg = |action: &'static str, pairs: Vec<(&'static str, &'static str)>| {
        let records = &records;
        async move {
            records
                .aggregate("things", action, &params(&pairs))
                .await
                .map(|v| serde_json::to_value(v).unwrap_or_default())
        }
    };
    assert_eq!(agg("count", vec![]).await, Ok(json!(8)));
    assert_eq!(agg("count", vec![("qty[gt]", "100")]).await, Ok(json!(0)));
    assert_eq!(agg("sum", vec![("field", "qty")]).await, Ok(json!(26)));
    assert_eq!(
        agg("sum", vec![("field", "price")]).await,
        Ok(json!("121.46"))
    );
    assert_eq!(
        agg("avg", vec![("field", "price")]).await,
        Ok(json!("17.351429"))
    );
    assert_eq!(
        agg("avg", vec![("field", "qty")]).await,
        Ok(json!("3.714286"))
    );
    assert_eq!(
        agg("min", vec![("field", "price")]).await,
        Ok(json!("-0.01"))
    );
    assert_eq!(
        agg("max", vec![("field", "price")]).await,
        Ok(json!("100.00"))
    );
    assert_eq!(agg("max", vec![("field", "name")]).await, Ok(json!("ÅSA")));
    assert_eq!(
        agg("min", vec![("field", "seen")]).await,
        Ok(json!("2023-12-31T23:59:59.999999Z"))
    );
    assert_eq!(
        agg("sum", vec![("field", "qty"), ("qty[gt]", "100")]).await,
        Ok(json!(null))
    );
    assert_eq!(
        agg("max", vec![("field", "qty"), ("flag", "true")]).await,
        Ok(json!(3))
    );

    db.close().await;
    test_db.drop_database().await;
}

/// The expected order of `rows` under `sort`: keys in turn, nulls smallest, then id.
fn expected_order(rows: &[Json], sort: &str) -> Vec<String> {
    let keys: Vec<(String, bool)> = sort
        .split(',')
        .map(|k| {
            k.strip_prefix('-')
                .map_or((k.to_owned(), false), |n| (n.to_owned(), true))
        })
        .collect();
    let compare = |a: &Json, b: &Json| -> Ordering {
        match (a, b) {
            (Json::Null, Json::Null) => Ordering::Equal,
            (Json::Null, _) => Ordering::Less,
            (_, Json::Null) => Ordering::Greater,
            (Json::Number(x), Json::Number(y)) => x.as_i64().cmp(&y.as_i64()),
            (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
            (Json::String(x), Json::String(y)) => {
                match (
                    chrono::DateTime::parse_from_rfc3339(x),
                    chrono::DateTime::parse_from_rfc3339(y),
                ) {
                    (Ok(p), Ok(q)) => p.cmp(&q),
                    _ => match (x.parse::<f64>(), y.parse::<f64>()) {
                        (Ok(p), Ok(q)) => p.total_cmp(&q),
                        _ => x.cmp(y),
                    },
                }
            }
            _ => Ordering::Equal,
        }
    };
    let mut sorted = rows.to_vec();
    sorted.sort_by(|a, b| {
        for (key, descending) in &keys {
            let order = compare(&a[key.as_str()], &b[key.as_str()]);
            let order = if *descending { order.reverse() } else { order };
            if order != Ordering::Equal {
                return order;
            }
        }
        a["id"].as_str().cmp(&b["id"].as_str())
    });
    sorted
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn pagination_on(engine: Engine) {
    let (test_db, db, _, records) = setup(engine).await;
    let mut stored = Vec::new();
    for i in 0..1000_i64 {
        let row = json!({
            "name": if i % 11 == 0 { Json::Null } else { json!(format!("n{}", i % 13)) },
            "qty": if i % 17 == 0 { Json::Null } else { json!(i % 7) },
            "price": format!("{}.{:02}", i % 5 * 3, (i % 3) * 25),
            "flag": i % 2 == 0,
            "seen": if i % 9 == 0 { Json::Null } else { json!(format!("2024-01-{:02}T00:00:00Z", i % 4 + 1)) },
        });
        let record = records
            .create("things", obj(row))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        stored.push(serde_json::to_value(&record).unwrap_or_default());
    }
    for sort in [
        "qty",
        "-price,qty",
        "flag,-seen",
        "name,-qty,price",
        "-created_at",
    ] {
        let expected = expected_order(&stored, sort);
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut query = params(&[("sort", sort), ("limit", "37"), ("count", "none")]);
            if let Some(cursor) = &after {
                query.push(("after".into(), cursor.clone()));
            }
            let page = records
                .list("things", &query)
                .await
                .unwrap_or_else(|e| panic!("{engine:?} {sort}: {e}"));
            seen.extend(page.records.iter().map(|r| r.id.to_string()));
            pages += 1;
            assert!(pages <= 30, "{engine:?} {sort}: the walk does not end");
            match page.next_cursor {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 1000, "{engine:?} {sort}: every row once");
        let first_difference = seen.iter().zip(&expected).position(|(a, b)| a != b);
        assert_eq!(
            first_difference, None,
            "{engine:?} {sort}: in order, none skipped or repeated"
        );
        assert_eq!(
            pages, 28,
            "{engine:?} {sort}: next_cursor is null exactly on the last page"
        );
    }
    // The total of a sorted, filtered first page is the count of every match, not of the page.
    for (sort, filter) in [
        ("-price", ("flag", "true")),
        ("qty", ("name[eq]", "n3")),
        ("-created_at", ("qty[gte]", "4")),
        ("id", ("flag", "false")),
        ("price", ("name[eq]", "nobody")),
    ] {
        let query = params(&[("sort", sort), filter, ("limit", "5")]);
        let page = records
            .list("things", &query)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let count = records
            .aggregate("things", "count", &params(&[filter]))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let expected = stored
            .iter()
            .filter(|r| match filter {
                ("flag", v) => r["flag"] == json!(v == "true"),
                ("name[eq]", v) => r["name"] == json!(v),
                (_, v) => r["qty"]
                    .as_i64()
                    .is_some_and(|q| q >= v.parse().unwrap_or(0)),
            })
            .count() as u64;
        assert_eq!(
            count,
            Value::Integer(i64::try_from(expected).unwrap_or(-1)),
            "{engine:?} {filter:?}"
        );
        assert_eq!(
            page.total,
            Some(expected),
            "{engine:?} sort={sort} {filter:?}"
        );
        assert_eq!(
            page.records.len(),
            expected.min(5) as usize,
            "{engine:?} {filter:?}"
        );
    }
    // A cursor continues only its own query; an edited one is refused.
    let first = records
        .list("things", &params(&[("sort", "qty"), ("limit", "5")]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cursor = first.next_cursor.unwrap_or_default();
    assert!(
        records
            .list("things", &params(&[("sort", "price"), ("after", &cursor)]))
            .await
            .is_err()
    );
    let mut edited = cursor.clone();
    edited.insert(3, 'x');
    assert!(
        records
            .list("things", &params(&[("sort", "qty"), ("after", &edited)]))
            .await
            .is_err()
    );
    db.close().await;
    test_db.drop_database().await;
}

moon_tests::on_every_engine! {
    every_operator_fits_its_types => operators_on,
    pagination_visits_every_row_once => pagination_on,
}
