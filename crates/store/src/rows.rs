//! Rows from any engine: read by column name through [`Columns`], or by position into a
//! value or a tuple through [`FromRow`].

use sqlx::Row as _;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::StoreError;
use crate::conn::Columns;
use crate::direct::DirectRow;

/// A row from any engine, read by column name.
pub(crate) enum Row {
    Direct(DirectRow),
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Columns for Row {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        match self {
            Row::Direct(row) => row.text(column),
            Row::Sqlite(row) => row.text(column),
            Row::Postgres(row) => row.text(column),
        }
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        match self {
            Row::Direct(row) => row.int(column),
            Row::Sqlite(row) => row.int(column),
            Row::Postgres(row) => row.int(column),
        }
    }
    fn int_opt(&self, column: &str) -> Result<Option<i64>, StoreError> {
        match self {
            Row::Direct(row) => row.int_opt(column),
            Row::Sqlite(row) => row.int_opt(column),
            Row::Postgres(row) => row.int_opt(column),
        }
    }
    fn text_opt(&self, column: &str) -> Result<Option<String>, StoreError> {
        match self {
            Row::Direct(row) => row.text_opt(column),
            Row::Sqlite(row) => row.text_opt(column),
            Row::Postgres(row) => row.text_opt(column),
        }
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        match self {
            Row::Direct(row) => row.flag(column),
            Row::Sqlite(row) => row.flag(column),
            Row::Postgres(row) => row.flag(column),
        }
    }
}

/// A value read from a row by position.
pub(crate) trait Decode: Sized {
    fn decode(row: &Row, index: usize) -> Result<Self, StoreError>;
}

macro_rules! decode_by_position {
    ($($ty:ty),*) => {$(
        impl Decode for $ty {
            fn decode(row: &Row, index: usize) -> Result<Self, StoreError> {
                match row {
                    Row::Direct(row) => row.at(index),
                    Row::Sqlite(row) => Ok(row.try_get(index)?),
                    Row::Postgres(row) => Ok(row.try_get(index)?),
                }
            }
        }
    )*};
}
decode_by_position!(i64, Option<i64>, String, Option<String>, bool);

/// A whole row read by position: one value, or a tuple of them.
pub(crate) trait FromRow: Sized {
    fn from_row(row: &Row) -> Result<Self, StoreError>;
}

macro_rules! from_row_value {
    ($($ty:ty),*) => {$(
        impl FromRow for $ty {
            fn from_row(row: &Row) -> Result<Self, StoreError> {
                <$ty as Decode>::decode(row, 0)
            }
        }
    )*};
}
from_row_value!(i64, Option<i64>, String, Option<String>, bool);

macro_rules! from_row_tuple {
    ($($name:ident $index:tt),+) => {
        impl<$($name: Decode),+> FromRow for ($($name,)+) {
            fn from_row(row: &Row) -> Result<Self, StoreError> {
                Ok(($($name::decode(row, $index)?,)+))
            }
        }
    };
}
from_row_tuple!(A 0, B 1);
from_row_tuple!(A 0, B 1, C 2);
from_row_tuple!(A 0, B 1, C 2, D 3);
from_row_tuple!(A 0, B 1, C 2, D 3, E 4);
from_row_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
