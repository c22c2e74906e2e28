//! The list query model: a page size and an opaque keyset cursor.

use std::fmt::Write as _;

use crate::record::RecordId;

/// One page of a list: at most `limit` records after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub after: Option<Cursor>,
}

/// Where a page ended: the last record's id (records are listed in id order).
/// Opaque on the wire: `c1` followed by the hex of the id's 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub last_id: RecordId,
}

const CURSOR_TAG: &str = "c1";

impl Cursor {
    /// The wire form of the cursor.
    #[must_use]
    pub fn encode(&self) -> String {
        let bytes = u128::from(self.last_id.ulid()).to_be_bytes();
        let mut out = String::with_capacity(CURSOR_TAG.len() + 32);
        out.push_str(CURSOR_TAG);
        for b in bytes {
            let _ = write!(out, "{b:02x}");
        }
        out
    }

    /// Reads a cursor made by [`Cursor::encode`].
    ///
    /// # Errors
    /// A message when the text is not such a cursor.
    pub fn decode(text: &str) -> Result<Self, String> {
        let invalid = || "invalid cursor".to_owned();
        let hex = text.strip_prefix(CURSOR_TAG).ok_or_else(invalid)?;
        if hex.len() != 32 {
            return Err(invalid());
        }
        let n = u128::from_str_radix(hex, 16).map_err(|_| invalid())?;
        Ok(Self {
            last_id: RecordId::from_ulid(ulid::Ulid::from(n)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let id = RecordId::from_ulid(ulid::Ulid::new());
        let c = Cursor { last_id: id };
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        assert!(Cursor::decode("garbage").is_err());
        assert!(Cursor::decode("c1zz").is_err());
        assert!(Cursor::decode(&format!("c1{}", "g".repeat(32))).is_err());
    }
}
