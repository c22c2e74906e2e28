//! The configurable limits of API.md §2 that the use cases enforce.

/// Limits on schemas and pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_collections: usize,
    pub max_columns: usize,
    pub default_page_size: u32,
    pub max_page_size: u32,
    pub max_filters: usize,
    pub max_sort_fields: usize,
    /// Items in one batch write.
    pub max_batch: usize,
}

impl Limits {
    /// The bounds a list query is parsed with.
    #[must_use]
    pub const fn query(&self) -> moon_domain::QueryLimits {
        moon_domain::QueryLimits {
            max_filters: self.max_filters,
            max_sorts: self.max_sort_fields,
            default_limit: self.default_page_size,
            max_limit: self.max_page_size,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_collections: 1000,
            max_columns: 100,
            default_page_size: 15,
            max_page_size: 200,
            max_filters: 20,
            max_sort_fields: 5,
            max_batch: 50,
        }
    }
}
