//! Opening a store: connection options, pool limits and durability settings per engine.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::StoreError;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use crate::conn::{Reader, ReaderInner, Tx, TxInner};
use crate::write::{Message, start_committer};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The clause that locks selected rows until the transaction ends. SQLite needs none:
    /// its writers run one at a time.
    pub(crate) fn lock_rows(self, table: &str) -> String {
        match self {
            Engine::Sqlite => String::new(),
            Engine::Postgres => format!("FOR UPDATE OF {table}"),
        }
    }

    /// The clause that claims selected rows for this transaction while passing over rows
    /// another transaction is claiming, so concurrent claimers never take the same row.
    /// SQLite needs none: its writers run one at a time.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }

    /// The engine a `sqlite://…` or `postgres://…` URL names.
    pub fn of_url(url: &str) -> Option<Engine> {
        if url.starts_with("sqlite:") {
            Some(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Engine::Postgres)
        } else {
            None
        }
    }
}

/// Pool limits and timeouts, each with its unit in its name.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections in the pool (PostgreSQL) or readers beside the one writer (SQLite).
    pub connections_max: u32,
    /// How long a caller waits for a pooled connection before failing.
    pub acquire_timeout_ms: u64,
    /// How long SQLite waits for another process (the CLI, say) to release the write lock.
    pub sqlite_busy_timeout_ms: u64,
    /// Extra session settings for PostgreSQL connections, such as `search_path`.
    pub postgres_options: Vec<(String, String)>,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            connections_max: 10,
            acquire_timeout_ms: 5_000,
            sqlite_busy_timeout_ms: 5_000,
            postgres_options: Vec::new(),
        }
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
}

#[derive(Clone)]
enum Pools {
    /// SQLite admits one writer at a time: the committer owns the one-connection writer
    /// pool and shares each commit among the units queued meanwhile; readers run in
    /// parallel beside it (WAL).
    Sqlite {
        writer: SqlitePool,
        readers: SqlitePool,
        committer: mpsc::Sender<Message>,
    },
    Postgres(PgPool),
}

impl Store {
    /// Opens (creating if needed) the database at `url`. Does not migrate.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let engine = Engine::of_url(url).ok_or_else(|| {
            StoreError::Configuration("the database URL must start with sqlite:// or postgres://".into())
        })?;
        let acquire_timeout = Duration::from_millis(options.acquire_timeout_ms);
        let pools = match engine {
            Engine::Sqlite => {
                let connect = sqlite_connect_options(url, options)?;
                let committer_options = connect.clone();
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(acquire_timeout)
                    .connect_with(connect.clone())
                    .await?;
                let readers = SqlitePoolOptions::new()
                    .max_connections(options.connections_max.max(1))
                    .acquire_timeout(acquire_timeout)
                    .connect_with(connect)
                    .await?;
                let committer = start_committer(committer_connection(&committer_options, options)?, Handle::current())?;
                Pools::Sqlite { writer, readers, committer }
            }
            Engine::Postgres => {
                let connect = PgConnectOptions::from_str(url)?
                    .options(options.postgres_options.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let pool = PgPoolOptions::new()
                    .max_connections(options.connections_max.max(1))
                    .acquire_timeout(acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Pools::Postgres(pool)
            }
        };
        Ok(Store { pools })
    }

    pub fn engine(&self) -> Engine {
        match self.pools {
            Pools::Sqlite { .. } => Engine::Sqlite,
            Pools::Postgres(_) => Engine::Postgres,
        }
    }

    /// The SQLite committer's queue; PostgreSQL has none.
    pub(crate) fn committer_queue(&self) -> Option<&mpsc::Sender<Message>> {
        match &self.pools {
            Pools::Sqlite { committer, .. } => Some(committer),
            Pools::Postgres(_) => None,
        }
    }

    /// Begins a write transaction holding the write lock from its first statement.
    ///
    /// Use cases write through [`Store::write`], which shares commits; this is for
    /// migrations and tests that must hold a transaction open.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(Tx(match &self.pools {
            Pools::Sqlite { writer, .. } => TxInner::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        }))
    }

    /// A connection for reads that need no transaction.
    pub async fn reader(&self) -> Result<Reader, StoreError> {
        Ok(Reader(match &self.pools {
            Pools::Sqlite { readers, .. } => ReaderInner::Sqlite(readers.acquire().await?),
            Pools::Postgres(pool) => ReaderInner::Postgres(pool.acquire().await?),
        }))
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut reader = self.reader().await?;
        crate::query::query("SELECT 1").execute(reader.conn()).await?;
        Ok(())
    }

    /// Closes every pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { writer, readers, committer } => {
                let (closed, done) = tokio::sync::oneshot::channel();
                if committer.send(Message::Close(closed)).await.is_ok() {
                    let _ = done.await;
                }
                writer.close().await;
                readers.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

fn sqlite_connect_options(url: &str, options: &StoreOptions) -> Result<SqliteConnectOptions, StoreError> {
    let connect = SqliteConnectOptions::from_str(url)?;
    if let Some(parent) = connect.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent)?;
    }
    Ok(connect
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL fsyncs the WAL on every commit: an acknowledged write survives kill -9 and
        // power loss. NORMAL would lose the last commits on power loss.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_millis(options.sqlite_busy_timeout_ms))
        .foreign_keys(true)
        // Deleted rows (card data, secrets) are overwritten with zeros, not left on disk.
        .pragma("secure_delete", "ON")
        // Savepoints journal the pages they change; in memory that costs no write calls.
        .pragma("temp_store", "MEMORY"))
}

/// The committer's own connection, with the same durability settings as the pools'.
fn committer_connection(
    connect: &SqliteConnectOptions,
    options: &StoreOptions,
) -> Result<rusqlite::Connection, StoreError> {
    let connection = rusqlite::Connection::open(connect.get_filename()).map_err(crate::direct::from_sqlite)?;
    connection
        .busy_timeout(Duration::from_millis(options.sqlite_busy_timeout_ms))
        .map_err(crate::direct::from_sqlite)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;",
        )
        .map_err(crate::direct::from_sqlite)?;
    connection.set_prepared_statement_cache_capacity(crate::direct::STATEMENT_CACHE_CAPACITY);
    // A cached statement keeps its plan whatever values are bound. Without this, SQLite
    // (built with STAT4) marks any statement whose plan looked at a bound value (a LIKE
    // pattern, a range) for re-preparation at every new binding, which cost a seventh of
    // the committer's time.
    connection
        .set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(crate::direct::from_sqlite)?;
    Ok(connection)
}

fn create_private_dir(path: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(path).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))
}
