-- The classifier's own schema: one decision per message (its latest revision), with the
-- evidence, queryable by the columns operators filter on.
CREATE TABLE classifications (
	message_id    text PRIMARY KEY,
	revision      integer NOT NULL,
	source        text NOT NULL,
	incident      boolean NOT NULL,
	topic         text NOT NULL,
	subtopic      text,
	municipality  text,
	urgency       text NOT NULL,
	model_version text NOT NULL,
	classified_at timestamptz NOT NULL,
	record        jsonb NOT NULL -- the classified.v1 "classification" object
);

CREATE INDEX classifications_topic ON classifications (topic, municipality) WHERE incident;
CREATE INDEX classifications_at ON classifications (classified_at);
