ALTER TABLE "watchtower_hosts" ADD COLUMN "labels" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "watchtower_hosts" ADD COLUMN "database_config" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "watchtower_hosts" ADD COLUMN "config_version" bigint;--> statement-breakpoint
ALTER TABLE "watchtower_hosts" ADD COLUMN "config_error" text;--> statement-breakpoint
ALTER TABLE "watchtower_hosts" ADD COLUMN "encryption_key" boolean;