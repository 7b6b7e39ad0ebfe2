-- The job queue: background work as rows, written in the same transaction as the change
-- that caused it (the outbox) and claimed by workers on any instance.
--
-- A job is `pending` until a worker claims it, `running` while the claim's lease holds,
-- and deleted when it succeeds (nothing is left to do; what it did is recorded where it
-- did it). After its last failed attempt it stays as `dead`, with the error, for an
-- operator to read. `attempts` counts claims, so (id, attempts) names one claim: a worker
-- whose lease ran out cannot finish a job another worker has claimed since.
--
-- `singleton_key` keeps at most one live (pending or running) copy of a job: a recurring
-- job uses its kind, so instances that each schedule it do not pile up copies. A dead job
-- gives its key up.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    singleton_key TEXT UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'dead')),
    attempts BIGINT NOT NULL CHECK (attempts >= 0),
    attempts_max BIGINT NOT NULL CHECK (attempts_max >= 1),
    run_at_ms BIGINT NOT NULL,
    lease_until_ms BIGINT,
    last_error TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    CHECK ((status = 'running') = (lease_until_ms IS NOT NULL)),
    CHECK (status <> 'dead' OR singleton_key IS NULL)
);

-- The claim scans live jobs by due time; dead ones never match, so they stay out of it.
CREATE INDEX jobs_by_due_time ON jobs (run_at_ms, id) WHERE status IN ('pending', 'running');
