-- 001-initial.sql: the connect-fcgi schema, version 1 (issue 16; doc/architecture.md, "PostgreSQL").
-- Applied by `acctl store migrate` in one transaction, which then records version 1 in
-- ac_schema_migrations. Times are epoch seconds (bigint) from the hosts' clocks, as in the LMDB
-- store: keep the hosts' clocks in sync (NTP), as Atlassian's tokens require anyway.

-- Keys are COLLATE "C": key order (tenant foreach, install-key purge, token prefixes) is byte
-- order, as in LMDB, whatever the database's collation.

-- Tenants: one row per clientKey; record is the JSON of ac_tenant_to_json (as LMDB keeps it).
CREATE TABLE ac_tenants (
	client_key      text COLLATE "C" PRIMARY KEY,
	record          text NOT NULL,
	installation_id text,              -- the record's installationId, for the Forge link
	updated_at      bigint NOT NULL
);
CREATE INDEX ac_tenants_installation ON ac_tenants (installation_id) WHERE installation_id IS NOT NULL;

-- Jira signed-install public keys by kid, and remembered failures / fetches under way.
CREATE TABLE ac_install_keys (
	kid            text COLLATE "C" PRIMARY KEY,
	pem            text,               -- NULL: no key (see missing)
	missing        bigint NOT NULL DEFAULT 0, -- HTTP status of the failure; 0 no answer or a fetch under way
	missing_until  bigint NOT NULL DEFAULT 0,
	at             bigint NOT NULL
);

-- Fetch budgets shared by every process of every host ("install-keys": per window).
CREATE TABLE ac_fetch_budget (
	name          text PRIMARY KEY,
	window_start  bigint NOT NULL,
	used          integer NOT NULL
);

-- Access tokens: "bb:{clientKey}" or "jira:{clientKey} ..." -> token or the failure of the last grant.
CREATE TABLE ac_tokens (
	key           text COLLATE "C" PRIMARY KEY,
	client_key    text NOT NULL,
	access_token  text,
	scopes        text NOT NULL DEFAULT '',
	expires_at    bigint NOT NULL DEFAULT 0,
	obtained_at   bigint NOT NULL DEFAULT 0,
	failed_at_ms  bigint NOT NULL DEFAULT 0,
	failure       text NOT NULL DEFAULT ''  -- ac_err_code of the failure ("grant_refused", "upstream_error")
);
CREATE INDEX ac_tokens_client_key ON ac_tokens (client_key);

-- Handler notes: what a handler did once.
CREATE TABLE ac_notes (
	key  text COLLATE "C" PRIMARY KEY,
	at   bigint NOT NULL
);

-- Lifecycle tokens accepted, until they expire (replay protection).
CREATE TABLE ac_lifecycle_seen (
	exp         bigint NOT NULL,
	token_sha   bytea NOT NULL CHECK (length(token_sha) = 32),
	body        text,
	client_key  text,
	event       text,
	iat         bigint NOT NULL DEFAULT 0,
	at          bigint NOT NULL,
	PRIMARY KEY (exp, token_sha)
);

-- Forge installations (record: the JSON the LMDB backend keeps; client_key, first_seen and last_seen
-- are the columns, which a refresh keeps without reading the record), their app system tokens apart
-- (no listing of installations reads a token), and the one JWKS document with its fetch state.
CREATE TABLE ac_forge_installations (
	installation_id  text COLLATE "C" PRIMARY KEY,
	record           text NOT NULL,
	client_key       text,
	first_seen       bigint NOT NULL,
	last_seen        bigint NOT NULL
);
CREATE TABLE ac_forge_tokens (
	installation_id  text PRIMARY KEY,
	token            text NOT NULL,
	exp              bigint NOT NULL,
	received_at      bigint NOT NULL
);
CREATE TABLE ac_forge_jwks (
	id          integer PRIMARY KEY CHECK (id = 1),
	doc         text,
	fetched_at  bigint NOT NULL DEFAULT 0,
	attempt_at  bigint NOT NULL DEFAULT 0,
	attempt     integer NOT NULL DEFAULT 0  -- 1 ok, 0 failed, -1 under way
);

-- The inbox: accepted events, in order of acceptance (seq), until handled; dead: those that
-- failed every retry. A lease names its owner (lease.h) and ends at lease_until.
CREATE TABLE ac_inbox (
	seq           bigserial PRIMARY KEY,
	client_key    text NOT NULL,
	event_key     text NOT NULL,
	delivery_id   text NOT NULL DEFAULT '',
	body          bytea NOT NULL,
	received_at   bigint NOT NULL,
	attempts      integer NOT NULL DEFAULT 0,
	next_at       bigint NOT NULL,
	last_error    text NOT NULL DEFAULT '',
	lease_until   bigint NOT NULL DEFAULT 0,
	owner_id      bytea,
	owner_boot    bytea,
	owner_pidns   bigint NOT NULL DEFAULT 0,
	owner_start   bigint NOT NULL DEFAULT 0,
	owner_pid     integer NOT NULL DEFAULT 0,
	owner_host    text NOT NULL DEFAULT ''
);
-- the head of each tenant's queue, and what is due
CREATE INDEX ac_inbox_tenant ON ac_inbox (client_key, seq);
CREATE INDEX ac_inbox_due ON ac_inbox (next_at, seq);

CREATE TABLE ac_dead (LIKE ac_inbox INCLUDING DEFAULTS);
ALTER TABLE ac_dead ADD PRIMARY KEY (seq);
ALTER TABLE ac_dead ALTER COLUMN seq DROP DEFAULT;

-- Delivery ids seen, per tenant, for a day: the dedupe of the intake is this unique key.
CREATE TABLE ac_deliveries (
	client_key   text NOT NULL,
	delivery_id  text NOT NULL,
	seq          bigint NOT NULL,
	at           bigint NOT NULL,
	PRIMARY KEY (client_key, delivery_id)
);
CREATE INDEX ac_deliveries_at ON ac_deliveries (at);
