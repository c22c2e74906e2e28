//! The configurable limits of API.md §2 that the use cases enforce.

/// Limits on schemas and pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_collections: usize,
    pub max_columns: usize,
    pub default_page_size: u32,
    pub max_page_size: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_collections: 1000,
            max_columns: 100,
            default_page_size: 15,
            max_page_size: 200,
        }
    }
}
