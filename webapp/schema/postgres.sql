-- The web app's tables (hits: the classic lab's createIPTable.sql). Safe to run any number of times.
CREATE TABLE IF NOT EXISTS hits (
    id                BIGSERIAL    PRIMARY KEY,
    hit_id            CHAR(32)     NOT NULL UNIQUE,  -- time-ordered random hex: a retried write keeps one row
    client_ip         VARCHAR(255) NOT NULL,
    user_agent        VARCHAR(1024) NOT NULL,
    hit_time          TIMESTAMP(6) NOT NULL,  -- UTC
    instance_id       VARCHAR(64)  NOT NULL,
    availability_zone VARCHAR(64)  NOT NULL
);
CREATE INDEX IF NOT EXISTS hits_hit_time_idx ON hits (hit_time);
-- How many hits each app process wrote in each second (published at most once a second):
-- the page's "last five minutes" sums at most 300 rows per process, whatever the size of hits.
CREATE TABLE IF NOT EXISTS hit_counts (
    bucket            TIMESTAMP(0) NOT NULL,  -- UTC, the second the hits were taken in
    writer            VARCHAR(100) NOT NULL,  -- instance id / process id
    hits              BIGINT       NOT NULL,
    PRIMARY KEY (bucket, writer)
);
