import type { IncomingHttpHeaders } from 'node:http';

/**
 * True when a browser sends the request on behalf of another site: the check Go's
 * `http.CrossOriginProtection` makes. Browsers label every request with Sec-Fetch-Site (only
 * `same-origin` and `none`, a typed URL or a bookmark, are this site's own) or, older ones, with
 * an Origin; a request that carries neither comes from a program such as curl, which no page can
 * drive, and passes. Needed where a plain form can post without a preflight: any page could
 * otherwise make its visitors' browsers upload to a service on their network.
 */
export function crossSite(headers: IncomingHttpHeaders): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = headers.origin;
  if (origin === undefined) return false;
  // The host the client asked for; the scheme is left out, as a TLS proxy in front changes it.
  const host = hostOf(origin);
  return host === undefined || host !== headers.host?.toLowerCase();
}

/** The host (and port) of an Origin; undefined for `null` (a sandboxed or file: page) or a malformed one. */
function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host || undefined;
  } catch {
    return undefined;
  }
}
