/**
 * Where a channel may post: https anywhere, plain http only to this machine (a local receiver in
 * development and tests). No credentials in the URL's authority, no other schemes.
 */

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function outboundUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a valid URL';
  }
  if (url.username !== '' || url.password !== '') return 'must not hold a user name or password';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return null;
  return 'must be an https:// URL (http:// only to 127.0.0.1 or localhost)';
}
