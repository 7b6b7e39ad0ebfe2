//! Payrail's storage: the only crate that knows SQL.
//!
//! Boundary: one set of queries serves SQLite (the embedded default) and PostgreSQL.
//! Every query is written once as a `Query` (`query.rs`) that runs on whichever connection
//! a [`Conn`] holds: the SQLite committer's own connection (rusqlite, on the committer's
//! thread), a pooled SQLite reader or PostgreSQL (sqlx, with its concrete drivers: the
//! `Any` driver cannot carry what Payrail needs). Repositories take a [`Conn`], which is
//! either a write transaction ([`Tx`]) or a pooled read connection ([`Reader`]).
//!
//! Use cases write through [`Store::write`], which on SQLite shares one durable commit
//! among every unit of work queued meanwhile (group commit; see `write.rs`).
//!
//! Invariant: every write transaction takes the write lock when it begins (`BEGIN
//! IMMEDIATE` on SQLite), so no transaction fails half-way with `SQLITE_BUSY_SNAPSHOT`.

mod conn;
mod direct;
mod error;
mod migrate;
mod open;
mod query;
mod rows;
mod write;

pub mod api_keys;
pub mod attempts;
pub mod balance_transactions;
pub mod channel_accounts;
pub mod deliveries;
pub mod events;
pub mod fee_schedules;
pub mod idempotency;
pub mod inbound_notifications;
pub mod jobs;
pub mod ledger;
pub mod merchants;
pub mod operators;
pub mod payments;
pub mod refunds;
pub mod settings;
pub mod vault;
pub mod verify;
pub mod webhook_endpoints;

pub use conn::{Conn, Reader, Tx};
pub use error::StoreError;
pub use migrate::{MIGRATIONS, Migration};
pub use open::{Engine, Store, StoreOptions};
pub use write::WriteFuture;
