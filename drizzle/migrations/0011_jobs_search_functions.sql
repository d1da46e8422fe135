-- Custom migration, written by hand (drizzle-kit generate --custom). Job search moves from
-- substring matching over trigrams to words over a tsvector: on 1,000,000 jobs a rare term whose
-- trigrams are common (every payload holds "@example.com") took 60 to 110 ms in the trigram GIN
-- index, a word lookup takes about 1 ms, and a row costs a few dozen index entries instead of a few
-- hundred. These two functions are the one definition of what a search matches, used by the
-- stored column watchtower_jobs.search_vector (next migration) and by every query that searches.
--
-- The text of a job, as words: every run of characters that are not letters or digits becomes one
-- space, so an email, a URL, a hyphenated id or a stack frame is searched by its parts
-- ("@example.com" finds every address there, "needle-ab12" finds "job-needle-ab12-in-id").
CREATE OR REPLACE FUNCTION watchtower_search_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN regexp_replace(value, '[^[:alnum:]]+', ' ', 'g');
--> statement-breakpoint
-- What a user typed, as a query: words separated by spaces must all appear, in any order; the
-- parts of one word ("user1@example.com") must appear next to each other, in order. A word ending
-- in * may end with the start of a longer part ("ord_4c*" finds "ord_4cf07bf5"). Prefixes are
-- asked for rather than assumed: GIN answers a prefix by reading every entry it covers ("com:*"
-- covers every address at a .com domain: 120 ms on 1M jobs), an exact part by skipping through its
-- list (1 ms). A single character is never a prefix. Never fails: operators and quotes are only
-- punctuation here. A term without letters or digits gives NULL, which matches nothing.
CREATE OR REPLACE FUNCTION watchtower_search_query(term text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN (
  SELECT string_agg(
           '(' || CASE WHEN words.prefix THEN regexp_replace(phrase, '''([^'']{2,})''$', '''\1'':*') ELSE phrase END || ')',
           ' & ')::tsquery
  FROM (
    SELECT phraseto_tsquery('simple'::regconfig, words.text)::text AS phrase, words.prefix
    FROM (SELECT watchtower_search_text(part) AS text, part ~ '[[:alnum:]]\*$' AS prefix
          FROM regexp_split_to_table(term, '\s+') AS part) words
    WHERE words.text ~ '[^ ]'
  ) words
  -- A word longer than the parser's limit (2,047 characters) gives no lexeme either.
  WHERE phrase <> ''
);
