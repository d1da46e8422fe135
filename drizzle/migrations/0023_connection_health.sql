CREATE TABLE "watchtower_connection_health" (
	"minute" timestamp with time zone NOT NULL,
	"host_id" text NOT NULL,
	"connection" text NOT NULL,
	"kind" text NOT NULL,
	"checks" integer NOT NULL,
	"errors" integer NOT NULL,
	"up" boolean NOT NULL,
	"latency_p50_ms" double precision,
	"latency_p95_ms" double precision,
	"last_error" text,
	"redis_version" text,
	"used_memory" bigint,
	"maxmemory" bigint,
	"maxmemory_policy" text,
	"connected_clients" integer,
	CONSTRAINT "watchtower_connection_health_minute_host_id_connection_pk" PRIMARY KEY("minute","host_id","connection")
);
--> statement-breakpoint
CREATE INDEX "watchtower_connection_health_latest" ON "watchtower_connection_health" USING btree ("host_id","connection","minute" DESC NULLS LAST);