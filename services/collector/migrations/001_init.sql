-- The collector's own schema: every message it accepted, once, and the outbox state that
-- gets it onto messages.raw; the pollers' cursors.

-- One row per (source, external_id): `id` is "source:external_id" (a source name has no ':'),
-- so the primary key is that pair's uniqueness. It is also the Kafka key.
-- `record` is the message.v1 record exactly as published. A row is in the outbox while
-- published_revision < revision: an edit (revision + 1) puts it back.
CREATE TABLE messages (
	id                 text PRIMARY KEY,
	source             text NOT NULL,
	external_id        text NOT NULL,
	revision           integer NOT NULL DEFAULT 1,
	posted_at          timestamptz NOT NULL,
	received_at        timestamptz NOT NULL,
	record             jsonb NOT NULL,
	published_revision integer NOT NULL DEFAULT 0,
	published_at       timestamptz
);

CREATE INDEX messages_outbox ON messages (received_at) WHERE published_revision < revision;
CREATE INDEX messages_received ON messages (received_at);

-- Where each poller stopped: (source instance, key) -> opaque value the adapter understands
-- (a VK post id, a Telegram update offset, an ETag...).
CREATE TABLE cursors (
	source     text NOT NULL,
	key        text NOT NULL,
	value      text NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (source, key)
);
