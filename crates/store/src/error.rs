//! Storage errors, classified so callers can decide what to do without parsing text.

/// A failure in the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write: the thing already exists.
    #[error("a unique constraint refused the write")]
    UniqueViolation,
    /// A stored row does not parse into its domain type: the database was edited by hand
    /// or by a newer version.
    #[error("stored row is invalid: {0}")]
    Corrupt(String),
    /// The database holds migrations this binary does not know.
    #[error("the database schema (version {database}) is newer than this binary (version {binary})")]
    SchemaTooNew { database: i64, binary: i64 },
    /// The database was busy (locked by another process past the busy timeout, say).
    #[error("the database is busy")]
    Busy,
    /// A shared commit failed, so the work in it did not land.
    #[error("the commit failed: {0}")]
    CommitFailed(String),
    /// The store cannot be opened as configured (an unknown URL scheme, say).
    #[error("{0}")]
    Configuration(String),
    #[error(transparent)]
    Database(sqlx::Error),
    /// An error from the committer's own SQLite connection, already classified: busy and
    /// unique violations have their own variants.
    #[error("database error: {0}")]
    Direct(String),
}

impl StoreError {
    /// Whether retrying the same work later may succeed: the database was busy, a
    /// serialization conflict aborted the transaction, or the pool had no connection.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Busy => true,
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => true,
            StoreError::Database(sqlx::Error::Database(error)) => {
                let code = error.code().unwrap_or_default();
                // SQLite: 5 BUSY, 6 LOCKED (and their extended codes). PostgreSQL:
                // 40001 serialization_failure, 40P01 deadlock_detected.
                ["5", "6", "517", "261", "40001", "40P01"].contains(&code.as_ref())
            }
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::UniqueViolation,
            _ => StoreError::Database(error),
        }
    }
}

/// Shorthand for a row that holds a value its domain type refuses.
pub(crate) fn corrupt(table: &str, column: &str) -> StoreError {
    StoreError::Corrupt(format!("{table}.{column}"))
}
