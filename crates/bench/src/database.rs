//! A fresh, empty database for one run: SQLite in a temporary directory, or a new schema
//! on a PostgreSQL server. The benchmark bootstraps its own demo merchant and key, which
//! works only on a database that has never been set up, and it must never write into one
//! that holds real data.

use anyhow::Context;
use payrail_domain::Clock;
use payrail_service::SystemClock;
use payrail_store::{Engine, StoreOptions};
use sqlx::Connection;

pub enum FreshDatabase {
    Sqlite { dir: tempfile::TempDir, url: String },
    Postgres { server_url: String, schema: String },
}

impl FreshDatabase {
    /// SQLite when `server_url` is `None`; otherwise a new schema on that PostgreSQL server.
    pub async fn create(server_url: Option<&str>) -> anyhow::Result<FreshDatabase> {
        let Some(server_url) = server_url else {
            let dir = tempfile::tempdir().context("cannot create a temporary directory for SQLite")?;
            let url = format!("sqlite://{}", dir.path().join("payrail.db").display());
            return Ok(FreshDatabase::Sqlite { dir, url });
        };
        anyhow::ensure!(
            Engine::of_url(server_url) == Some(Engine::Postgres),
            "--database-url must be a postgres:// URL; without it the benchmark uses a temporary SQLite file"
        );
        // Unique per process and start time; also the connections' application name, so the
        // cleanup can find any connection left open.
        let schema = format!("bench_{}_{}", std::process::id(), SystemClock.now().unix_ms());
        let mut admin = sqlx::PgConnection::connect(server_url).await.context("cannot connect to PostgreSQL")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .with_context(|| format!("cannot create the schema {schema}"))?;
        let _ = admin.close().await;
        Ok(FreshDatabase::Postgres { server_url: server_url.to_owned(), schema })
    }

    /// The URL to open the store with.
    pub fn url(&self) -> &str {
        match self {
            FreshDatabase::Sqlite { url, .. } => url,
            FreshDatabase::Postgres { server_url, .. } => server_url,
        }
    }

    /// The store's options: the defaults `payrail serve` uses, plus the run's schema.
    pub fn store_options(&self) -> StoreOptions {
        match self {
            FreshDatabase::Sqlite { .. } => StoreOptions::default(),
            FreshDatabase::Postgres { schema, .. } => StoreOptions {
                postgres_options: vec![
                    ("search_path".to_owned(), schema.clone()),
                    ("application_name".to_owned(), schema.clone()),
                ],
                ..StoreOptions::default()
            },
        }
    }

    /// What the report calls this database; never the URL, which may carry a password.
    pub fn describe(&self) -> String {
        match self {
            FreshDatabase::Sqlite { .. } => "sqlite (a new file in a temporary directory)".to_owned(),
            FreshDatabase::Postgres { schema, .. } => format!("postgres (new schema {schema}, dropped at the end)"),
        }
    }

    /// Deletes the database: the temporary directory, or the schema with everything in it.
    pub async fn remove(self) -> anyhow::Result<()> {
        match self {
            FreshDatabase::Sqlite { dir, .. } => dir.close().context("cannot remove the temporary SQLite directory"),
            FreshDatabase::Postgres { server_url, schema } => {
                let mut admin = sqlx::PgConnection::connect(&server_url)
                    .await
                    .with_context(|| format!("cannot connect to PostgreSQL to drop the schema {schema}"))?;
                // After an interruption the store's pool may still hold connections, whose
                // open transactions would block the drop.
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                    .bind(&schema)
                    .execute(&mut admin)
                    .await
                    .context("cannot close the run's leftover connections")?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
                    .execute(&mut admin)
                    .await
                    .with_context(|| format!("cannot drop the schema {schema}; drop it by hand"))?;
                let _ = admin.close().await;
                Ok(())
            }
        }
    }
}
