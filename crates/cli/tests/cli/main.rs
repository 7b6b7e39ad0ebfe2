//! End-to-end tests of the `payrail` binary: each test runs the real executable as a child
//! process against a fresh database (SQLite, and PostgreSQL when configured) and talks to
//! the server over a real socket, as an operator and a client would.
//!
//! `tidy` is the routine review of the whole workspace, run inside `cargo test`.

mod admin;
mod config;
mod crash;
mod helpers;
mod http;
mod instances;
mod ledger;
mod receiver;
mod sandbox_alipay;
mod sandbox_credentials;
mod sandbox_page;
mod sandbox_wechatpay;
mod serve;
mod server;
mod tidy;
