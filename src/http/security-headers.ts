import type { RequestHandler } from 'express';

/**
 * Headers every answer carries: no site may frame the UI or any other page (clickjacking; both the
 * old header and CSP's frame-ancestors, for browsers that know only one), no browser guesses a
 * content type other than the one sent, and no page's URL leaks to another site as a Referer.
 * The CSP holds frame-ancestors only: the pages' own script and style sources are theirs to set.
 */
const HEADERS = {
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    res.set(HEADERS);
    next();
  };
}
