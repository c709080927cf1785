-- Listening-study schema. Portable SQL (SQLite and PostgreSQL): no AUTOINCREMENT, no
-- SQLite-only statements; times are epoch milliseconds (BIGINT), flags are 0/1 integers.

CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,           -- random 128-bit id, kept in the signed cookie
    study_id TEXT NOT NULL,
    rater_hash TEXT NOT NULL,              -- HMAC(secret, platform id), or HMAC(secret, session_id)
    platform_id_hash TEXT,                 -- NULL for anonymous participants
    platform_study TEXT NOT NULL DEFAULT '',
    platform_session TEXT NOT NULL DEFAULT '',
    plan_index INTEGER NOT NULL,           -- k, the participant's row in the counterbalancing
    csrf_token TEXT NOT NULL,
    completion_code TEXT NOT NULL,
    n_trials INTEGER NOT NULL,
    next_trial INTEGER NOT NULL DEFAULT 0, -- first unanswered trial
    user_agent TEXT NOT NULL DEFAULT '',
    created_ms BIGINT NOT NULL,
    consent_ms BIGINT,
    setup_ms BIGINT,                       -- volume check and headphone screening finished
    completed_ms BIGINT,
    UNIQUE (study_id, platform_id_hash),
    UNIQUE (study_id, plan_index)
);

CREATE TABLE IF NOT EXISTS audio_tokens (
    token TEXT PRIMARY KEY,                -- opaque, random; the only thing the page sees
    session_id TEXT NOT NULL REFERENCES sessions (session_id),
    kind TEXT NOT NULL CHECK (kind IN ('trial', 'headphone', 'calibration')),
    ref TEXT NOT NULL,                     -- stimulus path (relative to the manifest) or tone order
    duration_ms INTEGER NOT NULL,
    fetched_ms BIGINT,
    play_started_ms BIGINT,                -- start of the current, not yet ended, playback
    plays_completed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS audio_tokens_session ON audio_tokens (session_id);

CREATE TABLE IF NOT EXISTS playback_events (
    event_id TEXT PRIMARY KEY,
    token TEXT NOT NULL REFERENCES audio_tokens (token),
    event TEXT NOT NULL CHECK (event IN ('play', 'pause', 'ended')),
    client_ms INTEGER,                     -- media position the page reported
    coverage REAL,                         -- fraction of the clip in played TimeRanges (ended)
    server_ms BIGINT NOT NULL,
    accepted INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS playback_events_token ON playback_events (token);

CREATE TABLE IF NOT EXISTS trials (
    session_id TEXT NOT NULL REFERENCES sessions (session_id),
    position INTEGER NOT NULL,
    item TEXT NOT NULL,
    system_a TEXT NOT NULL,
    system_b TEXT NOT NULL,
    pair_x TEXT NOT NULL,
    pair_y TEXT NOT NULL,
    catch_kind TEXT NOT NULL DEFAULT '',
    token_a TEXT NOT NULL REFERENCES audio_tokens (token),
    token_b TEXT NOT NULL REFERENCES audio_tokens (token),
    shown_ms BIGINT,
    PRIMARY KEY (session_id, position)
);

CREATE TABLE IF NOT EXISTS judgments (
    session_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    preference TEXT NOT NULL CHECK (preference IN ('A', 'B')),
    ratings TEXT NOT NULL,                 -- JSON object {"ID_a": n, ..., "ID_b": n} of the study's questions
    plays_a INTEGER NOT NULL,
    plays_b INTEGER NOT NULL,
    answered_ms BIGINT NOT NULL,
    PRIMARY KEY (session_id, position),
    FOREIGN KEY (session_id, position) REFERENCES trials (session_id, position)
);

CREATE TABLE IF NOT EXISTS screening (
    session_id TEXT NOT NULL REFERENCES sessions (session_id),
    position INTEGER NOT NULL,
    token TEXT NOT NULL REFERENCES audio_tokens (token),
    correct INTEGER NOT NULL CHECK (correct BETWEEN 1 AND 3),
    answer INTEGER CHECK (answer BETWEEN 1 AND 3),
    answered_ms BIGINT,
    PRIMARY KEY (session_id, position)
);

-- Participants the study owner revoked or who withdrew (listening_test participant ...): their
-- sessions and platform links get 403. Keyed by rater_hash, so it outlives a withdrawn session.
CREATE TABLE IF NOT EXISTS revoked (
    study_id TEXT NOT NULL,
    rater_hash TEXT NOT NULL,
    revoked_ms BIGINT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (study_id, rater_hash)
);
