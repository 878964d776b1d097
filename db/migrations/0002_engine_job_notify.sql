-- Wake idle engine workers as soon as a job is queued or moved, instead of waiting for their poll.
CREATE OR REPLACE FUNCTION engine_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('wire_engine_jobs', '');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER engine_jobs_notify AFTER INSERT OR UPDATE OF run_at ON engine_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION engine_jobs_notify();
