-- Keys the server makes for itself on first use, e.g. the one that signs resume tokens.
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
