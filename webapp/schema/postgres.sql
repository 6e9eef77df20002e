-- The web app's one table (the classic lab's createIPTable.sql). Safe to run any number of times.
CREATE TABLE IF NOT EXISTS hits (
    id                BIGSERIAL    PRIMARY KEY,
    hit_id            CHAR(32)     NOT NULL UNIQUE,  -- uuid4 hex: a retried write keeps one row
    client_ip         VARCHAR(255) NOT NULL,
    user_agent        VARCHAR(1024) NOT NULL,
    hit_time          TIMESTAMP(6) NOT NULL,  -- UTC
    instance_id       VARCHAR(64)  NOT NULL,
    availability_zone VARCHAR(64)  NOT NULL
);
CREATE INDEX IF NOT EXISTS hits_hit_time_idx ON hits (hit_time);
