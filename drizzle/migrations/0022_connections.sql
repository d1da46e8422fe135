CREATE TABLE "watchtower_connections" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"host" text,
	"port" integer,
	"db" integer,
	"tls" boolean DEFAULT false NOT NULL,
	"username" text,
	"key_prefix" text,
	"nodes" jsonb,
	"sentinel_name" text,
	"password_sealed" text,
	"url_sealed" text,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text NOT NULL,
	"created_by_name" text DEFAULT '' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text NOT NULL,
	"updated_by_name" text DEFAULT '' NOT NULL,
	CONSTRAINT "watchtower_connections_kind" CHECK ("watchtower_connections"."kind" in ('redis', 'redis-cluster', 'redis-sentinel', 'postgres')),
	CONSTRAINT "watchtower_connections_port" CHECK ("watchtower_connections"."port" is null or "watchtower_connections"."port" between 1 and 65535),
	CONSTRAINT "watchtower_connections_sealed" CHECK (("watchtower_connections"."password_sealed" is null or "watchtower_connections"."password_sealed" ~ '^v1\.[0-9a-f]{8}\.') and ("watchtower_connections"."url_sealed" is null or "watchtower_connections"."url_sealed" ~ '^v1\.[0-9a-f]{8}\.')),
	CONSTRAINT "watchtower_connections_postgres_url" CHECK ("watchtower_connections"."kind" <> 'postgres' or "watchtower_connections"."url_sealed" is not null)
);
--> statement-breakpoint
CREATE UNIQUE INDEX "watchtower_connections_name" ON "watchtower_connections" USING btree ("name");