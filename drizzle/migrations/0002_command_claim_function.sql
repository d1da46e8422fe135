-- The database command bus's claim, as one function so a host claims for all its targets in one
-- round trip. Inside a volatile plpgsql function each statement takes a fresh snapshot, so the
-- per-target advisory locks taken first make the claim below see every earlier claim of those
-- targets: two hosts never split one target's commands out of order.
CREATE OR REPLACE FUNCTION watchtower_claim_commands(
  p_targets jsonb,
  p_claimer text,
  p_lease_seconds double precision,
  p_limit integer
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
  candidates AS (
    SELECT c.id
    FROM watchtower_commands c JOIN targets t ON c.target_kind = t.kind AND c.target_id = t.id
    WHERE (c.status = 'pending' OR (c.status = 'claimed' AND c.lease_until <= now()))
      AND c.expires_at > now()
      AND NOT EXISTS (
        SELECT 1 FROM busy b WHERE b.target_kind = c.target_kind AND b.target_id = c.target_id
      )
    ORDER BY c.seq
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
