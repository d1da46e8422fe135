CREATE TABLE "watchtower_config_version" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "watchtower_config_version_one_row" CHECK ("watchtower_config_version"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "watchtower_supervisor_configs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"connection_id" uuid NOT NULL,
	"queues" text[] NOT NULL,
	"min_processes" integer NOT NULL,
	"max_processes" integer NOT NULL,
	"balance" text NOT NULL,
	"concurrency" integer NOT NULL,
	"tries" integer NOT NULL,
	"timeout" double precision NOT NULL,
	"memory" integer NOT NULL,
	"sleep" double precision NOT NULL,
	"rest" double precision NOT NULL,
	"processors" jsonb NOT NULL,
	"labels" text[] DEFAULT '{}'::text[] NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text NOT NULL,
	"created_by_name" text DEFAULT '' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text NOT NULL,
	"updated_by_name" text DEFAULT '' NOT NULL,
	CONSTRAINT "watchtower_supervisor_configs_balance" CHECK ("watchtower_supervisor_configs"."balance" in ('simple', 'auto')),
	CONSTRAINT "watchtower_supervisor_configs_processes" CHECK ("watchtower_supervisor_configs"."min_processes" >= 0 and "watchtower_supervisor_configs"."max_processes" >= 1 and "watchtower_supervisor_configs"."max_processes" >= "watchtower_supervisor_configs"."min_processes" * cardinality("watchtower_supervisor_configs"."queues"))
);
--> statement-breakpoint
ALTER TABLE "watchtower_supervisor_configs" ADD CONSTRAINT "watchtower_supervisor_configs_connection_id_watchtower_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."watchtower_connections"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "watchtower_supervisor_configs_name" ON "watchtower_supervisor_configs" USING btree ("name");--> statement-breakpoint
CREATE INDEX "watchtower_supervisor_configs_connection" ON "watchtower_supervisor_configs" USING btree ("connection_id");