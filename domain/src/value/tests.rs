//! Unit tests of `value`.

use super::*;
use serde_json::json;

const DEC2: FieldType = FieldType::Decimal { scale: 2 };

fn dec(text: &str) -> Result<String, String> {
    Value::from_json(json!(text), DEC2).map(|v| serde_json::to_string(&v).unwrap_or_default())
}

/// The digit-by-digit parser agrees with `rust_decimal`'s own on every accepted text.
#[test]
fn the_decimal_parser_agrees_with_rust_decimal() {
    let ints = [
        "0",
        "7",
        "007",
        "12",
        "999999999",
        "1234567890123456789",
        "9999999999999999999",
    ];
    let fracs = ["", ".0", ".5", ".05", ".123", ".1234567890"];
    for scale in 0..=10_u32 {
        for int in ints {
            for frac in fracs {
                for sign in ["", "-"] {
                    let text = format!("{sign}{int}{frac}");
                    let ours = parse_decimal(&text, scale);
                    let fits = frac.len().saturating_sub(1) <= scale as usize
                        && int.trim_start_matches('0').len() <= (19 - scale) as usize;
                    assert_eq!(ours.is_ok(), fits, "{text} at scale {scale}");
                    if let Ok(d) = ours {
                        let mut expected: Decimal = text.parse().unwrap_or_default();
                        expected.rescale(scale);
                        if expected.is_zero() {
                            expected.set_sign_positive(true);
                        }
                        assert_eq!(
                            (d, d.to_string()),
                            (expected, expected.to_string()),
                            "{text}"
                        );
                        assert_eq!(d.scale(), scale);
                    }
                }
            }
        }
    }
    for bad in [
        "", "-", ".5", "5.", "1.2.3", "+1", "1e3", " 1", "--1", "1_0",
    ] {
        assert!(parse_decimal(bad, 4).is_err(), "{bad}");
    }
}

#[test]
fn decimals_round_trip_digit_for_digit() {
    assert_eq!(
        dec("99999999999999999.99"),
        Ok("\"99999999999999999.99\"".into())
    );
    assert_eq!(dec("-0.01"), Ok("\"-0.01\"".into()));
    assert_eq!(dec("0"), Ok("\"0.00\"".into()));
    assert_eq!(dec("-0"), Ok("\"0.00\"".into()));
    assert_eq!(dec("10.5"), Ok("\"10.50\"".into()));
}

#[test]
fn malformed_or_oversized_decimals_are_rejected() {
    for bad in [
        "10.999",
        "1e5",
        ".5",
        "5.",
        "+1",
        "1.2.3",
        "",
        "-",
        "abc",
        "1 ",
        "999999999999999999.00",
    ] {
        assert!(dec(bad).is_err(), "{bad}");
    }
    assert!(
        Value::from_json(json!(1.5), DEC2).is_err(),
        "numbers are not decimals"
    );
    let scale10 = FieldType::Decimal { scale: 10 };
    assert!(Value::from_json(json!("123456789.0123456789"), scale10).is_ok());
    assert!(Value::from_json(json!("1234567890.0"), scale10).is_err());
}

#[test]
fn integers_are_never_coerced() {
    assert_eq!(
        Value::from_json(json!(5), FieldType::Integer),
        Ok(Value::Integer(5))
    );
    assert!(Value::from_json(json!(5.0), FieldType::Integer).is_err());
    assert!(Value::from_json(json!("5"), FieldType::Integer).is_err());
    assert!(Value::from_json(json!(u64::MAX), FieldType::Integer).is_err());
    assert!(Value::from_json(json!(true), FieldType::Integer).is_err());
}

#[test]
fn datetimes_become_utc_and_keep_microseconds() {
    let v = Value::from_json(
        json!("2024-03-01T10:30:00.1234567+02:00"),
        FieldType::Datetime,
    );
    let out = v.map(|v| serde_json::to_value(&v).unwrap_or_default());
    assert_eq!(out, Ok(json!("2024-03-01T08:30:00.123456Z")));
    let whole = Value::from_json(json!("2024-03-01T00:00:00-05:00"), FieldType::Datetime);
    let out = whole.map(|v| serde_json::to_value(&v).unwrap_or_default());
    assert_eq!(out, Ok(json!("2024-03-01T05:00:00Z")));
    assert!(Value::from_json(json!("2024-03-01T10:30:00"), FieldType::Datetime).is_err());
    assert!(Value::from_json(json!("2024-03-01"), FieldType::Datetime).is_err());
}

#[test]
fn json_objects_come_back_with_sorted_keys() {
    let v = Value::from_json(json!({"b": 1, "a": [{"z": 0, "y": 1}]}), FieldType::Json);
    let text = v.map(|v| serde_json::to_string(&v).unwrap_or_default());
    assert_eq!(text, Ok(r#"{"a":[{"y":1,"z":0}],"b":1}"#.to_owned()));
}

#[test]
fn json_numbers_take_the_form_every_engine_returns() {
    let text = |raw: &str| {
        let json: Json = serde_json::from_str(raw).unwrap_or_default();
        Value::from_json(json, FieldType::Json)
            .map(|v| serde_json::to_string(&v).unwrap_or_default())
    };
    assert_eq!(
        text("[1e18, -0.0, 5.0, 2.5]"),
        Ok("[1000000000000000000,0,5,2.5]".into())
    );
    assert_eq!(
        text("[1.7976931348623157e308, 1e19, 1.8446744073709552e19, -9.3e18]"),
        Ok("[1.7976931348623157e+308,10000000000000000000,1.8446744073709552e+19,-9.3e+18]".into())
    );
    // What PostgreSQL hands back for the largest float parses to that very float.
    let expanded = format!("[17976931348623157{}]", "0".repeat(292));
    assert_eq!(text(&expanded), Ok("[1.7976931348623157e+308]".into()));
}

#[test]
fn strings_json_and_booleans_are_strict() {
    assert!(Value::from_json(json!("a\u{0}b"), FieldType::String).is_err());
    assert!(Value::from_json(json!(1), FieldType::String).is_err());
    assert!(Value::from_json(json!("x"), FieldType::Json).is_err());
    assert!(Value::from_json(json!([1, {"a": 2}]), FieldType::Json).is_ok());
    assert!(Value::from_json(json!(1), FieldType::Boolean).is_err());
    assert_eq!(
        Value::from_json(json!(null), FieldType::Boolean),
        Ok(Value::Null)
    );
}

#[test]
fn conversions_succeed_only_without_loss() {
    let t = |s: &str| Value::Text(s.to_owned());
    assert_eq!(t("12").convert(FieldType::Integer), Ok(Value::Integer(12)));
    assert!(t("12a").convert(FieldType::Integer).is_err());
    assert_eq!(
        Value::Integer(7)
            .convert(DEC2)
            .map(|v| serde_json::to_value(&v).unwrap_or_default()),
        Ok(json!("7.00"))
    );
    let d = Value::from_json(json!("3.00"), DEC2).unwrap_or(Value::Null);
    assert_eq!(d.convert(FieldType::Integer), Ok(Value::Integer(3)));
    let d = Value::from_json(json!("3.10"), DEC2).unwrap_or(Value::Null);
    assert!(d.convert(FieldType::Integer).is_err());
    assert_eq!(Value::Integer(42).convert(FieldType::String), Ok(t("42")));
    assert_eq!(t("true").convert(FieldType::Boolean), Ok(Value::Bool(true)));
    assert!(t("{\"a\":1}").convert(FieldType::Json).is_ok());
    assert_eq!(Value::Null.convert(FieldType::Integer), Ok(Value::Null));
}
