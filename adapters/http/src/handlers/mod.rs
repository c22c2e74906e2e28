//! Thin handlers: parse the request, call one use case, shape the answer.

pub mod accounts;
pub mod auth;
pub mod batch;
pub mod changes;
pub mod collections;
pub mod health;
pub mod records;
pub mod subscriptions;
pub mod webhooks;
