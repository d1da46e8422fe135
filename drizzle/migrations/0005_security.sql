CREATE TABLE "watchtower_api_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"token_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"created_by" text NOT NULL,
	"created_by_name" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "watchtower_api_tokens_role" CHECK ("watchtower_api_tokens"."role" in ('viewer', 'operator', 'admin'))
);
--> statement-breakpoint
CREATE TABLE "watchtower_audit_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "watchtower_audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_kind" text NOT NULL,
	"actor_id" text NOT NULL,
	"actor_name" text DEFAULT '' NOT NULL,
	"action" text NOT NULL,
	"target_type" text NOT NULL,
	"target_id" text,
	"result" text NOT NULL,
	"command_id" text,
	"details" jsonb,
	"ip" text,
	"user_agent" text
);
--> statement-breakpoint
CREATE TABLE "watchtower_login_attempts" (
	"key" text NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "watchtower_login_attempts_key_window_start_pk" PRIMARY KEY("key","window_start")
);
--> statement-breakpoint
CREATE TABLE "watchtower_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"ip" text,
	"user_agent" text
);
--> statement-breakpoint
CREATE TABLE "watchtower_users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"name" text DEFAULT '' NOT NULL,
	"role" text DEFAULT 'viewer' NOT NULL,
	"password_hash" text,
	"disabled" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_login_at" timestamp with time zone,
	CONSTRAINT "watchtower_users_email_lower" CHECK ("watchtower_users"."email" = lower("watchtower_users"."email")),
	CONSTRAINT "watchtower_users_role" CHECK ("watchtower_users"."role" in ('viewer', 'operator', 'admin'))
);
--> statement-breakpoint
ALTER TABLE "watchtower_sessions" ADD CONSTRAINT "watchtower_sessions_user_id_watchtower_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."watchtower_users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "watchtower_api_tokens_hash" ON "watchtower_api_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "watchtower_api_tokens_recent" ON "watchtower_api_tokens" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_audit_log_actor" ON "watchtower_audit_log" USING btree ("actor_kind","actor_id","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_audit_log_action" ON "watchtower_audit_log" USING btree ("action","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_audit_log_target" ON "watchtower_audit_log" USING btree ("target_type","target_id","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_audit_log_at" ON "watchtower_audit_log" USING btree ("at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_audit_log_command" ON "watchtower_audit_log" USING btree ("command_id") WHERE "watchtower_audit_log"."command_id" is not null;--> statement-breakpoint
CREATE INDEX "watchtower_login_attempts_window" ON "watchtower_login_attempts" USING btree ("window_start");--> statement-breakpoint
CREATE INDEX "watchtower_sessions_user" ON "watchtower_sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "watchtower_sessions_expiry" ON "watchtower_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "watchtower_users_email" ON "watchtower_users" USING btree ("email");