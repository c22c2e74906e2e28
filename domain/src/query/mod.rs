//! The list query model (filters, sort, search, projection, keyset cursor), its parser from
//! URL parameters, and aggregates. Parsed once, rendered by the SQL adapter.

mod cursor;
mod matches;
mod model;
mod parse;

pub use cursor::Cursor;
pub use matches::matches;
pub use model::{Aggregate, Field, Filter, FilterOp, ListQuery, Sort, SystemField};
pub use parse::{QueryLimits, parse_aggregate, parse_fields, parse_list_query};
