//! The actions of each system resource and of a collection, and whether each reads or writes.

use super::Kind;

/// `/collections:{action}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionsAction {
    List,
    Get,
    Create,
    Update,
    Destroy,
}

impl CollectionsAction {
    pub const ALL: [Self; 5] = [
        Self::List,
        Self::Get,
        Self::Create,
        Self::Update,
        Self::Destroy,
    ];
}

/// `/auth:{action}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthAction {
    Login,
    Refresh,
    Logout,
    Me,
}

impl AuthAction {
    pub const ALL: [Self; 4] = [Self::Login, Self::Refresh, Self::Logout, Self::Me];
}

/// `/webhooks:{action}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhooksAction {
    List,
    Get,
    Create,
    Update,
    Destroy,
    Events,
    Replay,
}

impl WebhooksAction {
    pub const ALL: [Self; 7] = [
        Self::List,
        Self::Get,
        Self::Create,
        Self::Update,
        Self::Destroy,
        Self::Events,
        Self::Replay,
    ];

    #[must_use]
    pub const fn kind(self) -> Kind {
        match self {
            Self::List | Self::Get | Self::Events => Kind::Read,
            _ => Kind::Write,
        }
    }
}

/// `/subscriptions:{action}`: outbound webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionsAction {
    List,
    Get,
    Create,
    Update,
    Destroy,
    Deliveries,
    Replay,
}

impl SubscriptionsAction {
    pub const ALL: [Self; 7] = [
        Self::List,
        Self::Get,
        Self::Create,
        Self::Update,
        Self::Destroy,
        Self::Deliveries,
        Self::Replay,
    ];

    #[must_use]
    pub const fn kind(self) -> Kind {
        match self {
            Self::List | Self::Get | Self::Deliveries => Kind::Read,
            _ => Kind::Write,
        }
    }

    /// The action's name in the path.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Get => "get",
            Self::Create => "create",
            Self::Update => "update",
            Self::Destroy => "destroy",
            Self::Deliveries => "deliveries",
            Self::Replay => "replay",
        }
    }
}

/// The actions of the admin resources (`users`, `apikeys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    List,
    Get,
    Create,
    Update,
    Destroy,
}

impl AdminAction {
    pub const ALL: [Self; 5] = [
        Self::List,
        Self::Get,
        Self::Create,
        Self::Update,
        Self::Destroy,
    ];

    pub(super) fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "list" => Self::List,
            "get" => Self::Get,
            "create" => Self::Create,
            "update" => Self::Update,
            "destroy" => Self::Destroy,
            _ => return None,
        })
    }

    #[must_use]
    pub const fn kind(self) -> Kind {
        match self {
            Self::List | Self::Get => Kind::Read,
            Self::Create | Self::Update | Self::Destroy => Kind::Write,
        }
    }
}

impl AuthAction {
    #[must_use]
    pub const fn kind(self) -> Kind {
        match self {
            Self::Login | Self::Refresh | Self::Logout => Kind::Write,
            Self::Me => Kind::ReadWrite,
        }
    }
}

/// A record action on a known collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordsAction {
    List,
    Get,
    Schema,
    /// `count`, `sum`, `avg`, `min`, `max`.
    Aggregate,
    /// The change feed (Server-Sent Events).
    Changes,
    Create,
    Update,
    Destroy,
}

impl CollectionsAction {
    #[must_use]
    pub const fn kind(self) -> Kind {
        match self {
            Self::List | Self::Get => Kind::Read,
            Self::Create | Self::Update | Self::Destroy => Kind::Write,
        }
    }
}

impl RecordsAction {
    /// The record action called `name`, if any.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "list" => Self::List,
            "get" => Self::Get,
            "schema" => Self::Schema,
            "count" | "sum" | "avg" | "min" | "max" => Self::Aggregate,
            "changes" => Self::Changes,
            "create" => Self::Create,
            "update" => Self::Update,
            "destroy" => Self::Destroy,
            _ => return None,
        })
    }

    #[must_use]
    pub const fn kind(self) -> Kind {
        match self {
            Self::List | Self::Get | Self::Schema | Self::Aggregate | Self::Changes => Kind::Read,
            Self::Create | Self::Update | Self::Destroy => Kind::Write,
        }
    }
}
