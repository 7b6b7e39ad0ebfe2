//! One statement, written once, run on whichever connection a [`Conn`] holds.
//!
//! Repositories build a [`Query`] from SQL with `$n` placeholders and bind values in
//! order; the query then runs on the committer's SQLite connection (synchronously, on the
//! committer's own thread), on a pooled SQLite reader, or on PostgreSQL. Rows come back as
//! [`Row`], read through [`Columns`] by column name, the same on every engine.
//!
//! Why not sqlx everywhere: sqlx runs each SQLite connection on a thread of its own and
//! hands every statement over and back, so a unit of twenty statements pays forty thread
//! wake-ups while every other unit in the batch waits. The committer instead owns its
//! connection and runs statements directly (see `write.rs`).
//!
//! Invariant: a value is bound with its type even when it is NULL, because PostgreSQL
//! types each parameter from its bind.

use std::borrow::Cow;

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection};

use crate::rows::{FromRow, Row};
use crate::{Conn, StoreError};

/// A bound value with its type.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Flag(Option<bool>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Value {
        Value::Int(Some(value))
    }
}
impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Value {
        Value::Int(value)
    }
}
impl From<bool> for Value {
    fn from(value: bool) -> Value {
        Value::Flag(Some(value))
    }
}
impl From<&str> for Value {
    fn from(value: &str) -> Value {
        Value::Text(Some(value.to_owned()))
    }
}
impl From<String> for Value {
    fn from(value: String) -> Value {
        Value::Text(Some(value))
    }
}
impl From<&String> for Value {
    fn from(value: &String) -> Value {
        Value::Text(Some(value.clone()))
    }
}
impl From<Option<&str>> for Value {
    fn from(value: Option<&str>) -> Value {
        Value::Text(value.map(str::to_owned))
    }
}
impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Value {
        Value::Text(value)
    }
}
impl From<&Option<String>> for Value {
    fn from(value: &Option<String>) -> Value {
        Value::Text(value.clone())
    }
}

/// A statement and its bound values, in placeholder order (`$1` is the first bind).
#[derive(Debug, Clone)]
pub(crate) struct Query {
    sql: Cow<'static, str>,
    values: Vec<Value>,
}

/// A statement from fixed text.
pub(crate) fn query(sql: &'static str) -> Query {
    Query { sql: Cow::Borrowed(sql), values: Vec::new() }
}

/// A statement assembled at run time. Only Payrail's own fragments (column lists, clauses
/// chosen from fixed alternatives) may go into it; values always go through `bind`.
pub(crate) fn query_built(sql: String) -> Query {
    Query { sql: Cow::Owned(sql), values: Vec::new() }
}

impl Query {
    pub(crate) fn bind(mut self, value: impl Into<Value>) -> Query {
        self.values.push(value.into());
        self
    }

    /// Runs the statement and returns how many rows it changed.
    pub(crate) async fn execute(self, conn: Conn<'_>) -> Result<u64, StoreError> {
        match conn {
            Conn::Direct(c) => crate::direct::execute(c, &self.sql, &self.values),
            Conn::Sqlite(c) => Ok(sqlite(&self).execute(&mut *c).await?.rows_affected()),
            Conn::Postgres(c) => Ok(postgres(&self).execute(&mut *c).await?.rows_affected()),
        }
    }

    pub(crate) async fn fetch_all(self, conn: Conn<'_>) -> Result<Vec<Row>, StoreError> {
        match conn {
            Conn::Direct(c) => crate::direct::fetch(c, &self.sql, &self.values, usize::MAX),
            Conn::Sqlite(c) => Ok(fetch_sqlite(&self, c).await?.into_iter().map(Row::Sqlite).collect()),
            Conn::Postgres(c) => Ok(fetch_postgres(&self, c).await?.into_iter().map(Row::Postgres).collect()),
        }
    }

    pub(crate) async fn fetch_optional(self, conn: Conn<'_>) -> Result<Option<Row>, StoreError> {
        match conn {
            Conn::Direct(c) => Ok(crate::direct::fetch(c, &self.sql, &self.values, 1)?.into_iter().next()),
            Conn::Sqlite(c) => Ok(sqlite(&self).fetch_optional(&mut *c).await?.map(Row::Sqlite)),
            Conn::Postgres(c) => Ok(postgres(&self).fetch_optional(&mut *c).await?.map(Row::Postgres)),
        }
    }

    /// The one row the statement must return.
    pub(crate) async fn fetch_one(self, conn: Conn<'_>) -> Result<Row, StoreError> {
        self.fetch_optional(conn).await?.ok_or_else(|| StoreError::Corrupt("a query returned no row".into()))
    }

    /// As [`Query::fetch_optional`], the row read by position into `T` (a value or a tuple).
    pub(crate) async fn fetch_optional_as<T: FromRow>(self, conn: Conn<'_>) -> Result<Option<T>, StoreError> {
        self.fetch_optional(conn).await?.as_ref().map(T::from_row).transpose()
    }

    pub(crate) async fn fetch_one_as<T: FromRow>(self, conn: Conn<'_>) -> Result<T, StoreError> {
        T::from_row(&self.fetch_one(conn).await?)
    }

    pub(crate) async fn fetch_all_as<T: FromRow>(self, conn: Conn<'_>) -> Result<Vec<T>, StoreError> {
        self.fetch_all(conn).await?.iter().map(T::from_row).collect()
    }
}

async fn fetch_sqlite(query: &Query, c: &mut SqliteConnection) -> Result<Vec<SqliteRow>, sqlx::Error> {
    sqlite(query).fetch_all(&mut *c).await
}

async fn fetch_postgres(query: &Query, c: &mut PgConnection) -> Result<Vec<PgRow>, sqlx::Error> {
    postgres(query).fetch_all(&mut *c).await
}

type SqlxQuery<DB> = sqlx::query::Query<'static, DB, <DB as sqlx::Database>::Arguments>;

fn sqlite(query: &Query) -> SqlxQuery<Sqlite> {
    sqlx_query(query)
}

fn postgres(query: &Query) -> SqlxQuery<Postgres> {
    sqlx_query(query)
}

fn sqlx_query<DB: sqlx::Database>(query: &Query) -> SqlxQuery<DB>
where
    Option<i64>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<bool>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut built = sqlx::query(sqlx::AssertSqlSafe(query.sql.clone()));
    for value in &query.values {
        built = match value.clone() {
            Value::Int(v) => built.bind(v),
            Value::Text(v) => built.bind(v),
            Value::Flag(v) => built.bind(v),
        };
    }
    built
}
