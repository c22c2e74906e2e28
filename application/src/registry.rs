//! The in-memory schema registry: a dashmap of `Arc<Collection>`, cloned out per request.

use std::sync::Arc;

use dashmap::DashMap;
use moon_domain::ports::SchemaRegistry;
use moon_domain::{Collection, CollectionName};

/// The schema cache behind the [`SchemaRegistry`] port. Readers clone an `Arc`, so no
/// lock is held across an `.await`.
#[derive(Debug, Default)]
pub struct InMemorySchemaRegistry {
    collections: DashMap<CollectionName, Arc<Collection>>,
}

impl InMemorySchemaRegistry {
    /// A registry holding `collections`.
    #[must_use]
    pub fn with(collections: impl IntoIterator<Item = Collection>) -> Self {
        let registry = Self::default();
        for c in collections {
            registry.put(c);
        }
        registry
    }
}

impl SchemaRegistry for InMemorySchemaRegistry {
    fn get(&self, name: &str) -> Option<Arc<Collection>> {
        self.collections
            .get(name)
            .map(|entry| Arc::clone(entry.value()))
    }

    fn list(&self) -> Vec<Arc<Collection>> {
        let mut all: Vec<_> = self
            .collections
            .iter()
            .map(|e| Arc::clone(e.value()))
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    fn put(&self, collection: Collection) {
        self.collections
            .insert(collection.name.clone(), Arc::new(collection));
    }

    fn remove(&self, name: &str) {
        self.collections.remove(name);
    }

    fn len(&self) -> usize {
        self.collections.len()
    }
}
