//! Test support: a fresh, empty database for every test, on every configured engine.
//!
//! SQLite always runs. PostgreSQL runs too when `PAYRAIL_TEST_DATABASE_URL` names a
//! server; each test then gets its own schema, dropped afterwards. With
//! `PAYRAIL_TEST_REQUIRE_POSTGRES=1` (as CI sets it) a missing or unreachable PostgreSQL
//! fails the test instead of being skipped silently.

mod stripe_python;
mod wall_clock;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
pub use stripe_python::{construct_event, stripe_python};
pub use wall_clock::WallClock;

use payrail_store::StoreOptions;
use sqlx::Connection;

pub const DATABASE_URL_ENV: &str = "PAYRAIL_TEST_DATABASE_URL";
pub const REQUIRE_POSTGRES_ENV: &str = "PAYRAIL_TEST_REQUIRE_POSTGRES";
/// When set, every PostgreSQL test database created appends a line to this file, so CI
/// can prove the PostgreSQL run happened rather than trusting a green summary.
pub const POSTGRES_MARKER_ENV: &str = "PAYRAIL_TEST_POSTGRES_MARKER";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
        })
    }
}

/// The engines this test run covers.
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    match std::env::var(DATABASE_URL_ENV) {
        Ok(url) if !url.is_empty() => backends.push(Backend::Postgres { admin_url: url }),
        _ => assert!(
            std::env::var(REQUIRE_POSTGRES_ENV).as_deref() != Ok("1"),
            "{REQUIRE_POSTGRES_ENV}=1 but {DATABASE_URL_ENV} is not set: the PostgreSQL run would be skipped"
        ),
    }
    backends
}

/// Runs `test` once per configured engine, each time on a fresh database.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(TestDatabase) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        // Printed so a failure says which engine it happened on.
        eprintln!("--- on {backend}");
        test(TestDatabase::create(&backend).await).await;
    }
}

/// An empty database that lives as long as this value.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    pub options: StoreOptions,
    /// For SQLite: the directory holding the file (and, for tests that need one, a data dir).
    pub dir: tempfile::TempDir,
    schema: Option<String>,
}

impl TestDatabase {
    pub async fn create(backend: &Backend) -> TestDatabase {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("payrail.db").display());
                TestDatabase { backend: backend.clone(), url, options: StoreOptions::default(), dir, schema: None }
            }
            Backend::Postgres { admin_url } => {
                let schema = format!("test_{}", unique_suffix());
                let mut admin = sqlx::PgConnection::connect(admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {DATABASE_URL_ENV}: {e}"));
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&mut admin)
                    .await
                    .expect("create test schema");
                let options = StoreOptions {
                    // The application name lets cleanup find every connection of this test.
                    postgres_options: vec![
                        ("search_path".into(), schema.clone()),
                        ("application_name".into(), schema.clone()),
                    ],
                    connections_max: 5,
                    ..StoreOptions::default()
                };
                record_postgres_use(&schema);
                let url = admin_url.clone();
                TestDatabase { backend: backend.clone(), url, options, dir, schema: Some(schema) }
            }
        }
    }

    /// A URL that carries the test schema itself, for child processes that take only a URL.
    pub fn url_with_schema(&self) -> String {
        match &self.schema {
            None => self.url.clone(),
            Some(schema) => {
                let separator = if self.url.contains('?') { '&' } else { '?' };
                format!("{}{separator}options=-c%20search_path%3D{schema}%20-c%20application_name%3D{schema}", self.url)
            }
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (Some(schema), Backend::Postgres { admin_url }) = (self.schema.take(), &self.backend) else { return };
        let admin_url = admin_url.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on; a helper thread
        // with its own small runtime does the cleanup.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    // Connections the test left open (an abandoned transaction, a pool whose
                    // rollback task never ran) would hold locks that block the drop.
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                    )
                    .bind(&schema)
                    .execute(&mut admin)
                    .await;
                    let sql = sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                    let _ = sqlx::query(sql).execute(&mut admin).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

fn record_postgres_use(schema: &str) {
    use std::io::Write;
    let Ok(path) = std::env::var(POSTGRES_MARKER_ENV) else { return };
    let mut file =
        std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open the PostgreSQL marker file");
    writeln!(file, "{schema}").expect("write the PostgreSQL marker file");
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}_{}_{}", std::process::id(), nanos % 1_000_000_000_000, COUNTER.fetch_add(1, Ordering::Relaxed))
}
