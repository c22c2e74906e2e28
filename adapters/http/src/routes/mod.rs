//! The URL surface: one path segment `/{resource}:{action}` (or `/health`) parsed once into
//! a route, and which methods each route takes.

mod actions;

pub use actions::{
    AdminAction, AuthAction, CollectionsAction, RecordsAction, SubscriptionsAction, WebhooksAction,
};

/// What a request path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    /// `/metrics` (admin, or anyone with `metrics_public`).
    Metrics,
    /// `/openapi.json`, `/docs`, `/doc/...`.
    Docs(crate::docs::DocsRoute),
    Collections(CollectionsAction),
    Auth(AuthAction),
    /// `/users:{action}` (admin).
    Users(AdminAction),
    /// `/apikeys:{action}` (admin).
    ApiKeys(AdminAction),
    /// `/webhooks:{action}` (admin).
    Webhooks(WebhooksAction),
    /// `POST /hooks/{name}` (public; signature-checked).
    Hook(&'a str),
    /// A collection route; the name is as given (matched case-insensitively later) and the
    /// action is checked only once the collection is known to exist.
    Subscriptions(SubscriptionsAction),
    Records {
        collection: &'a str,
        action: &'a str,
    },
}

/// Whether a route reads (GET/HEAD) or writes (POST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
    /// `auth:me`: read with GET, change with POST.
    ReadWrite,
}

impl Kind {
    /// The methods a route of this kind documents (HEAD and OPTIONS go with them).
    #[must_use]
    pub const fn methods(self) -> &'static [&'static str] {
        match self {
            Self::Read => &["get"],
            Self::Write => &["post"],
            Self::ReadWrite => &["get", "post"],
        }
    }

    /// The `Allow` header for a route of this kind.
    #[must_use]
    pub const fn allow(self) -> &'static str {
        match self {
            Self::Read => "GET, HEAD, OPTIONS",
            Self::Write => "POST, OPTIONS",
            Self::ReadWrite => "GET, HEAD, POST, OPTIONS",
        }
    }
}

/// Resources the API reserves for itself (served by later modules), never collections.
const SYSTEM_RESOURCES: [&str; 8] = [
    "auth",
    "users",
    "apikeys",
    "webhooks",
    "subscriptions",
    "hooks",
    "doc",
    "docs",
];

impl Route<'static> {
    /// Every route that is not a collection's, as the router knows them: the OpenAPI
    /// document is built from this list, so no such route goes undocumented.
    #[must_use]
    pub fn system_routes() -> Vec<Self> {
        let mut all = vec![Self::Health, Self::Metrics, Self::Hook("{name}")];
        all.extend(crate::docs::DocsRoute::ALL.map(Self::Docs));
        all.extend(CollectionsAction::ALL.map(Self::Collections));
        all.extend(AuthAction::ALL.map(Self::Auth));
        all.extend(AdminAction::ALL.map(Self::Users));
        all.extend(AdminAction::ALL.map(Self::ApiKeys));
        all.extend(WebhooksAction::ALL.map(Self::Webhooks));
        all.extend(SubscriptionsAction::ALL.map(Self::Subscriptions));
        all
    }
}

impl<'a> Route<'a> {
    /// The method kind the route takes (the dispatcher's 405 and the document agree).
    #[must_use]
    pub fn kind(&self) -> Kind {
        match self {
            Self::Health | Self::Metrics | Self::Docs(_) => Kind::Read,
            Self::Hook(_) => Kind::Write,
            Self::Collections(action) => action.kind(),
            Self::Auth(action) => action.kind(),
            Self::Users(action) | Self::ApiKeys(action) => action.kind(),
            Self::Webhooks(action) => action.kind(),
            Self::Subscriptions(action) => action.kind(),
            Self::Records { action, .. } => match RecordsAction::parse(action) {
                Some(action) => action.kind(),
                None => Kind::Read,
            },
        }
    }

    /// Parses a path (prefix already removed); `None` when it names no route.
    #[must_use]
    pub fn parse(path: &'a str) -> Option<Self> {
        if let Some(docs) = crate::docs::DocsRoute::parse(path) {
            return Some(Self::Docs(docs));
        }
        if let Some(name) = path.strip_prefix("/hooks/") {
            return (!name.is_empty() && !name.contains('/')).then_some(Self::Hook(name));
        }
        let segment = path.strip_prefix('/')?;
        if segment == "health" {
            return Some(Self::Health);
        }
        if segment == "metrics" {
            return Some(Self::Metrics);
        }
        let (resource, action) = segment.split_once(':')?;
        if resource.is_empty() || action.is_empty() || segment.contains('/') {
            return None;
        }
        if resource == "collections" {
            let action = match action {
                "list" => CollectionsAction::List,
                "get" => CollectionsAction::Get,
                "create" => CollectionsAction::Create,
                "update" => CollectionsAction::Update,
                "destroy" => CollectionsAction::Destroy,
                _ => return None,
            };
            return Some(Self::Collections(action));
        }
        match resource {
            "auth" => {
                let action = match action {
                    "login" => AuthAction::Login,
                    "refresh" => AuthAction::Refresh,
                    "logout" => AuthAction::Logout,
                    "me" => AuthAction::Me,
                    _ => return None,
                };
                return Some(Self::Auth(action));
            }
            "users" => return AdminAction::parse(action).map(Self::Users),
            "apikeys" => return AdminAction::parse(action).map(Self::ApiKeys),
            "webhooks" => {
                let action = match action {
                    "list" => WebhooksAction::List,
                    "get" => WebhooksAction::Get,
                    "create" => WebhooksAction::Create,
                    "update" => WebhooksAction::Update,
                    "destroy" => WebhooksAction::Destroy,
                    "events" => WebhooksAction::Events,
                    "replay" => WebhooksAction::Replay,
                    _ => return None,
                };
                return Some(Self::Webhooks(action));
            }
            "subscriptions" => {
                return SubscriptionsAction::ALL
                    .into_iter()
                    .find(|a| a.name() == action)
                    .map(Self::Subscriptions);
            }
            _ => {}
        }
        if SYSTEM_RESOURCES.contains(&resource) {
            return None;
        }
        Some(Self::Records {
            collection: resource,
            action,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_into_routes() {
        assert_eq!(Route::parse("/health"), Some(Route::Health));
        assert_eq!(Route::parse("/metrics"), Some(Route::Metrics));
        assert_eq!(
            Route::parse("/collections:list"),
            Some(Route::Collections(CollectionsAction::List))
        );
        assert_eq!(Route::parse("/collections:drop"), None);
        assert_eq!(
            Route::parse("/Products:get"),
            Some(Route::Records {
                collection: "Products",
                action: "get"
            })
        );
        assert_eq!(
            Route::parse("/users:list"),
            Some(Route::Users(AdminAction::List))
        );
        assert_eq!(Route::parse("/auth:me"), Some(Route::Auth(AuthAction::Me)));
        assert_eq!(
            Route::parse("/webhooks:list"),
            Some(Route::Webhooks(WebhooksAction::List))
        );
        assert_eq!(Route::parse("/hooks/stripe"), Some(Route::Hook("stripe")));
        for bad in [
            "",
            "/",
            "/products",
            "/products:",
            "/:list",
            "/a/b:list",
            "health",
        ] {
            assert_eq!(Route::parse(bad), None, "{bad}");
        }
    }
}
