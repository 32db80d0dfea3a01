//! The small layer between the queries and the database library: the error type, the
//! values a statement binds ([`Value`], built by [`params!`]), the [`Row`] a query reads,
//! and the statement calls of [`Tx`]. The queries in the sibling modules are written once
//! against it; which database runs them is decided here and in `mod.rs`.

use super::Tx;
use std::fmt;

/// A failed database call. Its `Display` is one line and never shows a bound value.
pub(crate) enum DbError {
    /// A query that must return a row returned none.
    NoRows,
    Sqlite(rusqlite::Error),
    /// Anything else: a value of an unexpected type, an unusable setting.
    Other(String),
}

pub(crate) type DbResult<T> = Result<T, DbError>;

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::NoRows => f.write_str("no such row"),
            DbError::Sqlite(e) => write!(f, "{e}"),
            DbError::Other(message) => f.write_str(message),
        }
    }
}

// Debug is Display: a library's Debug may carry more than its message.
impl fmt::Debug for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => DbError::NoRows,
            e => DbError::Sqlite(e),
        }
    }
}

/// A value bound to a statement's parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// The Rust types a statement binds.
pub(crate) trait ToValue {
    fn to_value(&self) -> Value<'_>;
}

impl ToValue for str {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Value<'_> {
        Value::Int(*self)
    }
}

impl ToValue for i32 {
    fn to_value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for u32 {
    fn to_value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value<'_> {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value<'_> {
        (**self).to_value()
    }
}

/// The parameters of one statement, `?1` first: `params![id, now]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::db::sql::ToValue::to_value(&$value)),*] as &[$crate::db::sql::Value<'_>]
    };
}
pub(crate) use params;

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ValueRef;
        Ok(rusqlite::types::ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(n) => ValueRef::Integer(n),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// A column's value as read.
pub(crate) enum Column {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// The Rust types a query reads.
pub(crate) trait FromColumn: Sized {
    /// `None` when the column holds another type.
    fn from_column(column: Column) -> Option<Self>;
}

impl FromColumn for i64 {
    fn from_column(column: Column) -> Option<Self> {
        match column {
            Column::Int(n) => Some(n),
            _ => None,
        }
    }
}

impl FromColumn for u32 {
    fn from_column(column: Column) -> Option<Self> {
        i64::from_column(column).and_then(|n| u32::try_from(n).ok())
    }
}

impl FromColumn for bool {
    fn from_column(column: Column) -> Option<Self> {
        i64::from_column(column).map(|n| n != 0)
    }
}

impl FromColumn for String {
    fn from_column(column: Column) -> Option<Self> {
        match column {
            Column::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl FromColumn for Vec<u8> {
    fn from_column(column: Column) -> Option<Self> {
        match column {
            Column::Blob(b) => Some(b),
            _ => None,
        }
    }
}

impl<T: FromColumn> FromColumn for Option<T> {
    fn from_column(column: Column) -> Option<Self> {
        match column {
            Column::Null => Some(None),
            column => T::from_column(column).map(Some),
        }
    }
}

/// One row of a query's result.
pub(crate) enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
}

impl Row<'_> {
    /// Column `index` (from 0) as a `T`.
    pub(crate) fn get<T: FromColumn>(&self, index: usize) -> DbResult<T> {
        T::from_column(self.column(index)?)
            .ok_or_else(|| DbError::Other(format!("column {index} holds an unexpected type")))
    }

    fn column(&self, index: usize) -> DbResult<Column> {
        use rusqlite::types::ValueRef;
        match self {
            Row::Sqlite(row) => Ok(match row.get_ref(index)? {
                ValueRef::Null => Column::Null,
                ValueRef::Integer(n) => Column::Int(n),
                ValueRef::Text(t) => Column::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Column::Blob(b.to_vec()),
                ValueRef::Real(_) => return Err(DbError::Other(format!("column {index} is real"))),
            }),
        }
    }
}

/// The transaction a [`Tx`] runs its statements in.
pub(super) enum Inner<'c> {
    Sqlite(rusqlite::Transaction<'c>),
}

impl Tx<'_> {
    /// Runs a statement; returns how many rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: &[Value]) -> DbResult<usize> {
        match &self.inner {
            Inner::Sqlite(tx) => Ok(tx.prepare_cached(sql)?.execute(sqlite(params))?),
        }
    }

    /// The first row of a query, read by `f`; [`DbError::NoRows`] when there is none.
    pub(crate) fn query_row<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> DbResult<T>,
    ) -> DbResult<T> {
        self.query_opt(sql, params, f)?.ok_or(DbError::NoRows)
    }

    /// The first row of a query, read by `f`, if there is one.
    pub(crate) fn query_opt<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> DbResult<T>,
    ) -> DbResult<Option<T>> {
        match &self.inner {
            Inner::Sqlite(tx) => {
                let mut statement = tx.prepare_cached(sql)?;
                let mut rows = statement.query(sqlite(params))?;
                match rows.next()? {
                    Some(row) => f(&Row::Sqlite(row)).map(Some),
                    None => Ok(None),
                }
            }
        }
    }

    /// Every row of a query, each read by `f`.
    pub(crate) fn query_map<T>(
        &self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row) -> DbResult<T>,
    ) -> DbResult<Vec<T>> {
        let mut found = Vec::new();
        match &self.inner {
            Inner::Sqlite(tx) => {
                let mut statement = tx.prepare_cached(sql)?;
                let mut rows = statement.query(sqlite(params))?;
                while let Some(row) = rows.next()? {
                    found.push(f(&Row::Sqlite(row))?);
                }
            }
        }
        Ok(found)
    }

    /// Runs statements without parameters, separated by `;`.
    pub(crate) fn execute_batch(&self, sql: &str) -> DbResult<()> {
        match &self.inner {
            Inner::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
        }
    }
}

fn sqlite<'p>(
    params: &'p [Value<'p>],
) -> rusqlite::ParamsFromIter<std::slice::Iter<'p, Value<'p>>> {
    rusqlite::params_from_iter(params.iter())
}

impl Tx<'_> {
    /// Commits the transaction.
    pub(super) fn commit(self) -> DbResult<()> {
        match self.inner {
            Inner::Sqlite(tx) => Ok(tx.commit()?),
        }
    }
}
