CREATE TABLE "watchtower_recorder_dead_letters" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "watchtower_recorder_dead_letters_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"host_id" text NOT NULL,
	"connection" text NOT NULL,
	"queue" text NOT NULL,
	"job_id" text NOT NULL,
	"kind" text NOT NULL,
	"attempt" integer,
	"row" text NOT NULL,
	"row_truncated" boolean DEFAULT false NOT NULL,
	"error" text NOT NULL,
	"sqlstate" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "watchtower_recorder_dead_letters_row" ON "watchtower_recorder_dead_letters" USING btree (md5("row"));--> statement-breakpoint
CREATE INDEX "watchtower_recorder_dead_letters_host" ON "watchtower_recorder_dead_letters" USING btree ("host_id","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_recorder_dead_letters_queue" ON "watchtower_recorder_dead_letters" USING btree ("connection","queue","id" DESC NULLS LAST);