//! A tiny statement builder that numbers placeholders `$1, $2, …`.
//!
//! Both backends accept `$N` (SQLite reads it as a numbered parameter), so every statement is
//! written once. sqlx's own `QueryBuilder` emits `?` for the `Any` driver, which PostgreSQL
//! rejects.

use std::fmt::Write;

use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;
use sqlx::{Arguments, AssertSqlSafe, Encode, Type};

/// SQL text with its bound values.
#[derive(Default)]
pub(crate) struct Sql {
    text: String,
    args: AnyArguments,
    count: usize,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Sql { text: text.to_owned(), ..Sql::default() }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub(crate) fn bind<'q, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        self.count += 1;
        let _ = write!(self.text, "${}", self.count);
        // Encoding into the `Any` buffer only stores the value; it cannot fail for the plain
        // text and integer values plumb binds.
        let _ = self.args.add(value);
        self
    }

    /// Appends `(v1, v2, …)` for one row of values bound by `bind_row`.
    pub(crate) fn row(&mut self, bind_row: impl FnOnce(&mut RowBinder<'_>)) -> &mut Self {
        self.text.push('(');
        bind_row(&mut RowBinder { sql: self, first: true });
        self.text.push(')');
        self
    }

    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The statement, ready to execute. The text holds only fragments written in this crate;
    /// every value travels as a bound parameter.
    pub(crate) fn query(self) -> Query<'static, Any, AnyArguments> {
        sqlx::query_with(AssertSqlSafe(self.text), self.args)
    }
}

/// Binds the values of one parenthesised row, separated by commas.
pub(crate) struct RowBinder<'a> {
    sql: &'a mut Sql,
    first: bool,
}

impl RowBinder<'_> {
    pub(crate) fn value<'q, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        if !self.first {
            self.sql.text.push(',');
        }
        self.first = false;
        self.sql.bind(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut sql = Sql::new("INSERT INTO t (a, b) VALUES ");
        sql.row(|r| {
            r.value("x").value(1_i64);
        });
        sql.push(",");
        sql.row(|r| {
            r.value("y").value(Option::<String>::None);
        });
        assert_eq!(sql.text(), "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4)");
    }
}
