//! The small layer between the queries and the database libraries: the error type, the
//! values a statement binds ([`Value`], built by [`params!`]), the [`Row`] a query reads,
//! and the statement calls of [`Tx`]. The queries in the sibling modules are written once
//! against it, with SQLite's `?N` parameters; for PostgreSQL each statement text is
//! rewritten to `$N` once and prepared once per connection (SQLite's own statement cache
//! does the same there).

use super::Tx;
use postgres::types::{IsNull, Type};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// A failed database call. Its `Display` is one line and never shows a bound value.
pub(crate) enum DbError {
    /// A query that must return a row returned none.
    NoRows,
    Sqlite(rusqlite::Error),
    Pg(postgres::Error),
    /// Anything else: a value of an unexpected type, an unusable setting.
    Other(String),
}

pub(crate) type DbResult<T> = Result<T, DbError>;

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::NoRows => f.write_str("no such row"),
            DbError::Sqlite(e) => write!(f, "{e}"),
            // The server's message and code, without its DETAIL (which quotes values).
            DbError::Pg(e) => match e.as_db_error() {
                Some(db) => write!(f, "{} (SQLSTATE {})", db.message(), db.code().code()),
                // The driver's own errors say what failed; their source says why (a
                // refused connection, an unknown certificate issuer).
                None => match std::error::Error::source(e) {
                    Some(cause) => write!(f, "{e}: {cause}"),
                    None => write!(f, "{e}"),
                },
            },
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

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        DbError::Pg(e)
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

impl postgres::types::ToSql for Value<'_> {
    /// Writes the value as the type PostgreSQL inferred for the parameter: an integer
    /// binds to any integer type (checked), a boolean or text.
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(n)?.to_sql(ty, out),
                Type::BOOL => (n != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => n.to_string().to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound as {ty}").into()),
            },
            Value::Text(s) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => s.to_sql(ty, out),
                _ => Err(format!("a text cannot be bound as {ty}").into()),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.to_sql(ty, out),
                _ => Err(format!("bytes cannot be bound as {ty}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
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
    Pg(&'r postgres::Row),
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
            Row::Pg(row) => {
                let ty = row
                    .columns()
                    .get(index)
                    .ok_or_else(|| DbError::Other(format!("no column {index}")))?
                    .type_()
                    .clone();
                let column = match ty {
                    Type::INT8 => row.try_get::<_, Option<i64>>(index)?.map(Column::Int),
                    Type::INT4 => row
                        .try_get::<_, Option<i32>>(index)?
                        .map(|n| Column::Int(n.into())),
                    Type::INT2 => row
                        .try_get::<_, Option<i16>>(index)?
                        .map(|n| Column::Int(n.into())),
                    Type::BOOL => row
                        .try_get::<_, Option<bool>>(index)?
                        .map(|b| Column::Int(b.into())),
                    Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(index)?.map(Column::Blob),
                    _ => row.try_get::<_, Option<String>>(index)?.map(Column::Text),
                };
                Ok(column.unwrap_or(Column::Null))
            }
        }
    }
}

/// The transaction a [`Tx`] runs its statements in.
pub(super) enum Inner<'c> {
    Sqlite(rusqlite::Transaction<'c>),
    Pg(RefCell<PgTx<'c>>),
}

/// A PostgreSQL transaction and its connection's prepared statements.
pub(super) struct PgTx<'c> {
    pub(super) tx: postgres::Transaction<'c>,
    pub(super) statements: &'c mut Statements,
}

/// A connection's prepared statements, by their text as written (with `?N`).
pub(super) type Statements = HashMap<String, postgres::Statement>;

impl PgTx<'_> {
    /// The prepared statement for `sql`, prepared on first use.
    fn statement(&mut self, sql: &str) -> DbResult<postgres::Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(&dollar_parameters(sql))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// `sql` with each `?N` outside quotes written `$N`, as PostgreSQL numbers parameters.
pub(super) fn dollar_parameters(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote = None;
    for c in sql.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if q == c => quote = None,
            (None, '?') => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// `params` as the postgres crate takes them.
fn pg<'p>(params: &'p [Value<'p>]) -> Vec<&'p (dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|value| value as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

impl Tx<'_> {
    /// Runs a statement; returns how many rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: &[Value]) -> DbResult<usize> {
        match &self.inner {
            Inner::Sqlite(tx) => Ok(tx.prepare_cached(sql)?.execute(sqlite(params))?),
            Inner::Pg(pg_tx) => {
                let mut pg_tx = pg_tx.borrow_mut();
                let statement = pg_tx.statement(sql)?;
                let changed = pg_tx.tx.execute(&statement, &pg(params))?;
                Ok(usize::try_from(changed).unwrap_or(usize::MAX))
            }
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
            Inner::Pg(pg_tx) => {
                let mut pg_tx = pg_tx.borrow_mut();
                let statement = pg_tx.statement(sql)?;
                let rows = pg_tx.tx.query(&statement, &pg(params))?;
                drop(pg_tx);
                rows.first().map(|row| f(&Row::Pg(row))).transpose()
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
            Inner::Pg(pg_tx) => {
                let mut pg_tx = pg_tx.borrow_mut();
                let statement = pg_tx.statement(sql)?;
                let rows = pg_tx.tx.query(&statement, &pg(params))?;
                drop(pg_tx);
                for row in &rows {
                    found.push(f(&Row::Pg(row))?);
                }
            }
        }
        Ok(found)
    }

    /// Runs statements without parameters, separated by `;`.
    pub(crate) fn execute_batch(&self, sql: &str) -> DbResult<()> {
        match &self.inner {
            Inner::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
            Inner::Pg(pg_tx) => Ok(pg_tx.borrow_mut().tx.batch_execute(sql)?),
        }
    }

    /// Which database runs this transaction, for the few statements written apart.
    pub(crate) fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Pg(_) => Backend::Pg,
        }
    }
}

/// The databases my-server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Pg,
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
            Inner::Pg(pg_tx) => Ok(pg_tx.into_inner().tx.commit()?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dollar_parameters;

    #[test]
    fn parameters_are_renumbered_outside_quotes_only() {
        assert_eq!(
            dollar_parameters("SELECT '?1', \"a?\" FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', \"a?\" FROM t WHERE a = $1 AND b = $12"
        );
    }
}
