CREATE TABLE "watchtower_connection_tests" (
	"connection_id" uuid PRIMARY KEY NOT NULL,
	"tested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"host_id" text NOT NULL,
	"ok" boolean NOT NULL,
	"latency_ms" double precision,
	"server_version" text,
	"authenticated" boolean,
	"error" text
);
--> statement-breakpoint
ALTER TABLE "watchtower_connection_tests" ADD CONSTRAINT "watchtower_connection_tests_connection_id_watchtower_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."watchtower_connections"("id") ON DELETE cascade ON UPDATE no action;