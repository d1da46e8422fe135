CREATE TABLE "watchtower_recorder_cursors" (
	"connection" text NOT NULL,
	"queue" text NOT NULL,
	"last_event_id" text,
	"swept_until" timestamp with time zone,
	"owner" text,
	"lease_until" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "watchtower_recorder_cursors_connection_queue_pk" PRIMARY KEY("connection","queue")
);
