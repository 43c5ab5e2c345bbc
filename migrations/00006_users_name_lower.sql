-- Registration refuses a name that differs from an existing one only in
-- case (rows written before names were canonical may be mixed case), with
-- WHERE lower(name) = lower($1). Without this index that check reads the
-- whole table on every registration. The index is not unique: a table from
-- before canonical names may already hold such pairs, and both keep
-- logging in.

-- +goose Up
CREATE INDEX users_name_lower_idx ON users (lower(name));

-- +goose Down
DROP INDEX users_name_lower_idx;
