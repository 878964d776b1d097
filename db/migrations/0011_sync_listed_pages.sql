-- What a run's listing saw, a row a page instead of a row a key: a no-change sync of 100,000 keys writes 100
-- rows. Scratch data, as sync_listed was: not worth WAL (a crash that empties it is detected and removes nothing).
-- Runs in flight when this applies lose their scratch list: they remove nothing and say so.
CREATE UNLOGGED TABLE "sync_listed_pages" (
	"run_id" uuid NOT NULL,
	"page" integer NOT NULL,
	"listed" integer NOT NULL,
	"keys" text[] NOT NULL,
	CONSTRAINT "sync_listed_pages_pkey" PRIMARY KEY("run_id","page")
);
--> statement-breakpoint
DROP TABLE "sync_listed" CASCADE;
