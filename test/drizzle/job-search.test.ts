import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_DATA_CHARS } from '../../drizzle/schema/jobs';
import { testEnv } from '../setup/test-env';

// What a search matches is defined in Postgres (migration 0011): the stored search_vector of each
// job and watchtower_search_query for the term. The routes' tests cover the API's side; this one
// covers the definition itself, including the inputs a user can type that must never fail a query
// or a recorder's insert.
describe('job search in Postgres', () => {
  const client = new pg.Client({ connectionString: testEnv.databaseUrl });
  const queue = `search-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;

  const insert = (jobId: string, fields: { name?: string; exception?: string; payload?: unknown }) =>
    client.query(
      `insert into watchtower_jobs (job_id, job_timestamp, queue, name, exception, payload) values ($1, 0, $2, $3, $4, $5)`,
      [jobId, queue, fields.name ?? '', fields.exception ?? null, JSON.stringify(fields.payload ?? null)],
    );

  const found = async (term: string) =>
    (
      await client.query<{ job_id: string }>(
        `select job_id from watchtower_jobs where queue = $1 and search_vector @@ watchtower_search_query($2)
         order by job_id`,
        [queue, term],
      )
    ).rows.map((row) => row.job_id);

  beforeAll(async () => {
    await client.connect();
    await insert('order-7f3a9c', { name: 'ChargeSubscription', exception: 'StripeCardError: card_declined' });
    await insert('mail-1', {
      name: 'SendWelcomeEmail',
      payload: { email: 'Ada.Lovelace@example.com', tries: 2 },
    });
    await insert('mail-2', { name: 'SendWelcomeEmail', payload: { email: 'grace@example.org' } });
    // jsonb orders keys shortest first: the longer key comes after the padding.
    await insert('late-words', {
      payload: { padding: 'x'.repeat(SEARCH_DATA_CHARS), beyondTheCapLate: 'zebra' },
    });
  });

  afterAll(async () => {
    await client.query('delete from watchtower_jobs where queue = $1', [queue]);
    await client.end();
  });

  it('matches words of the id, name, exception and data, by parts and asked-for prefixes', async () => {
    expect(await found('7f3a9c')).toEqual(['order-7f3a9c']);
    expect(await found('order-7f3*')).toEqual(['order-7f3a9c']);
    expect(await found('order-7f3')).toEqual([]);
    expect(await found('order-7*')).toEqual([]);
    expect(await found('card declined')).toEqual(['order-7f3a9c']);
    expect(await found('declined stripecard*')).toEqual(['order-7f3a9c']);
    expect(await found('ada.lovelace@EXAMPLE.COM')).toEqual(['mail-1']);
    expect(await found('@example.com')).toEqual(['mail-1']);
    expect(await found('@example')).toEqual(['mail-1', 'mail-2']);
    expect(await found('sendwelcome*')).toEqual(['mail-1', 'mail-2']);
    expect(await found('sendwelcomeemail')).toEqual(['mail-1', 'mail-2']);
    // Parts of one word must be adjacent and in order; every word must appear.
    expect(await found('example-ada')).toEqual([]);
    expect(await found('grace stripe')).toEqual([]);
  });

  it('indexes only the start of the data', async () => {
    expect(await found('padding')).toEqual(['late-words']);
    expect(await found('zebra')).toEqual([]);
  });

  it('answers any typed text without an error, and text without letters or digits matches nothing', async () => {
    const hostile = [
      "'",
      "''",
      '\\',
      "\\'",
      '& | ! ( ) : * <-> <2>',
      "card' | 'declined",
      'card:* & !declined',
      '%_%',
      '---',
      '   ',
      'ü東京\u0301',
      `${'a'.repeat(3000)} b`,
      Array.from({ length: 300 }, (_, i) => `w${i}`).join(' '),
      '\u2028\t\r\n',
    ];
    for (const term of hostile) {
      await expect(found(term), term).resolves.toBeInstanceOf(Array);
    }
    expect(await found('--- !!! ...')).toEqual([]);
    expect(await found("card' | 'declined")).toEqual(['order-7f3a9c']);
  });

  it('stores a job whose text is far larger than a tsvector may hold', async () => {
    const words = Array.from({ length: 200_000 }, (_, i) => `w${i.toString(36)}`).join(' ');
    await insert('huge', { name: words, exception: words, payload: { words } });
    expect(await found('huge')).toEqual(['huge']);
  });
});
