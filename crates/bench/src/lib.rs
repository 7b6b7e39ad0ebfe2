//! The parts of `payrail-bench` (run by `cargo bench -p payrail-bench`, see
//! `benches/load.rs`): a fresh database, Payrail served on a random local port with the
//! sandbox card network, a hand-written keep-alive HTTP/1.1 client, the scenarios, the load
//! generator, the check of the payments against the database, and the report. They live in
//! a library so that their unit tests run under `cargo test`.

pub mod client;
pub mod database;
pub mod load;
pub mod report;
pub mod scenarios;
pub mod server;
pub mod verify;
pub mod webhooks;
