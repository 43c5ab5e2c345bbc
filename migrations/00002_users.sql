-- Users for AuthFormProvider dbd and the site's register/password pages.
-- password is a bcrypt hash.

-- +goose Up
CREATE TABLE users (
    name       varchar(255) PRIMARY KEY,
    password   text         NOT NULL,
    created_at timestamptz  NOT NULL DEFAULT now(),
    updated_at timestamptz  NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE users;
