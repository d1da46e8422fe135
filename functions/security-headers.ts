/**
 * The headers every response of the Worker carries: the API's (set by the app's first middleware)
 * and the dashboard's static files (served by the asset router without the Worker, so
 * scripts/build-web.ts writes the same headers into web/dist/_headers).
 *
 * The policy allows scripts, styles, fonts and fetches from this origin only: no inline script, no
 * eval, no plugin, no framing (clickjacking), no <base> or form posting elsewhere. Images may also
 * be data: URLs (icons drawn by CSS). Recorded job data is shown as text, and this is the net under
 * that rule should a bug ever render some as HTML.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
};

/**
 * HTTPS only, for a year, subdomains too: a browser that has seen the dashboard once never talks to
 * it in plain HTTP again (no cookie or token over an intercepted first request). Sent on https
 * answers only; browsers ignore it over http, and a local `http://127.0.0.1` must stay usable.
 */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains';

/**
 * The `_headers` file of Cloudflare's static assets: the same headers on every path, and HSTS, which
 * browsers take only from https answers (a local http server sending it changes nothing).
 */
export function staticHeadersFile(): string {
  const lines = Object.entries({
    ...SECURITY_HEADERS,
    'Strict-Transport-Security': STRICT_TRANSPORT_SECURITY,
  }).map(([name, value]) => `  ${name}: ${value}`);
  return `# Written by scripts/build-web.ts from functions/security-headers.ts: edit that file.\n/*\n${lines.join('\n')}\n`;
}
