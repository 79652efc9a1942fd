//! The SQL of a plan write (one acknowledged change: its chunk, projections, events,
//! notifications and reminders), shared by both databases: `plan_writes!()` expands these
//! functions inside `postgres.rs` and `sqlite.rs`, where `Db` names the database.

macro_rules! plan_writes {
    () => {
        /// Rows (or listed ids) per multi-row statement: far below SQLite's 32,766 bound variables.
        const ROWS_PER_STATEMENT: usize = 500;

        /// Claims the chunk seq of `write` and returns it, holding the plan's lock until the
        /// transaction ends. When another instance stored chunks after `write.after_seq`,
        /// `catch_up` gets them and rebuilds the write first.
        pub(super) async fn claim_seq(
            tx: &mut sqlx::Transaction<'_, Db>,
            write: &mut PlanWrite,
            catch_up: &mut CatchUp<'_>,
        ) -> StoreResult<i64> {
            // Claiming the next seq takes the document's row lock (PostgreSQL) or the
            // database's write lock (SQLite): no other write of this plan interleaves.
            let claimed: Option<(i64,)> =
                sqlx::query_as("UPDATE documents SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq")
                    .bind(&write.document_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            let Some((seq,)) = claimed else {
                return Err(StoreError::NotFound(format!("document {}", write.document_id)));
            };
            if seq - 1 != write.after_seq {
                // Another instance stored chunks since the writer loaded the plan: they are
                // folded in (and the write rebuilt) while the lock holds.
                let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
                    "SELECT seq, kind, bytes FROM document_chunks WHERE document_id = $1 AND seq > $2 ORDER BY seq",
                )
                .bind(&write.document_id)
                .bind(write.after_seq)
                .fetch_all(&mut **tx)
                .await?;
                let chunks =
                    rows.into_iter().map(|(seq, kind, bytes)| StoredChunk { seq, snapshot: kind == "snapshot", bytes });
                catch_up(chunks.collect(), write)?;
                write.after_seq = seq - 1;
            }
            Ok(seq)
        }

        /// Claims `write.after_seq + 1` if the plan's last chunk is still `write.after_seq`
        /// (the lock is then held until the transaction ends); `None` when another instance
        /// stored a chunk in between, and nothing is changed.
        pub(super) async fn claim_next_seq(
            tx: &mut sqlx::Transaction<'_, Db>,
            write: &PlanWrite,
        ) -> StoreResult<Option<i64>> {
            let claimed: Option<(i64,)> = sqlx::query_as(
                "UPDATE documents SET last_seq = last_seq + 1 WHERE id = $1 AND last_seq = $2 RETURNING last_seq",
            )
            .bind(&write.document_id)
            .bind(write.after_seq)
            .fetch_optional(&mut **tx)
            .await?;
            Ok(claimed.map(|(seq,)| seq))
        }

        /// Stores `write` as the plan's chunk `seq` (claimed in this transaction).
        pub(super) async fn write_rows(
            tx: &mut sqlx::Transaction<'_, Db>,
            write: &PlanWrite,
            seq: i64,
        ) -> StoreResult<()> {
            let at = millis(write.at);
            let yp = write.young_person_id.to_string();
            let (kind, bytes) = match &write.snapshot {
                Some(snapshot) => {
                    // The snapshot folds every chunk stored before it.
                    sqlx::query("DELETE FROM document_chunks WHERE document_id = $1 AND seq < $2")
                        .bind(&write.document_id)
                        .bind(seq)
                        .execute(&mut **tx)
                        .await?;
                    ("snapshot", snapshot)
                }
                None => ("changes", &write.changes),
            };
            sqlx::query(
                "INSERT INTO document_chunks (document_id, seq, kind, bytes, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&write.document_id)
            .bind(seq)
            .bind(kind)
            .bind(bytes.as_slice())
            .bind(at)
            .execute(&mut **tx)
            .await?;
            // The touched entities still in the plan are upserted; only those gone are deleted.
            use sync_core::schema::Collection;
            let present = |collection: Collection, id: &uuid::Uuid| {
                let p = &write.projections;
                match collection {
                    Collection::Actions => p.actions.iter().any(|a| a.id == *id),
                    Collection::Appointments => p.appointments.iter().any(|a| a.id == *id),
                    Collection::Tasks => p.tasks.iter().any(|t| t.id == *id),
                    Collection::Notices => true,
                }
            };
            match &write.touched {
                None => {
                    for table in [
                        "DELETE FROM action_rows WHERE young_person_id = $1",
                        "DELETE FROM appointment_rows WHERE young_person_id = $1",
                        "DELETE FROM task_rows WHERE young_person_id = $1",
                    ] {
                        sqlx::query(table).bind(&yp).execute(&mut **tx).await?;
                    }
                }
                Some(entities) => {
                    for (collection, id) in entities.iter().filter(|(c, id)| !present(*c, id)) {
                        let delete = match collection {
                            Collection::Actions => "DELETE FROM action_rows WHERE young_person_id = $1 AND id = $2",
                            Collection::Appointments => {
                                "DELETE FROM appointment_rows WHERE young_person_id = $1 AND id = $2"
                            }
                            Collection::Tasks => "DELETE FROM task_rows WHERE young_person_id = $1 AND id = $2",
                            Collection::Notices => continue,
                        };
                        sqlx::query(delete).bind(&yp).bind(id.to_string()).execute(&mut **tx).await?;
                    }
                }
            }
            for a in &write.projections.actions {
                sqlx::query(
                    "INSERT INTO action_rows (young_person_id, id, title, category, status, due_date, \
                       completed_at, qualification_code, created_by, updated_at, created_at, reminder) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (young_person_id, id) DO UPDATE SET title = excluded.title, \
                       category = excluded.category, status = excluded.status, due_date = excluded.due_date, \
                       completed_at = excluded.completed_at, qualification_code = excluded.qualification_code, \
                       created_by = excluded.created_by, updated_at = excluded.updated_at, \
                       created_at = excluded.created_at, reminder = excluded.reminder",
                )
                .bind(&yp)
                .bind(a.id.to_string())
                .bind(&a.title)
                .bind(&a.category)
                .bind(&a.status)
                .bind(sql::date_text(a.due_date))
                .bind(a.completed_at.map(millis))
                .bind(&a.qualification_code)
                .bind(a.created_by.to_string())
                .bind(millis(a.updated_at))
                .bind(millis(a.created_at))
                .bind(i64::from(a.reminder))
                .execute(&mut **tx)
                .await?;
            }
            for a in &write.projections.appointments {
                sqlx::query(
                    "INSERT INTO appointment_rows (young_person_id, id, title, kind, starts_at, \
                       duration_minutes, status, presence, response, adviser_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (young_person_id, id) DO UPDATE SET title = excluded.title, \
                       kind = excluded.kind, starts_at = excluded.starts_at, \
                       duration_minutes = excluded.duration_minutes, status = excluded.status, \
                       presence = excluded.presence, response = excluded.response, adviser_id = excluded.adviser_id",
                )
                .bind(&yp)
                .bind(a.id.to_string())
                .bind(&a.title)
                .bind(&a.kind)
                .bind(millis(a.starts_at))
                .bind(a.duration_minutes)
                .bind(&a.status)
                .bind(&a.presence)
                .bind(&a.response)
                .bind(a.adviser_id.to_string())
                .execute(&mut **tx)
                .await?;
            }
            for t in &write.projections.tasks {
                sqlx::query(
                    "INSERT INTO task_rows (young_person_id, id, title, kind, status, due_date) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (young_person_id, id) DO UPDATE SET title = excluded.title, \
                       kind = excluded.kind, status = excluded.status, due_date = excluded.due_date",
                )
                .bind(&yp)
                .bind(t.id.to_string())
                .bind(&t.title)
                .bind(&t.kind)
                .bind(&t.status)
                .bind(sql::date_text(t.due_date))
                .execute(&mut **tx)
                .await?;
            }
            if write.by_young_person {
                sqlx::query(
                    "UPDATE users SET last_activity_at = $2 \
                     WHERE id = $1 AND (last_activity_at IS NULL OR last_activity_at < $2)",
                )
                .bind(&yp)
                .bind(at)
                .execute(&mut **tx)
                .await?;
            }
            // One statement per `ROWS_PER_STATEMENT` events (a batch of edits brings several).
            for events in write.events.chunks(ROWS_PER_STATEMENT) {
                let mut insert = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO domain_events (dedup_key, young_person_id, kind, payload, created_at) ",
                );
                insert.push_values(events, |mut row, e| {
                    row.push_bind(&e.dedup_key)
                        .push_bind(e.young_person_id.map(|id| id.to_string()))
                        .push_bind(&e.kind)
                        .push_bind(&e.payload)
                        .push_bind(at);
                });
                insert.push(" ON CONFLICT (dedup_key) DO NOTHING");
                insert.build().execute(&mut **tx).await?;
            }
            super::insert_notifications(tx, &write.notifications).await?;
            match &write.reminders.clear {
                ReminderClear::Nothing => {}
                ReminderClear::All => {
                    sqlx::query(
                        "DELETE FROM reminders WHERE young_person_id = $1 AND status = 'pending' \
                         AND kind <> 'weekly_nudge'",
                    )
                    .bind(&yp)
                    .execute(&mut **tx)
                    .await?;
                }
                ReminderClear::Entities(ids) => {
                    for ids in ids.chunks(ROWS_PER_STATEMENT) {
                        let mut delete = sqlx::QueryBuilder::<Db>::new("DELETE FROM reminders WHERE young_person_id = ");
                        delete.push_bind(&yp).push(" AND status = 'pending' AND kind <> 'weekly_nudge' AND entity_id IN (");
                        let mut list = delete.separated(", ");
                        for id in ids {
                            list.push_bind(id.to_string());
                        }
                        list.push_unseparated(")");
                        delete.build().execute(&mut **tx).await?;
                    }
                }
            }
            for r in &write.reminders.arm {
                sqlx::query(
                    "INSERT INTO reminders (id, young_person_id, kind, entity_id, due_at, expires_at, dedup_key, \
                       status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) \
                     ON CONFLICT (dedup_key) DO NOTHING",
                )
                .bind(r.id.to_string())
                .bind(r.young_person_id.to_string())
                .bind(&r.kind)
                .bind(r.entity_id.to_string())
                .bind(millis(r.due_at))
                .bind(millis(r.expires_at))
                .bind(&r.dedup_key)
                .bind(at)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }
    };
}

pub(super) use plan_writes;
