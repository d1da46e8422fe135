import { randomBytes } from 'node:crypto';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startUpstashRest, type UpstashRest } from '../../scripts/local-only/upstash-rest';

const TOKEN = `test-${randomBytes(8).toString('hex')}`;
const prefix = `watchtower-test:${randomBytes(6).toString('hex')}:`;
const key = (name: string) => prefix + name;

let server: UpstashRest;
let redis: Redis;

beforeAll(async () => {
  server = await startUpstashRest({ port: 0, token: TOKEN, redisUrl: 'redis://127.0.0.1:6379' });
  redis = new Redis({ url: server.url, token: TOKEN, enableTelemetry: false });
});

afterAll(async () => {
  const keys = await redis?.keys(`${prefix}*`);
  if (keys && keys.length > 0) await redis.del(...keys);
  await server?.close();
});

describe('upstash REST stand-in', () => {
  it('sets with EX, gets and deletes', async () => {
    expect(await redis.set(key('a'), 'héllo ✓', { ex: 10 })).toBe('OK');
    expect(await redis.get(key('a'))).toBe('héllo ✓');
    const ttl = await redis.ttl(key('a'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10);
    expect(await redis.del(key('a'))).toBe(1);
    expect(await redis.get(key('a'))).toBeNull();
  });

  it('batches concurrent commands into /pipeline requests, reads apart from writes', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    try {
      // The client sends reads and writes of one tick as two concurrent pipelines, so a read in the
      // same tick as a write need not see it: the writes go first here.
      const writes = await Promise.all([
        redis.set(key('p1'), 'one'),
        redis.incr(key('p2')),
        redis.rpush(key('p3'), 'x', 'y'),
      ]);
      expect(writes).toEqual(['OK', 1, 2]);
      const reads = await Promise.all([
        redis.get(key('p1')),
        redis.get(key('nope')),
        redis.strlen(key('p1')),
      ]);
      expect(reads).toEqual(['one', null, 3]);
      // A few list-returning commands (LRANGE, HGETALL, ZRANGE, KEYS...) bypass auto-pipelining.
      expect(await redis.lrange(key('p3'), 0, -1)).toEqual(['x', 'y']);
      const paths = fetchSpy.mock.calls.map(([input]) => new URL(String(input)).pathname);
      expect(paths).toEqual(['/pipeline', '/pipeline', '/']);
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it('runs an explicit pipeline and reports a failing command', async () => {
    const results = await redis
      .pipeline()
      .hset(key('h'), { field: 'value', other: 'x' })
      .hgetall(key('h'))
      .zadd(key('z'), { score: 1.5, member: 'm' })
      .zrange(key('z'), 0, -1, { withScores: true })
      .exec();
    expect(results).toEqual([2, { field: 'value', other: 'x' }, 1, ['m', 1.5]]);

    await redis.set(key('text'), 'not a number');
    await expect(redis.incr(key('text'))).rejects.toThrow(/ERR value is not an integer/);
  });

  it('evaluates Lua returning nested arrays of strings and integers', async () => {
    const script = "return {KEYS[1], 7, {ARGV[1], -2, {'deep'}}, redis.call('SET', KEYS[1], ARGV[1])['ok']}";
    const result = await redis.eval(script, [key('lua')], ['arg ✓']);
    expect(result).toEqual([key('lua'), 7, ['arg ✓', -2, ['deep']], 'OK']);
    expect(await redis.get(key('lua'))).toBe('arg ✓');
  });

  it('falls back from EVALSHA to EVAL for a script Redis has not seen', async () => {
    const script = redis.createScript<number>(
      `-- ${randomBytes(8).toString('hex')}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`,
    );
    expect(await script.exec([key('sha')], ['5'])).toBe(5);
    expect(await script.evalsha([key('sha')], ['2'])).toBe(7);
    const sha = await redis.scriptLoad('return 42');
    expect(await redis.evalsha(sha, [], [])).toBe(42);
  });

  it('runs multi() as a MULTI/EXEC transaction', async () => {
    const tx = redis.multi();
    tx.set(key('m1'), 'v1');
    tx.incrby(key('m2'), 3);
    tx.get(key('m1'));
    tx.lpush(key('m3'), 'a', 'b');
    tx.lrange(key('m3'), 0, -1);
    expect(await tx.exec()).toEqual(['OK', 3, 'v1', 2, ['b', 'a']]);
  });

  it('reports a failing command inside multi() and refuses a transaction that cannot queue', async () => {
    await redis.set(key('tx-text'), 'not a number');
    const tx = redis.multi();
    tx.set(key('tx-ok'), 'kept');
    tx.incr(key('tx-text'));
    await expect(tx.exec()).rejects.toThrow(/Command 2 \[ incr \] failed: ERR value is not an integer/);
    // MULTI/EXEC runs every command even when one fails, as Redis does.
    expect(await redis.get(key('tx-ok'))).toBe('kept');

    const aborted = await fetch(`${server.url}/multi-exec`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify([['SET', key('tx-never'), 'x'], ['SET']]),
    });
    expect(aborted.status).toBe(400);
    expect(await aborted.json()).toEqual({
      error: expect.stringMatching(/^EXECABORT .*wrong number of arguments/),
    });
    expect(await redis.exists(key('tx-never'))).toBe(0);
  });

  it('gives a blocking command its own connection', async () => {
    const blocked = fetch(`${server.url}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(['BLPOP', key('queue'), '5']),
    });
    // Were BLPOP on the shared connection, this RPUSH would queue behind it until its timeout.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await redis.rpush(key('queue'), 'job')).toBe(1);
    const res = await blocked;
    expect(await res.json()).toEqual({ result: [key('queue'), 'job'] });
  });

  it('answers a command without auto-pipelining and without base64', async () => {
    const plain = new Redis({
      url: server.url,
      token: TOKEN,
      enableTelemetry: false,
      enableAutoPipelining: false,
      responseEncoding: false,
    });
    await plain.set(key('plain'), 'plain ✓');
    expect(await plain.get(key('plain'))).toBe('plain ✓');
    expect(await plain.mget(key('plain'), key('absent'))).toEqual(['plain ✓', null]);
  });

  it('rejects a wrong token', async () => {
    const intruder = new Redis({ url: server.url, token: 'wrong', enableTelemetry: false, retry: false });
    await expect(intruder.get(key('a'))).rejects.toThrow(/Unauthorized/);
    const res = await fetch(`${server.url}/`, { method: 'POST', body: '["PING"]' });
    expect(res.status).toBe(401);
  });

  it('answers a malformed body with 400 and an oversized one with 413', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    const malformed = await fetch(`${server.url}/`, { method: 'POST', headers, body: '["SET", "k"' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: expect.stringMatching(/^ERR /) });

    const notACommand = await fetch(`${server.url}/pipeline`, { method: 'POST', headers, body: '{"a":1}' });
    expect(notACommand.status).toBe(400);

    const huge = JSON.stringify(['SET', key('huge'), 'x'.repeat(1024 * 1024)]);
    const tooLarge = await fetch(`${server.url}/`, { method: 'POST', headers, body: huge });
    expect(tooLarge.status).toBe(413);
    expect(await redis.exists(key('huge'))).toBe(0);
  });

  it('speaks the path form and base64-encodes raw results', async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, 'upstash-encoding': 'base64' };
    const set = await fetch(`${server.url}/set/${encodeURIComponent(key('path'))}?EX=30`, {
      method: 'POST',
      headers,
      body: 'from body',
    });
    expect(await set.json()).toEqual({ result: Buffer.from('OK').toString('base64') });
    const get = await fetch(`${server.url}/get/${encodeURIComponent(key('path'))}`, { headers });
    expect(await get.json()).toEqual({ result: Buffer.from('from body').toString('base64') });
    const pipeline = await fetch(`${server.url}/pipeline`, {
      method: 'POST',
      headers,
      body: JSON.stringify([['TTL', key('path')], ['NOSUCHCOMMAND'], ['SELECT', '1']]),
    });
    const replies = await pipeline.json();
    expect(replies).toEqual([
      { result: 30 },
      { error: expect.stringMatching(/unknown command/) },
      { error: expect.any(String) },
    ]);
  });
});
