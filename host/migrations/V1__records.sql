-- Every table's records in one relation (`plaza::store::postgres`): `tbl` is the table's
-- name (`Table::name`), `k` the record's key, `v` the record (JSON, or a counter's 8
-- big-endian bytes). A table Plaza adds needs no migration.
CREATE TABLE plaza_records (
    tbl TEXT NOT NULL,
    k BYTEA NOT NULL,
    v BYTEA NOT NULL,
    PRIMARY KEY (tbl, k)
);
