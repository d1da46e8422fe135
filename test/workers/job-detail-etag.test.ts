import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { adminHeaders, bearer, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { job, Seed, type SeededJob } from './support/seed';

/**
 * The job page polls GET /api/jobs/{id}: with the ETag an unchanged job is a body-less 304, so a
 * payload of several MB is read by the browser once, not at every poll.
 */
let database: NeonDatabaseHandle;
let seed: Seed;
let seeded: SeededJob;
const queue = unique('etag-q');
const big = 'p'.repeat(2 * 1024 * 1024);

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  [seeded] = (await seed.jobs([
    job(queue, 'big-one', { payload: { text: big }, dataSize: big.length + 11 }),
  ])) as [SeededJob];
});

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

describe('GET /api/jobs/{id} with an ETag', () => {
  it('answers 304 without a body to the current ETag, and the new job once it changed', async () => {
    const first = await call(`/api/jobs/${seeded.id}`, { headers: adminHeaders() });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^(W\/)?"[^"]+"$/);
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    expect(((await first.json()) as { payload: { text: string } }).payload.text).toBe(big);

    const again = await call(`/api/jobs/${seeded.id}`, {
      headers: { ...adminHeaders(), 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');

    // A viewer reads it too, and gets the same 304.
    const viewer = await createToken('viewer');
    const asViewer = await call(`/api/jobs/${seeded.id}`, {
      headers: { ...bearer(viewer.token), 'if-none-match': etag },
    });
    expect(asViewer.status).toBe(304);

    await database.db.execute(
      sql`update watchtower_jobs set status = 'failed', exception = 'changed' where id = ${seeded.id}`,
    );
    const changed = await call(`/api/jobs/${seeded.id}`, {
      headers: { ...adminHeaders(), 'if-none-match': etag },
    });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(await changed.json()).toMatchObject({ status: 'failed', exception: 'changed' });
  });

  it('still refuses bad input and strangers, whatever the If-None-Match', async () => {
    const bad = await call('/api/jobs/not-a-number', {
      headers: { ...adminHeaders(), 'if-none-match': '*' },
    });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBeTruthy();
    const missing = await call('/api/jobs/999999999', {
      headers: { ...adminHeaders(), 'if-none-match': '*' },
    });
    expect(missing.status).toBe(404);
    const stranger = await call(`/api/jobs/${seeded.id}`, { headers: { 'if-none-match': '*' } });
    expect(stranger.status).toBe(401);
  });
});
