//! Webhook signatures: HMAC-SHA256 (hex, optional prefix), GitHub's `X-Hub-Signature-256`
//! and Stripe's timestamped `Stripe-Signature`, all compared in constant time.

use hmac::{Hmac, Mac};
use moon_domain::{SignatureScheme, WebhookEndpoint};
use sha2::Sha256;

use crate::secrets::constant_time_eq;

/// Stripe's timestamp tolerance.
const STRIPE_TOLERANCE_SECS: i64 = 300;

pub(crate) fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks an event's signature by the endpoint's scheme, in constant time.
#[must_use]
pub fn signature_ok(
    endpoint: &WebhookEndpoint,
    header: &(dyn Fn(&str) -> Option<String> + Sync),
    body: &[u8],
    now: i64,
) -> bool {
    match &endpoint.signature {
        SignatureScheme::HmacSha256 {
            header: name,
            prefix,
        } => header(name).is_some_and(|value| {
            value.strip_prefix(prefix.as_str()).is_some_and(|hex| {
                constant_time_eq(
                    hex.trim().to_ascii_lowercase().as_bytes(),
                    hmac_hex(&endpoint.secret, &[body]).as_bytes(),
                )
            })
        }),
        SignatureScheme::GitHub => header("X-Hub-Signature-256").is_some_and(|value| {
            value.strip_prefix("sha256=").is_some_and(|hex| {
                constant_time_eq(
                    hex.trim().as_bytes(),
                    hmac_hex(&endpoint.secret, &[body]).as_bytes(),
                )
            })
        }),
        SignatureScheme::Stripe => header("Stripe-Signature").is_some_and(|value| {
            let mut timestamp = None;
            let mut signatures = Vec::new();
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
                    Some(("v1", sig)) => signatures.push(sig.to_owned()),
                    _ => {}
                }
            }
            let Some(t) = timestamp else { return false };
            if (now - t).abs() > STRIPE_TOLERANCE_SECS {
                return false;
            }
            let expected = hmac_hex(&endpoint.secret, &[t.to_string().as_bytes(), b".", body]);
            signatures
                .iter()
                .any(|sig| constant_time_eq(sig.as_bytes(), expected.as_bytes()))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moon_domain::{CollectionName, ColumnName};

    fn endpoint(signature: SignatureScheme) -> WebhookEndpoint {
        WebhookEndpoint {
            name: CollectionName::parse("stripe_payments").unwrap_or_else(|e| panic!("{e}")),
            collection: CollectionName::parse("payments").unwrap_or_else(|e| panic!("{e}")),
            secret: "whsec_test".into(),
            signature,
            event_id: Some("/id".into()),
            mapping: vec![(
                ColumnName::parse("amount").unwrap_or_else(|e| panic!("{e}")),
                "/amount".into(),
            )],
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn hmac_vectors_match_rfc_4231() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hmac_hex("Jefe", &[b"what do ya want for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn each_scheme_accepts_only_its_valid_signature() {
        let body = br#"{"id":"evt_1","amount":500}"#;
        let sig = hmac_hex("whsec_test", &[body]);
        let plain = endpoint(SignatureScheme::HmacSha256 {
            header: "X-Signature".into(),
            prefix: "sha256=".into(),
        });
        let with = |name: &'static str, value: String| {
            move |h: &str| (h.eq_ignore_ascii_case(name)).then(|| value.clone())
        };
        assert!(signature_ok(
            &plain,
            &with("X-Signature", format!("sha256={sig}")),
            body,
            0
        ));
        assert!(
            !signature_ok(&plain, &with("X-Signature", sig.clone()), body, 0),
            "prefix required"
        );
        assert!(
            !signature_ok(&plain, &with("X-Other", format!("sha256={sig}")), body, 0),
            "missing header"
        );
        let wrong = hmac_hex("another", &[body]);
        assert!(
            !signature_ok(
                &plain,
                &with("X-Signature", format!("sha256={wrong}")),
                body,
                0
            ),
            "wrong secret"
        );

        let github = endpoint(SignatureScheme::GitHub);
        assert!(signature_ok(
            &github,
            &with("X-Hub-Signature-256", format!("sha256={sig}")),
            body,
            0
        ));
        assert!(!signature_ok(
            &github,
            &with("X-Hub-Signature-256", format!("sha256={wrong}")),
            body,
            0
        ));

        let stripe = endpoint(SignatureScheme::Stripe);
        let t = 1_700_000_000_i64;
        let v1 = hmac_hex("whsec_test", &[t.to_string().as_bytes(), b".", body]);
        let header = format!("t={t},v1={v1}");
        assert!(signature_ok(
            &stripe,
            &with("Stripe-Signature", header.clone()),
            body,
            t + 10
        ));
        assert!(
            !signature_ok(
                &stripe,
                &with("Stripe-Signature", header.clone()),
                body,
                t + 301
            ),
            "stale timestamp"
        );
        assert!(!signature_ok(
            &stripe,
            &with("Stripe-Signature", format!("t={t},v1={wrong}")),
            body,
            t
        ));
        assert!(
            !signature_ok(&stripe, &|_: &str| None, body, t),
            "missing header"
        );
    }
}
