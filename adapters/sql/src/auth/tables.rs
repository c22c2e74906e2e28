//! The tables behind accounts: users, sessions, API keys and settings, their columns in the
//! order every statement of this module lists them, and their creation at start-up.

use sea_query::{ColumnDef, Table, TableCreateStatement};

use crate::dialect::Backend;
use crate::system_table::{ident as a, varchar};

pub(super) const USERS: &str = "moon_users";
pub(super) const SESSIONS: &str = "moon_sessions";
pub(super) const KEYS: &str = "moon_apikeys";
pub(super) const SETTINGS: &str = "moon_settings";

pub(super) const USER_COLUMNS: [&str; 8] = [
    "id",
    "username",
    "email",
    "role",
    "can_write",
    "password_hash",
    "created_at",
    "updated_at",
];
pub(super) const SESSION_COLUMNS: [&str; 5] =
    ["id", "user_id", "refresh_hash", "expires_at", "revoked"];
pub(super) const KEY_COLUMNS: [&str; 8] = [
    "id",
    "name",
    "description",
    "role",
    "can_write",
    "key_hash",
    "created_at",
    "last_used_at",
];

/// `CREATE TABLE IF NOT EXISTS` for each of the four tables.
pub(super) fn create_statements(backend: Backend) -> [TableCreateStatement; 4] {
    let datetime = || backend.column_type(moon_domain::FieldType::Datetime);
    [
        Table::create()
            .table(a(USERS))
            .if_not_exists()
            .col(varchar("id", 26).not_null().primary_key())
            .col(varchar("username", 32).not_null().unique_key())
            .col(varchar("email", 255).null().unique_key())
            .col(varchar("role", 16).not_null())
            .col(ColumnDef::new(a("can_write")).boolean().not_null())
            .col(ColumnDef::new(a("password_hash")).text().not_null())
            .col(ColumnDef::new_with_type(a("created_at"), datetime()).not_null())
            .col(ColumnDef::new_with_type(a("updated_at"), datetime()).not_null())
            .to_owned(),
        Table::create()
            .table(a(SESSIONS))
            .if_not_exists()
            .col(varchar("id", 26).not_null().primary_key())
            .col(varchar("user_id", 26).not_null())
            .col(varchar("refresh_hash", 64).not_null())
            .col(ColumnDef::new_with_type(a("expires_at"), datetime()).not_null())
            .col(ColumnDef::new(a("revoked")).boolean().not_null())
            .to_owned(),
        Table::create()
            .table(a(KEYS))
            .if_not_exists()
            .col(varchar("id", 26).not_null().primary_key())
            .col(varchar("name", 100).not_null())
            .col(ColumnDef::new(a("description")).text().not_null())
            .col(varchar("role", 16).not_null())
            .col(ColumnDef::new(a("can_write")).boolean().not_null())
            .col(varchar("key_hash", 64).not_null().unique_key())
            .col(ColumnDef::new_with_type(a("created_at"), datetime()).not_null())
            .col(ColumnDef::new_with_type(a("last_used_at"), datetime()).null())
            .to_owned(),
        Table::create()
            .table(a(SETTINGS))
            .if_not_exists()
            .col(varchar("name", 63).not_null().primary_key())
            .col(ColumnDef::new(a("value")).text().not_null())
            .to_owned(),
    ]
}
