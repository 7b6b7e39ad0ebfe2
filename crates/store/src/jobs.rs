//! The job queue's rows: enqueue (in any write unit, so a job can be written together with
//! the change that caused it), claim under a lease, and finish by deleting, rescheduling or
//! burying the job.
//!
//! Invariant: a job is claimed by one worker at a time. On PostgreSQL the claim skips rows
//! another transaction has locked (`FOR UPDATE SKIP LOCKED`), so instances sharing the
//! database never claim the same job; on SQLite the single writer already runs claims one
//! after another.
//!
//! Invariant: every claim adds one to `attempts`, so a [`Claim`] (id and attempt) names
//! exactly one claim. Finishing checks it: a worker whose lease ran out, and whose job
//! another worker has claimed since, changes nothing when it finally reports.

use payrail_domain::{JobId, Timestamp};

use crate::conn::Columns;
use crate::error::corrupt;
use crate::query::{query, query_built};
use crate::{Conn, StoreError};

/// Characters of a failure kept in `last_error`, at most: enough for a message and its
/// causes, not enough for a handler's runaway output to bloat the table.
pub const LAST_ERROR_CHARS_MAX: usize = 1_000;

const COLUMNS: &str = "id, kind, payload, singleton_key, status, attempts, attempts_max, run_at_ms, \
                       lease_until_ms, last_error, created_at_ms, updated_at_ms";

/// A job to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub id: JobId,
    /// Which handler runs it, such as `payments.sweep`.
    pub kind: String,
    /// The handler's input, as JSON text.
    pub payload: String,
    /// At most one live (pending or running) job holds a given key.
    pub singleton_key: Option<String>,
    pub attempts_max: u32,
    /// Not claimed before this time.
    pub run_at: Timestamp,
}

/// Where a job stands. A job that succeeded has no status: its row is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for `run_at`, then for a worker.
    Pending,
    /// Claimed by a worker whose lease ends at `lease_until`.
    Running,
    /// Failed on its last attempt; kept with its error for an operator.
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Dead => "dead",
        }
    }

    fn parse(text: &str) -> Option<JobStatus> {
        [JobStatus::Pending, JobStatus::Running, JobStatus::Dead].into_iter().find(|s| s.as_str() == text)
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    pub singleton_key: Option<String>,
    pub status: JobStatus,
    /// Claims so far, the current one included.
    pub attempts: u32,
    pub attempts_max: u32,
    pub run_at: Timestamp,
    pub lease_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

impl Job {
    /// The claim this row records, for finishing it.
    pub fn claim(&self) -> Claim {
        Claim { id: self.id.clone(), attempt: self.attempts }
    }
}

/// One claim on a job: which job, and which attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: JobId,
    pub attempt: u32,
}

/// Inserts `job`. Returns `false`, inserting nothing, when a live job already holds its
/// singleton key.
pub async fn enqueue(conn: Conn<'_>, job: &NewJob, now: Timestamp) -> Result<bool, StoreError> {
    let inserted = query(
        "INSERT INTO jobs (id, kind, payload, singleton_key, status, attempts, attempts_max, run_at_ms,
                               created_at_ms, updated_at_ms)
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $7, $7)
             ON CONFLICT (singleton_key) DO NOTHING",
    )
    .bind(job.id.as_str())
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(job.singleton_key.as_deref())
    .bind(i64::from(job.attempts_max))
    .bind(job.run_at.unix_ms())
    .bind(now.unix_ms())
    .execute(conn)
    .await?;
    Ok(inserted == 1)
}

/// Claims up to `limit` due jobs, oldest due first: pending ones whose `run_at` has come,
/// and running ones whose lease ran out (their worker died or stalled). Each gets a lease
/// until `lease_until` and one more attempt; the rows are returned as claimed, in due order.
///
/// A job claimed again after its worker died on the last attempt comes back with
/// `attempts > attempts_max`: the caller buries it without running it.
pub async fn claim(
    mut conn: Conn<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> Result<Vec<Job>, StoreError> {
    // Two statements rather than `UPDATE … WHERE id IN (SELECT … SKIP LOCKED)`: PostgreSQL
    // may run such a subquery more than once (a rescanned semi-join), and each run could
    // lock other rows, claiming more than `limit`.
    let ids: Vec<String> = {
        let engine = conn.reborrow().engine();
        // The status test repeats the index's predicate word for word, so both engines
        // use `jobs_by_due_time`.
        let sql = format!(
            "SELECT id FROM jobs
             WHERE status IN ('pending', 'running') AND run_at_ms <= $1
               AND (status = 'pending' OR lease_until_ms <= $1)
             ORDER BY run_at_ms, id
             LIMIT $2
             {}",
            engine.skip_locked()
        );
        query_built(sql).bind(now.unix_ms()).bind(i64::from(limit)).fetch_all_as(conn.reborrow()).await
    }?;
    let mut jobs = Vec::with_capacity(ids.len());
    for id in ids {
        let job = {
            let sql = format!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until_ms = $1, updated_at_ms = $2
                 WHERE id = $3
                 RETURNING {COLUMNS}"
            );
            let row = query_built(sql)
                .bind(lease_until.unix_ms())
                .bind(now.unix_ms())
                .bind(&id)
                .fetch_one(conn.reborrow())
                .await?;
            job_from_row(&row)
        }?;
        jobs.push(job);
    }
    Ok(jobs)
}

/// Removes a job that succeeded. `false` if `claim` is no longer the job's current claim.
pub async fn complete(conn: Conn<'_>, claim: &Claim) -> Result<bool, StoreError> {
    let deleted = query("DELETE FROM jobs WHERE id = $1 AND attempts = $2 AND status = 'running'")
        .bind(claim.id.as_str())
        .bind(i64::from(claim.attempt))
        .execute(conn)
        .await?;
    Ok(deleted == 1)
}

/// Puts a failed job back to wait until `run_at`, keeping its error. `false` if `claim` is
/// no longer the job's current claim.
pub async fn retry(
    conn: Conn<'_>,
    claim: &Claim,
    run_at: Timestamp,
    error: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let updated = query(
        "UPDATE jobs SET status = 'pending', run_at_ms = $3, lease_until_ms = NULL, last_error = $4,
                             updated_at_ms = $5
             WHERE id = $1 AND attempts = $2 AND status = 'running'",
    )
    .bind(claim.id.as_str())
    .bind(i64::from(claim.attempt))
    .bind(run_at.unix_ms())
    .bind(bounded(error))
    .bind(now.unix_ms())
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Marks a job dead after its last attempt, keeping its error and giving up its singleton
/// key (so the next run of a recurring job can be scheduled). `false` if `claim` is no
/// longer the job's current claim.
pub async fn bury(conn: Conn<'_>, claim: &Claim, error: &str, now: Timestamp) -> Result<bool, StoreError> {
    let updated = query(
        "UPDATE jobs SET status = 'dead', singleton_key = NULL, lease_until_ms = NULL, last_error = $3,
                             updated_at_ms = $4
             WHERE id = $1 AND attempts = $2 AND status = 'running'",
    )
    .bind(claim.id.as_str())
    .bind(i64::from(claim.attempt))
    .bind(bounded(error))
    .bind(now.unix_ms())
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

pub async fn get(conn: Conn<'_>, id: &JobId) -> Result<Option<Job>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    let row = query_built(sql).bind(id.as_str()).fetch_optional(conn).await?;
    row.as_ref().map(job_from_row).transpose()
}

/// The live job holding `singleton_key`, if any.
pub async fn get_by_singleton_key(conn: Conn<'_>, singleton_key: &str) -> Result<Option<Job>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE singleton_key = $1");
    let row = query_built(sql).bind(singleton_key).fetch_optional(conn).await?;
    row.as_ref().map(job_from_row).transpose()
}

/// The clause that makes a claim pass over rows other transactions are claiming. SQLite
/// needs none: its writers run one at a time.
/// `error` cut to [`LAST_ERROR_CHARS_MAX`] characters, on a character boundary.
fn bounded(error: &str) -> &str {
    error.char_indices().nth(LAST_ERROR_CHARS_MAX).map_or(error, |(end, _)| &error[..end])
}

fn job_from_row(row: &impl Columns) -> Result<Job, StoreError> {
    let time = |column: &str| Timestamp::from_unix_ms(row.int(column)?).ok_or_else(|| corrupt("jobs", column));
    let count = |column: &str| u32::try_from(row.int(column)?).map_err(|_| corrupt("jobs", column));
    let lease_until = match row.int_opt("lease_until_ms")? {
        None => None,
        Some(ms) => Some(Timestamp::from_unix_ms(ms).ok_or_else(|| corrupt("jobs", "lease_until_ms"))?),
    };
    Ok(Job {
        id: JobId::parse(&row.text("id")?).map_err(|_| corrupt("jobs", "id"))?,
        kind: row.text("kind")?,
        payload: row.text("payload")?,
        singleton_key: row.text_opt("singleton_key")?,
        status: JobStatus::parse(&row.text("status")?).ok_or_else(|| corrupt("jobs", "status"))?,
        attempts: count("attempts")?,
        attempts_max: count("attempts_max")?,
        run_at: time("run_at_ms")?,
        lease_until,
        last_error: row.text_opt("last_error")?,
        created: time("created_at_ms")?,
        updated: time("updated_at_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::{LAST_ERROR_CHARS_MAX, bounded};

    #[test]
    fn a_long_error_is_cut_on_a_character_boundary() {
        assert_eq!(bounded("short"), "short");
        let long = "é".repeat(LAST_ERROR_CHARS_MAX + 5);
        assert_eq!(bounded(&long).chars().count(), LAST_ERROR_CHARS_MAX);
        assert_eq!(bounded(&long[..2 * LAST_ERROR_CHARS_MAX]), &long[..2 * LAST_ERROR_CHARS_MAX]);
    }
}
