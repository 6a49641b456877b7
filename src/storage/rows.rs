//! Set-oriented statements: a `VALUES` list of typed rows that one statement reads from, so
//! that a batch of N check-ins costs one round trip per step instead of N.
//!
//! The list is padded with all-NULL rows up to the next power of two, so that each statement
//! has only a handful of shapes (sqlx prepares and caches one statement per SQL text, per
//! connection). Statements must therefore ignore a row whose first column is NULL: a join or
//! `IN` on it matches nothing, and an `INSERT … SELECT` filters it out with
//! `WHERE q.column1 IS NOT NULL`. Columns are named `column1`, `column2`, … on both SQLite
//! and PostgreSQL.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs};

/// One value of a row; the variant fixes the SQL type of its column (PostgreSQL needs every
/// row of a `VALUES` list, padding included, to agree).
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

impl Val {
    fn null_like(&self) -> Val {
        match self {
            Val::Int(_) => Val::Int(None),
            Val::Text(_) => Val::Text(None),
            Val::Bytes(_) => Val::Bytes(None),
        }
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(Some(v))
    }
}

impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::Int(v)
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(Some(v.to_string()))
    }
}

impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        Val::Text(v.map(str::to_string))
    }
}

impl From<Option<&[u8]>> for Val {
    fn from(v: Option<&[u8]>) -> Self {
        Val::Bytes(v.map(<[u8]>::to_vec))
    }
}

/// Rows of `columns` values each.
#[derive(Debug, Clone)]
pub struct Rows {
    columns: usize,
    vals: Vec<Val>,
}

impl Rows {
    pub fn new(columns: usize) -> Self {
        assert!(columns > 0, "a row has at least one column");
        Self {
            columns,
            vals: Vec::new(),
        }
    }

    /// Appends one row; panics when it has the wrong number of values (a programming error).
    pub fn push<const N: usize>(&mut self, row: [Val; N]) {
        assert_eq!(N, self.columns, "row width");
        if let Some(first) = self.vals.get(..N) {
            for (a, b) in first.iter().zip(&row) {
                assert_eq!(
                    std::mem::discriminant(a),
                    std::mem::discriminant(b),
                    "column types agree"
                );
            }
        }
        self.vals.extend(row);
    }

    pub fn len(&self) -> usize {
        self.vals.len() / self.columns
    }

    pub fn is_empty(&self) -> bool {
        self.vals.is_empty()
    }

    /// How many rows the statement carries: the next power of two.
    pub fn padded_len(&self) -> usize {
        self.len().max(1).next_power_of_two()
    }

    /// `($first, …), (…)`: the placeholders of every row, padding included.
    pub fn placeholders(&self, first: usize) -> String {
        let mut sql = String::with_capacity(self.padded_len() * self.columns * 5);
        for row in 0..self.padded_len() {
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for col in 0..self.columns {
                if col > 0 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&(first + row * self.columns + col).to_string());
            }
            sql.push(')');
        }
        sql
    }

    /// `$first, …`: the placeholders of a one-column list, for `IN (…)` (an `IN` list lets
    /// PostgreSQL probe an index with `= ANY`, where a `VALUES` subquery may be hashed
    /// against a scan).
    pub fn list(&self, first: usize) -> String {
        assert_eq!(self.columns, 1, "a list has one column");
        (first..first + self.padded_len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The values in placeholder order, then the typed NULLs of the padding rows.
    fn all(self) -> impl Iterator<Item = Val> {
        let pad = (self.padded_len() - self.len()) * self.columns;
        let nulls: Vec<Val> = self.vals[..self.columns.min(self.vals.len())]
            .iter()
            .map(Val::null_like)
            .collect();
        let padding = nulls.into_iter().cycle().take(pad);
        self.vals.into_iter().chain(padding)
    }

    pub fn bind<'q>(self, mut q: Query<'q, Any, AnyArguments>) -> Query<'q, Any, AnyArguments> {
        for v in self.all() {
            q = match v {
                Val::Int(v) => q.bind(v),
                Val::Text(v) => q.bind(v),
                Val::Bytes(v) => q.bind(v),
            };
        }
        q
    }

    pub fn bind_as<'q, O>(
        self,
        mut q: QueryAs<'q, Any, O, AnyArguments>,
    ) -> QueryAs<'q, Any, O, AnyArguments> {
        for v in self.all() {
            q = match v {
                Val::Int(v) => q.bind(v),
                Val::Text(v) => q.bind(v),
                Val::Bytes(v) => q.bind(v),
            };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_padded_to_a_power_of_two() {
        let mut rows = Rows::new(2);
        for i in 0..3 {
            rows.push([Val::from(i), Val::from("x")]);
        }
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.padded_len(), 4);
        assert_eq!(
            rows.placeholders(2),
            "($2, $3), ($4, $5), ($6, $7), ($8, $9)"
        );
        let all: Vec<Val> = rows.all().collect();
        assert_eq!(all.len(), 8);
        assert_eq!(all[6], Val::Int(None));
        assert_eq!(all[7], Val::Text(None));
    }

    #[test]
    fn lists_are_padded_too() {
        let mut rows = Rows::new(1);
        for i in 0..5 {
            rows.push([Val::from(i)]);
        }
        assert_eq!(rows.list(3), "$3, $4, $5, $6, $7, $8, $9, $10");
    }

    #[test]
    fn one_row_is_not_padded() {
        let mut rows = Rows::new(1);
        rows.push([Val::from(7)]);
        assert_eq!(rows.placeholders(1), "($1)");
        assert_eq!(rows.all().count(), 1);
    }

    #[test]
    #[should_panic(expected = "column types agree")]
    fn mixed_column_types_are_refused() {
        let mut rows = Rows::new(1);
        rows.push([Val::from(7)]);
        rows.push([Val::from("seven")]);
    }
}
