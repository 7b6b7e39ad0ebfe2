//! The parts of `payrail-bench` (run by `cargo bench -p payrail-bench`, see
//! `benches/load.rs`): a fresh database, Payrail served on a random local port, a
//! hand-written keep-alive HTTP/1.1 client, the load generator and the report. They live in
//! a library so that their unit tests run under `cargo test`.

pub mod client;
pub mod database;
pub mod load;
pub mod report;
pub mod server;
