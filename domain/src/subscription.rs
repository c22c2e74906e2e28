//! Outbound webhooks (API.md §10): subscriptions to the change log, and the deliveries made
//! from it, one per matching change, in sequence order per subscription.

use chrono::{DateTime, Utc};

use crate::change::{Change, ChangeKind};

/// Where and what a subscription sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSubscription {
    pub name: String,
    pub url: String,
    /// Collection names, or `*` for all.
    pub collections: Vec<String>,
    /// Record events sent (schema changes are not).
    pub events: Vec<ChangeKind>,
    /// The HMAC key; never shown after it is set.
    pub secret: String,
    pub created_at: DateTime<Utc>,
    /// Every log entry up to this number has been turned into deliveries (or passed over).
    pub cursor: u64,
}

impl WebhookSubscription {
    /// Whether `change` is one this subscription sends.
    #[must_use]
    pub fn wants(&self, change: &Change) -> bool {
        self.events.contains(&change.kind)
            && self
                .collections
                .iter()
                .any(|c| c == "*" || *c == change.collection)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Out of attempts; replay it to try again.
    Dead,
}

impl DeliveryStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "pending" => Self::Pending,
            "delivered" => Self::Delivered,
            "dead" => Self::Dead,
            _ => return None,
        })
    }
}

/// One change to send to one subscription; its id is the `Moon-Delivery` header, the same on
/// every attempt, so a receiver can drop repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub subscription: String,
    pub seq: u64,
    pub event: ChangeKind,
    /// The JSON body sent.
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// When the next attempt is due (Unix milliseconds).
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// Try again at this time (Unix milliseconds).
    Retry {
        at: i64,
        error: String,
    },
    Dead {
        error: String,
    },
}

/// Whether `ip` is on this machine or a private network: loopback, private, link-local,
/// carrier-grade NAT, unspecified, broadcast, multicast, unique-local (and IPv4 inside IPv6).
/// Deliveries to such addresses are refused unless the operator allows them, so Moon cannot
/// be turned against its own network.
#[must_use]
pub fn is_private(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_told_apart() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            let ip: std::net::IpAddr = private.parse().unwrap_or_else(|e| panic!("{e}"));
            assert!(is_private(ip), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "100.128.0.1"] {
            let ip: std::net::IpAddr = public.parse().unwrap_or_else(|e| panic!("{e}"));
            assert!(!is_private(ip), "{public}");
        }
    }
}
