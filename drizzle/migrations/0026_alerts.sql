CREATE TABLE "watchtower_alert_channels" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"url_sealed" text,
	"secret_sealed" text,
	"email_to" jsonb,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text NOT NULL,
	"created_by_name" text DEFAULT '' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text NOT NULL,
	"updated_by_name" text DEFAULT '' NOT NULL,
	CONSTRAINT "watchtower_alert_channels_kind" CHECK ("watchtower_alert_channels"."kind" in ('slack', 'webhook', 'email')),
	CONSTRAINT "watchtower_alert_channels_sealed" CHECK (("watchtower_alert_channels"."url_sealed" is null or "watchtower_alert_channels"."url_sealed" ~ '^v1\.[0-9a-f]{8}\.') and ("watchtower_alert_channels"."secret_sealed" is null or "watchtower_alert_channels"."secret_sealed" ~ '^v1\.[0-9a-f]{8}\.'))
);
--> statement-breakpoint
CREATE TABLE "watchtower_alert_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"channel_id" uuid NOT NULL,
	"channel_name" text NOT NULL,
	"event_id" bigint,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_attempt_at" timestamp with time zone,
	"last_status" integer,
	"last_error" text,
	"payload" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "watchtower_alert_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"rule_id" uuid NOT NULL,
	"rule_name" text NOT NULL,
	"kind" text NOT NULL,
	"subject" text NOT NULL,
	"event" text NOT NULL,
	"value" double precision,
	"message" text NOT NULL,
	"silence_id" uuid
);
--> statement-breakpoint
CREATE TABLE "watchtower_alert_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"scope" jsonb NOT NULL,
	"params" jsonb NOT NULL,
	"for_evaluations" integer DEFAULT 2 NOT NULL,
	"renotify_minutes" integer DEFAULT 60 NOT NULL,
	"channel_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text NOT NULL,
	"created_by_name" text DEFAULT '' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text NOT NULL,
	"updated_by_name" text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "watchtower_alert_silences" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"rule_id" uuid,
	"scope" jsonb,
	"starts_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"reason" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text NOT NULL,
	"created_by_name" text DEFAULT '' NOT NULL,
	CONSTRAINT "watchtower_alert_silences_target" CHECK (("watchtower_alert_silences"."rule_id" is null) <> ("watchtower_alert_silences"."scope" is null))
);
--> statement-breakpoint
CREATE TABLE "watchtower_alerts" (
	"rule_id" uuid NOT NULL,
	"subject" text NOT NULL,
	"state" text DEFAULT 'ok' NOT NULL,
	"bad_streak" integer DEFAULT 0 NOT NULL,
	"good_streak" integer DEFAULT 0 NOT NULL,
	"value" double precision,
	"message" text DEFAULT '' NOT NULL,
	"fired_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"notified_at" timestamp with time zone,
	"memory" jsonb,
	"evaluated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "watchtower_alerts_rule_id_subject_pk" PRIMARY KEY("rule_id","subject")
);
--> statement-breakpoint
ALTER TABLE "watchtower_alerts" ADD CONSTRAINT "watchtower_alerts_rule_id_watchtower_alert_rules_id_fk" FOREIGN KEY ("rule_id") REFERENCES "public"."watchtower_alert_rules"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "watchtower_alert_channels_name" ON "watchtower_alert_channels" USING btree ("name");--> statement-breakpoint
CREATE INDEX "watchtower_alert_deliveries_due" ON "watchtower_alert_deliveries" USING btree ("next_attempt_at") WHERE "watchtower_alert_deliveries"."status" = 'pending' or "watchtower_alert_deliveries"."status" = 'sending';--> statement-breakpoint
CREATE INDEX "watchtower_alert_deliveries_channel" ON "watchtower_alert_deliveries" USING btree ("channel_id","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_alert_events_rule" ON "watchtower_alert_events" USING btree ("rule_id","id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "watchtower_alert_rules_name" ON "watchtower_alert_rules" USING btree ("name");--> statement-breakpoint
CREATE INDEX "watchtower_alert_silences_ends" ON "watchtower_alert_silences" USING btree ("ends_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_alerts_firing" ON "watchtower_alerts" USING btree ("fired_at" DESC NULLS LAST) WHERE "watchtower_alerts"."state" = 'firing';