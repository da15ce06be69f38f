//! Arguments and column values, the same on both backends.

use rusqlite::types::{ToSql, ToSqlOutput, Value as SqliteValue, ValueRef};
use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query as SqlxQuery;

/// An argument. A null keeps its type: PostgreSQL checks it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

impl Value {
    pub(super) fn bind_to<'q>(
        self,
        statement: SqlxQuery<'q, Any, AnyArguments<'q>>,
    ) -> SqlxQuery<'q, Any, AnyArguments<'q>> {
        match self {
            Value::Int(v) => statement.bind(v),
            Value::Text(v) => statement.bind(v),
            Value::Blob(v) => statement.bind(v),
        }
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Int(Some(v)) => ValueRef::Integer(*v),
            Value::Text(Some(v)) => ValueRef::Text(v.as_bytes()),
            Value::Blob(Some(v)) => ValueRef::Blob(v),
            Value::Int(None) | Value::Text(None) | Value::Blob(None) => ValueRef::Null,
        }))
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(Some(v.to_owned()))
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(Some(v.clone()))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(Some(v))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Value {
        Value::Text(v)
    }
}

impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Value {
        Value::Text(v.clone())
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Value {
        Value::Text(v.map(str::to_owned))
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Blob(Some(v))
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Blob(Some(v.to_vec()))
    }
}

impl From<Option<Vec<u8>>> for Value {
    fn from(v: Option<Vec<u8>>) -> Value {
        Value::Blob(v)
    }
}

/// A column type the store reads.
pub(crate) trait Decode: Sized + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> {
    fn from_sqlite(value: &SqliteValue) -> Result<Self, String>;
}

fn unexpected(wanted: &str, found: &SqliteValue) -> String {
    format!("expected {wanted}, found {:?}", found.data_type())
}

impl Decode for i64 {
    fn from_sqlite(value: &SqliteValue) -> Result<i64, String> {
        match value {
            SqliteValue::Integer(v) => Ok(*v),
            other => Err(unexpected("an integer", other)),
        }
    }
}

impl Decode for String {
    fn from_sqlite(value: &SqliteValue) -> Result<String, String> {
        match value {
            SqliteValue::Text(v) => Ok(v.clone()),
            other => Err(unexpected("text", other)),
        }
    }
}

impl Decode for Vec<u8> {
    fn from_sqlite(value: &SqliteValue) -> Result<Vec<u8>, String> {
        match value {
            SqliteValue::Blob(v) => Ok(v.clone()),
            other => Err(unexpected("bytes", other)),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn from_sqlite(value: &SqliteValue) -> Result<Option<T>, String> {
        match value {
            SqliteValue::Null => Ok(None),
            other => T::from_sqlite(other).map(Some),
        }
    }
}
