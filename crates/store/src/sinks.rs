//! What alert sinks remember between scans, and deliveries noted on the run they belong to.

use std::collections::HashMap;

use plumb_core::EventDraft;
use plumb_core::model::Entity;
use serde_json::{Value, json};
use sqlx::Row;

use crate::sql::Sql;
use crate::{Store, StoreError, WriteTx};

impl Store {
    /// The remembered state of every sink that has one, by sink name.
    pub async fn sink_states(&self) -> Result<HashMap<String, Value>, StoreError> {
        let rows =
            Sql::new("SELECT sink, state FROM sink_states").query(self.backend).fetch_all(&self.pool).await?;
        let mut states = HashMap::new();
        for row in &rows {
            let value: String = row.try_get("state")?;
            let state = serde_json::from_str(&value).map_err(|err| StoreError::Corrupt {
                field: "state",
                reason: err.to_string(),
                value: value.clone(),
            })?;
            states.insert(row.try_get("sink")?, state);
        }
        Ok(states)
    }
}

impl WriteTx {
    /// Remembers (or, with `None`, forgets) a sink's state, with an event when it changes.
    pub async fn set_sink_state(
        &mut self,
        sink: &str,
        before: Option<&Value>,
        state: Option<&Value>,
    ) -> Result<(), StoreError> {
        if before == state {
            return Ok(());
        }
        let mut sql = Sql::new("DELETE FROM sink_states WHERE sink = ");
        sql.bind(sink.to_owned());
        sql.query(self.backend).execute(&mut *self.tx).await?;
        if let Some(state) = state {
            let mut sql = Sql::new("INSERT INTO sink_states (sink, state, updated_at) VALUES ");
            sql.row(|row| {
                row.value(sink.to_owned()).value(state.to_string()).value(self.now().to_string());
            });
            sql.query(self.backend).execute(&mut *self.tx).await?;
        }
        let draft = EventDraft::new(Entity::Sink, sink.to_owned(), "remembered", before, state);
        self.append(draft).await
    }

    /// Adds `value` under `name` to a recorded run's details (what happened after its results
    /// were stored, such as alert deliveries), with an event.
    pub async fn annotate_run(&mut self, run_id: &str, name: &str, value: &Value) -> Result<(), StoreError> {
        let mut select = Sql::new(&format!("SELECT {} FROM runs WHERE id = ", crate::runs::COLUMNS));
        select.bind(run_id.to_owned());
        let Some(row) = select.query(self.backend).fetch_optional(&mut *self.tx).await? else {
            return Err(StoreError::NotFound { what: "run", reference: run_id.to_owned() });
        };
        let mut run = crate::runs::run_from_row(&row)?;
        if !run.details.is_object() {
            run.details = json!({});
        }
        run.details[name] = value.clone();
        let mut update = Sql::new("UPDATE runs SET details = ");
        update.bind(run.details.to_string()).push(" WHERE id = ").bind(run_id.to_owned());
        update.query(self.backend).execute(&mut *self.tx).await?;
        let after = json!({ name: value, "digest": run.digest() });
        self.append(EventDraft::new(Entity::Run, run_id.to_owned(), "annotated", None, Some(&after))).await
    }
}
