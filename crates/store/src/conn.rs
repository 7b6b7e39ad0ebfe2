//! Connections: a write transaction, a pooled reader, and the one enum repositories see.

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgConnection, Postgres, Row, Sqlite, SqliteConnection};

use crate::StoreError;

/// A borrowed connection on either engine, handed to repository functions.
pub enum Conn<'c> {
    /// The SQLite committer's own connection, used on its own thread (see `write.rs`).
    Direct(&'c mut rusqlite::Connection),
    /// A pooled SQLite connection (readers, migrations).
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    /// A shorter-lived borrow of the same connection, for a repository function that
    /// makes several queries.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Direct(c) => Conn::Direct(c),
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Postgres(c) => Conn::Postgres(c),
        }
    }

    pub(crate) fn engine(&self) -> crate::Engine {
        match self {
            Conn::Direct(_) | Conn::Sqlite(_) => crate::Engine::Sqlite,
            Conn::Postgres(_) => crate::Engine::Postgres,
        }
    }
}

/// A write transaction. Dropping it without [`Tx::commit`] rolls it back.
pub struct Tx(pub(crate) TxInner);

pub(crate) enum TxInner {
    /// The committer's shared transaction: it owns the connection for the batch and
    /// commits the batch itself, so a unit never commits it.
    Shared(rusqlite::Connection),
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.0 {
            TxInner::Shared(c) => Conn::Direct(c),
            TxInner::Sqlite(tx) => Conn::Sqlite(tx),
            TxInner::Postgres(tx) => Conn::Postgres(tx),
        }
    }

    /// Commits durably: on SQLite with `synchronous=FULL`, the WAL is fsynced first.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.0 {
            TxInner::Shared(c) => c.execute_batch("COMMIT").map_err(crate::direct::from_sqlite)?,
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// A pooled connection for reads outside any transaction.
pub struct Reader(pub(crate) ReaderInner);

pub(crate) enum ReaderInner {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Reader {
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.0 {
            ReaderInner::Sqlite(c) => Conn::Sqlite(c),
            ReaderInner::Postgres(c) => Conn::Postgres(c),
        }
    }
}

/// Column access that reads the same on both engines' rows.
pub(crate) trait Columns {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn int_opt(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn text_opt(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
}

macro_rules! impl_columns {
    ($row:ty) => {
        impl Columns for $row {
            fn text(&self, column: &str) -> Result<String, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn int(&self, column: &str) -> Result<i64, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn int_opt(&self, column: &str) -> Result<Option<i64>, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn text_opt(&self, column: &str) -> Result<Option<String>, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn flag(&self, column: &str) -> Result<bool, StoreError> {
                Ok(self.try_get(column)?)
            }
        }
    };
}
impl_columns!(SqliteRow);
impl_columns!(PgRow);
