//! Exact aggregates over decoded values: integer sums in i128, decimal sums and averages in
//! rust_decimal (averages at 6 places, half-even), min/max by the API's order per type.

use moon_domain::value::DecimalValue;
use moon_domain::{Aggregate, FieldType, RepoError, Value};
use rust_decimal::RoundingStrategy;

use crate::error::internal;

/// Fractional digits of an average (API.md §8).
const AVG_SCALE: u32 = 6;

/// Computes `aggregate` (not `Count`) over the non-null `values` of a field of type `ty`.
///
/// # Errors
/// [`RepoError::Internal`] on an overflow no column can produce in practice.
pub fn compute(
    aggregate: &Aggregate,
    ty: FieldType,
    values: Vec<Value>,
) -> Result<Value, RepoError> {
    if values.is_empty() {
        return Ok(Value::Null);
    }
    match aggregate {
        Aggregate::Count => Ok(Value::Integer(
            i64::try_from(values.len()).unwrap_or(i64::MAX),
        )),
        Aggregate::Sum(_) => sum(ty, &values),
        Aggregate::Avg(_) => average(ty, &values),
        Aggregate::Min(_) => Ok(extreme(values, std::cmp::Ordering::Less)),
        Aggregate::Max(_) => Ok(extreme(values, std::cmp::Ordering::Greater)),
    }
}

fn decimal_total(values: &[Value]) -> Result<DecimalValue, RepoError> {
    values.iter().try_fold(DecimalValue::ZERO, |acc, v| {
        let d = match v {
            Value::Integer(i) => DecimalValue::from(*i),
            Value::Decimal(d) => *d,
            _ => DecimalValue::ZERO,
        };
        acc.checked_add(d)
            .ok_or_else(|| internal("decimal sum overflow"))
    })
}

fn sum(ty: FieldType, values: &[Value]) -> Result<Value, RepoError> {
    match ty {
        FieldType::Integer => {
            let total: i128 = values
                .iter()
                .map(|v| {
                    if let Value::Integer(i) = v {
                        i128::from(*i)
                    } else {
                        0
                    }
                })
                .sum();
            Ok(
                i64::try_from(total)
                    .map_or_else(|_| Value::Text(total.to_string()), Value::Integer),
            )
        }
        FieldType::Decimal { scale } => {
            let mut total = decimal_total(values)?;
            total.rescale(scale);
            Ok(Value::Decimal(total))
        }
        _ => Ok(Value::Null),
    }
}

fn average(ty: FieldType, values: &[Value]) -> Result<Value, RepoError> {
    if !matches!(ty, FieldType::Integer | FieldType::Decimal { .. }) {
        return Ok(Value::Null);
    }
    let total = decimal_total(values)?;
    let count = DecimalValue::from(values.len() as u64);
    let mut mean = total
        .checked_div(count)
        .ok_or_else(|| internal("average overflow"))?
        .round_dp_with_strategy(AVG_SCALE, RoundingStrategy::MidpointNearestEven);
    mean.rescale(AVG_SCALE);
    Ok(Value::Text(mean.to_string()))
}

/// The smallest (`Less`) or largest (`Greater`) value: numbers numerically, datetimes in
/// time, strings by code point.
fn extreme(values: Vec<Value>, wanted: std::cmp::Ordering) -> Value {
    let mut best: Option<Value> = None;
    for v in values {
        let better = match (&best, &v) {
            (None, _) => true,
            (Some(Value::Integer(a)), Value::Integer(b)) => b.cmp(a) == wanted,
            (Some(Value::Decimal(a)), Value::Decimal(b)) => b.cmp(a) == wanted,
            (Some(Value::DateTime(a)), Value::DateTime(b)) => b.cmp(a) == wanted,
            (Some(Value::Text(a)), Value::Text(b)) => b.cmp(a) == wanted,
            _ => false,
        };
        if better {
            best = Some(v);
        }
    }
    best.unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use moon_domain::value::parse_decimal;
    use moon_domain::{Field, SystemField};

    fn dec(text: &str) -> Value {
        Value::Decimal(parse_decimal(text, 2).unwrap_or_default())
    }

    fn f() -> Field {
        Field::System(SystemField::Id)
    }

    #[test]
    fn sums_are_exact_and_integers_may_leave_i64() {
        let d2 = FieldType::Decimal { scale: 2 };
        let total = compute(
            &Aggregate::Sum(f()),
            d2,
            vec![dec("0.10"), dec("0.20"), dec("99999999999999999.99")],
        );
        assert_eq!(
            total.map(|v| serde_json::to_value(v).unwrap_or_default()),
            Ok(serde_json::json!("100000000000000000.29"))
        );
        let big = compute(
            &Aggregate::Sum(f()),
            FieldType::Integer,
            vec![Value::Integer(i64::MAX), Value::Integer(1)],
        );
        assert_eq!(big, Ok(Value::Text("9223372036854775808".into())));
    }

    #[test]
    fn averages_have_six_places_rounded_half_even() {
        let avg = compute(
            &Aggregate::Avg(f()),
            FieldType::Integer,
            vec![Value::Integer(1), Value::Integer(2), Value::Integer(2)],
        );
        assert_eq!(avg, Ok(Value::Text("1.666667".into())));
        let even = compute(
            &Aggregate::Avg(f()),
            FieldType::Decimal { scale: 2 },
            vec![dec("0.00"), dec("0.01")],
        );
        assert_eq!(even, Ok(Value::Text("0.005000".into())));
        assert_eq!(
            compute(&Aggregate::Avg(f()), FieldType::Integer, vec![]),
            Ok(Value::Null)
        );
    }

    #[test]
    fn min_and_max_follow_the_type_order() {
        let max = compute(
            &Aggregate::Max(f()),
            FieldType::Decimal { scale: 2 },
            vec![dec("9.50"), dec("10.00")],
        );
        assert_eq!(max, Ok(dec("10.00")));
        let min = compute(
            &Aggregate::Min(f()),
            FieldType::String,
            vec![Value::Text("b".into()), Value::Text("B".into())],
        );
        assert_eq!(min, Ok(Value::Text("B".into())));
    }
}
