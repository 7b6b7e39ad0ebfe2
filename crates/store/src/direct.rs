//! Statements on the committer's own SQLite connection, run synchronously on the thread
//! that owns it (see `write.rs`), with statements cached by their text.
//!
//! Placeholders are written `$n` for both engines. SQLite reads `$1` as a parameter
//! *named* "$1" and numbers parameters in order of first appearance, so each one is bound
//! by the number in its name, not by its position.

use std::sync::Arc;

use rusqlite::types::{Value as SqliteValue, ValueRef};
use rusqlite::{CachedStatement, Connection, ErrorCode};

use crate::StoreError;
use crate::conn::Columns;
use crate::query::Value;
use crate::rows::Row;

/// Statements kept prepared on the committer's connection; Payrail has fewer distinct ones.
pub(crate) const STATEMENT_CACHE_CAPACITY: usize = 256;

pub(crate) fn execute(conn: &Connection, sql: &str, values: &[Value]) -> Result<u64, StoreError> {
    let mut statement = prepare(conn, sql, values)?;
    let changed = statement.raw_execute().map_err(from_sqlite)?;
    Ok(u64::try_from(changed).unwrap_or(u64::MAX))
}

/// Up to `rows_max` rows of the statement's result.
pub(crate) fn fetch(conn: &Connection, sql: &str, values: &[Value], rows_max: usize) -> Result<Vec<Row>, StoreError> {
    let mut statement = prepare(conn, sql, values)?;
    let names: Arc<[String]> = statement.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = statement.raw_query();
    let mut fetched = Vec::new();
    while fetched.len() < rows_max {
        let Some(row) = rows.next().map_err(from_sqlite)? else { break };
        let values = (0..names.len())
            .map(|index| row.get_ref(index).map(owned).map_err(from_sqlite))
            .collect::<Result<Vec<_>, _>>()?;
        fetched.push(Row::Direct(DirectRow { names: Arc::clone(&names), values }));
    }
    Ok(fetched)
}

fn prepare<'c>(conn: &'c Connection, sql: &str, values: &[Value]) -> Result<CachedStatement<'c>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(from_sqlite)?;
    for index in 1..=statement.parameter_count() {
        let number = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|digits| digits.parse::<usize>().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("placeholder {index} is not $n")))?;
        let value = values
            .get(number.wrapping_sub(1))
            .ok_or_else(|| StoreError::Corrupt(format!("no value bound for ${number}")))?;
        let bound = match value {
            Value::Int(v) => statement.raw_bind_parameter(index, v),
            Value::Text(v) => statement.raw_bind_parameter(index, v),
            Value::Flag(v) => statement.raw_bind_parameter(index, v),
        };
        bound.map_err(from_sqlite)?;
    }
    Ok(statement)
}

fn owned(value: ValueRef<'_>) -> SqliteValue {
    match value {
        ValueRef::Null => SqliteValue::Null,
        ValueRef::Integer(v) => SqliteValue::Integer(v),
        ValueRef::Real(v) => SqliteValue::Real(v),
        ValueRef::Text(v) => SqliteValue::Text(String::from_utf8_lossy(v).into_owned()),
        ValueRef::Blob(v) => SqliteValue::Blob(v.to_vec()),
    }
}

/// A row read off the committer's connection, its values owned.
pub(crate) struct DirectRow {
    names: Arc<[String]>,
    values: Vec<SqliteValue>,
}

impl DirectRow {
    /// The value at `index`, as `T`.
    pub(crate) fn at<T: FromSqliteValue>(&self, index: usize) -> Result<T, StoreError> {
        let value = self.values.get(index).ok_or_else(|| StoreError::Corrupt(format!("no column {index}")))?;
        T::from_value(value).ok_or_else(|| StoreError::Corrupt(format!("column {index} has an unexpected type")))
    }

    fn get(&self, column: &str) -> Result<&SqliteValue, StoreError> {
        let index = self
            .names
            .iter()
            .position(|name| name == column)
            .ok_or_else(|| StoreError::Corrupt(format!("no column {column} in the row")))?;
        Ok(&self.values[index])
    }
}

/// The types positional reads produce.
pub(crate) trait FromSqliteValue: Sized {
    fn from_value(value: &SqliteValue) -> Option<Self>;
}

impl FromSqliteValue for Option<i64> {
    fn from_value(value: &SqliteValue) -> Option<Self> {
        match value {
            SqliteValue::Null => Some(None),
            SqliteValue::Integer(v) => Some(Some(*v)),
            _ => None,
        }
    }
}
impl FromSqliteValue for Option<String> {
    fn from_value(value: &SqliteValue) -> Option<Self> {
        match value {
            SqliteValue::Null => Some(None),
            SqliteValue::Text(v) => Some(Some(v.clone())),
            _ => None,
        }
    }
}
impl FromSqliteValue for i64 {
    fn from_value(value: &SqliteValue) -> Option<Self> {
        Option::<i64>::from_value(value).flatten()
    }
}
impl FromSqliteValue for String {
    fn from_value(value: &SqliteValue) -> Option<Self> {
        Option::<String>::from_value(value).flatten()
    }
}
impl FromSqliteValue for bool {
    fn from_value(value: &SqliteValue) -> Option<Self> {
        i64::from_value(value).map(|v| v != 0)
    }
}

fn mistyped(column: &str) -> StoreError {
    StoreError::Corrupt(format!("column {column} has an unexpected type"))
}

impl Columns for DirectRow {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.text_opt(column)?.ok_or_else(|| mistyped(column))
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.int_opt(column)?.ok_or_else(|| mistyped(column))
    }
    fn int_opt(&self, column: &str) -> Result<Option<i64>, StoreError> {
        match self.get(column)? {
            SqliteValue::Null => Ok(None),
            SqliteValue::Integer(value) => Ok(Some(*value)),
            _ => Err(mistyped(column)),
        }
    }
    fn text_opt(&self, column: &str) -> Result<Option<String>, StoreError> {
        match self.get(column)? {
            SqliteValue::Null => Ok(None),
            SqliteValue::Text(value) => Ok(Some(value.clone())),
            _ => Err(mistyped(column)),
        }
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        match self.get(column)? {
            SqliteValue::Integer(value) => Ok(*value != 0),
            _ => Err(mistyped(column)),
        }
    }
}

/// Classifies a SQLite error as the rest of the store does for sqlx's.
pub(crate) fn from_sqlite(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error() {
        Some(e) if e.extended_code == 2067 || e.extended_code == 1555 => StoreError::UniqueViolation,
        Some(e) if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
        _ => StoreError::Direct(error.to_string()),
    }
}
