//! A tiny statement builder that writes each backend's placeholders: `$1, $2, …` for
//! PostgreSQL, `?` for SQLite.
//!
//! Statements are written once for both backends. Placeholders are rendered at the end because
//! the backends disagree: PostgreSQL rejects `?`, and SQLite accepts `$N` but looks up each
//! named parameter by a linear scan, which makes binding a multi-row insert quadratic (measured:
//! 80% of an import's time). sqlx's own `QueryBuilder` emits `?` for the `Any` driver.

use std::fmt::Write;

use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;
use sqlx::{Arguments, AssertSqlSafe, Encode, Type};

use crate::Backend;

/// SQL text with its bound values.
#[derive(Default)]
pub(crate) struct Sql {
    text: String,
    args: AnyArguments,
}

/// Stands for a placeholder in the text until it is rendered for a backend. Our SQL fragments
/// never contain it, and values never enter the text.
const MARK: char = '\u{0}';

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Sql { text: text.to_owned(), ..Sql::default() }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// The statement as a subquery: `before` this text and `after` it (neither binds values).
    pub(crate) fn wrapped(mut self, before: &str, after: &str) -> Self {
        self.text.insert_str(0, before);
        self.text.push_str(after);
        self
    }

    /// Appends a placeholder for `value`.
    pub(crate) fn bind<'q, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        self.text.push(MARK);
        // Encoding into the `Any` buffer only stores the value; it cannot fail for the plain
        // text and integer values plumb binds.
        let _ = self.args.add(value);
        self
    }

    /// Appends a placeholder for optional text. sqlx's `Option` encoding copies the string;
    /// binding the `String` itself moves it (this copy was 10% of an import's main thread).
    pub(crate) fn bind_text(&mut self, value: Option<String>) -> &mut Self {
        match value {
            Some(text) => self.bind(text),
            None => self.bind(Option::<String>::None),
        }
    }

    /// Appends `(v1, v2, …)` for one row of values bound by `bind_row`.
    pub(crate) fn row(&mut self, bind_row: impl FnOnce(&mut RowBinder<'_>)) -> &mut Self {
        self.text.push('(');
        bind_row(&mut RowBinder { sql: self, first: true });
        self.text.push(')');
        self
    }

    /// The text with the backend's placeholders.
    pub(crate) fn render(&self, backend: Backend) -> String {
        match backend {
            Backend::Sqlite => self.text.replace(MARK, "?"),
            Backend::Postgres => {
                let mut out = String::with_capacity(self.text.len() + 16);
                for (n, part) in self.text.split(MARK).enumerate() {
                    if n > 0 {
                        let _ = write!(out, "${n}");
                    }
                    out.push_str(part);
                }
                out
            }
        }
    }

    /// The statement, ready to execute on `backend`. The text holds only fragments written in
    /// this crate; every value travels as a bound parameter.
    pub(crate) fn query(self, backend: Backend) -> Query<'static, Any, AnyArguments> {
        sqlx::query_with(AssertSqlSafe(self.render(backend)), self.args)
    }
}

/// A page of `table`'s rows read as ONE value: the rows matching `filter` (SQL after `WHERE`,
/// with its values bound), in key order after `after`, at most `limit`, returned as one JSON
/// array holding `elements` (expressions over `columns`) for each row, with the page's
/// largest key as the cursor of the next. Reading a million rows one by one through sqlx
/// costs a copy and a thread hand-off per row; a page of thousands costs one.
///
/// The cursor comes from the database (`max(key)`): a PostgreSQL collation is not byte order.
pub(crate) fn json_page(
    backend: Backend,
    (columns, elements): (&str, &str),
    table: &str,
    filter: impl FnOnce(&mut Sql),
    after: Option<&str>,
    limit: usize,
) -> Sql {
    let page = match backend {
        Backend::Sqlite => format!("json_group_array(json_array({elements}))"),
        Backend::Postgres => format!("coalesce(json_agg(json_build_array({elements})), '[]')::text"),
    };
    let mut sql = Sql::new(&format!(
        "SELECT {page} AS page, max(key) AS last FROM (SELECT {columns} FROM {table} WHERE "
    ));
    filter(&mut sql);
    if let Some(after) = after {
        sql.push(" AND key > ").bind(after.to_owned());
    }
    sql.push(" ORDER BY key LIMIT ").bind(i64::try_from(limit).unwrap_or(i64::MAX));
    sql.push(") page_rows");
    sql
}

/// The rows of a [`json_page`] and the cursor of the next page (`None` when this page held
/// fewer than `limit` rows).
pub(crate) fn read_json_page<T: serde::de::DeserializeOwned>(
    row: &sqlx::any::AnyRow,
    what: &'static str,
    limit: usize,
) -> Result<(Vec<T>, Option<String>), crate::StoreError> {
    use sqlx::Row;
    let text: String = row.try_get("page")?;
    let rows: Vec<T> = serde_json::from_str(&text).map_err(|err| crate::StoreError::Corrupt {
        field: what,
        reason: err.to_string(),
        value: text,
    })?;
    let last: Option<String> = row.try_get("last")?;
    let full = rows.len() >= limit;
    Ok((rows, last.filter(|_| full)))
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
        self.separate();
        self.sql.bind(value);
        self
    }

    /// Optional text, moved rather than copied (see [`Sql::bind_text`]).
    pub(crate) fn text(&mut self, value: Option<String>) -> &mut Self {
        self.separate();
        self.sql.bind_text(value);
        self
    }

    fn separate(&mut self) {
        if !self.first {
            self.sql.text.push(',');
        }
        self.first = false;
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
        assert_eq!(sql.render(Backend::Postgres), "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4)");
        assert_eq!(sql.render(Backend::Sqlite), "INSERT INTO t (a, b) VALUES (?,?),(?,?)");
    }
}
