CREATE TABLE "watchtower_metrics_hourly" (
	"hour" timestamp with time zone NOT NULL,
	"connection" text DEFAULT 'default' NOT NULL,
	"queue" text NOT NULL,
	"queued" bigint DEFAULT 0 NOT NULL,
	"completed" bigint DEFAULT 0 NOT NULL,
	"failed" bigint DEFAULT 0 NOT NULL,
	"retried" bigint DEFAULT 0 NOT NULL,
	"run_ms_sum" double precision DEFAULT 0 NOT NULL,
	"run_ms_max" double precision DEFAULT 0 NOT NULL,
	"wait_ms_sum" double precision DEFAULT 0 NOT NULL,
	"wait_ms_max" double precision DEFAULT 0 NOT NULL,
	"depth" bigint,
	"rolled_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "watchtower_metrics_hourly_hour_connection_queue_pk" PRIMARY KEY("hour","connection","queue")
);
