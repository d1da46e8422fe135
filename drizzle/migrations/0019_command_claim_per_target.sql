-- The claim learns `p_per_target`: at most that many commands of each target per claim (NULL: no
-- limit but p_limit). A host runs a target's commands one after another, so it asks for one: a
-- command is claimed only when it can start, instead of waiting in the host under a lease that may
-- lapse (and be handed to another host) while a long command runs before it. The four-argument
-- function goes; calls with four arguments reach this one through the default.
DROP FUNCTION IF EXISTS watchtower_claim_commands(jsonb, text, double precision, integer);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION watchtower_claim_commands(
  p_targets jsonb,
  p_claimer text,
  p_lease_seconds double precision,
  p_limit integer,
  p_per_target integer DEFAULT NULL
) RETURNS SETOF watchtower_commands
LANGUAGE plpgsql AS $$
BEGIN
  -- Sorted, so two claimers with overlapping targets take the locks in the same order (no deadlock).
  PERFORM pg_advisory_xact_lock(l.k)
  FROM (
    SELECT DISTINCT hashtextextended(x.kind || ':' || x.id, 7406221) AS k
    FROM jsonb_to_recordset(p_targets) AS x(kind text, id text)
  ) l
  ORDER BY l.k;

  -- Overdue commands of these targets end as expired: never handed out after their TTL.
  UPDATE watchtower_commands c
  SET status = 'expired', finished_at = now(), lease_until = NULL
  FROM jsonb_to_recordset(p_targets) AS t(kind text, id text)
  WHERE c.target_kind = t.kind AND c.target_id = t.id
    AND c.status IN ('pending', 'claimed')
    AND c.expires_at <= now()
    AND (c.status = 'pending' OR c.lease_until <= now());

  RETURN QUERY
  WITH targets AS (
    SELECT DISTINCT x.kind, x.id FROM jsonb_to_recordset(p_targets) AS x(kind text, id text)
  ),
  busy AS (
    -- A target whose command is held under a live lease hands out nothing until it is answered.
    SELECT DISTINCT c.target_kind, c.target_id
    FROM watchtower_commands c JOIN targets t ON c.target_kind = t.kind AND c.target_id = t.id
    WHERE c.status = 'claimed' AND c.lease_until > now()
  ),
  ranked AS (
    -- Each target's claimable commands in the order they were sent, numbered per target.
    SELECT c.id, c.seq,
           row_number() OVER (PARTITION BY c.target_kind, c.target_id ORDER BY c.seq) AS n
    FROM watchtower_commands c JOIN targets t ON c.target_kind = t.kind AND c.target_id = t.id
    WHERE (c.status = 'pending' OR (c.status = 'claimed' AND c.lease_until <= now()))
      AND c.expires_at > now()
      AND NOT EXISTS (
        SELECT 1 FROM busy b WHERE b.target_kind = c.target_kind AND b.target_id = c.target_id
      )
  ),
  candidates AS (
    -- Row locks cannot be taken next to a window function: taken here, on the rows picked above.
    SELECT c.id
    FROM watchtower_commands c JOIN ranked r ON r.id = c.id
    WHERE p_per_target IS NULL OR r.n <= p_per_target
    ORDER BY r.seq
    LIMIT p_limit
    FOR UPDATE OF c SKIP LOCKED
  )
  UPDATE watchtower_commands c
  SET status = 'claimed',
      claimed_by = p_claimer,
      claimed_at = now(),
      lease_until = now() + make_interval(secs => p_lease_seconds),
      claim_token = gen_random_uuid(),
      deliveries = c.deliveries + 1
  FROM candidates
  WHERE c.id = candidates.id
  RETURNING c.*;
END;
$$;
