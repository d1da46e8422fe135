-- Custom migration, written by hand (drizzle-kit generate --custom). Job search moves from
-- substring matching over trigrams to words over a tsvector: on 1,000,000 jobs a rare term whose
-- trigrams are common (every payload holds "@example.com") took 60 to 110 ms in the trigram GIN
-- index, a word lookup takes about 1 ms, and a row costs a few dozen index entries instead of a few
-- hundred. These two functions are the one definition of what a search matches, used by the
-- stored column watchtower_jobs.search_vector (next migration) and by every query that searches.
--
-- The text of a job, as words: every run of characters that are not letters or digits becomes one
-- space, so an email, a URL, a hyphenated id or a stack frame is searched by its parts
-- ("@example.com" finds every address there, "needle-ab1" finds "job-needle-ab12-in-id").
CREATE OR REPLACE FUNCTION watchtower_search_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN regexp_replace(value, '[^[:alnum:]]+', ' ', 'g');
--> statement-breakpoint
-- What a user typed, as a query: words separated by spaces must all appear, in any order; the
-- parts of one word ("user1@example.com") must appear next to each other, in order; the last part
-- of each word may be the start of a longer one (search as you type), unless it is a single
-- character, whose prefix would match half the index. Never fails: operators and quotes are only
-- punctuation here. A term without letters or digits gives NULL, which matches nothing.
CREATE OR REPLACE FUNCTION watchtower_search_query(term text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN (
  SELECT string_agg('(' || regexp_replace(phrase, '''([^'']{2,})''$', '''\1'':*') || ')', ' & ')::tsquery
  FROM (
    SELECT phraseto_tsquery('simple'::regconfig, words.text)::text AS phrase
    FROM (SELECT watchtower_search_text(part) AS text FROM regexp_split_to_table(term, '\s+') AS part) words
    WHERE words.text ~ '[^ ]'
  ) phrases
  -- A word longer than the parser's limit (2,047 characters) gives no lexeme either.
  WHERE phrase <> ''
);
