/**
 * The fixed limits on what one request may ask for. Limits an operator tunes (upload bytes,
 * files per request, pixels, concurrency) are settings in config.ts; each is checked in one place.
 */

/** Characters in a search text. */
export const MAX_TEXT_LENGTH = 1000;
/** Hits per search. */
export const MAX_HITS = 100;
/** Images per page. */
export const MAX_PAGE = 1000;
/** Dataset versions per page of the history. */
export const MAX_VERSIONS_PAGE = 1000;
/** Characters kept of an uploaded file's name (longer names are cut, not refused). */
export const MAX_FILENAME_LENGTH = 255;
/** Size of the `operations` and `map` parts of a multipart request. */
export const MAX_MULTIPART_FIELD_BYTES = 1024 * 1024;
/** Size of a JSON request body. */
export const MAX_JSON_BYTES = 1024 * 1024;

/** Limits on one GraphQL operation's shape, checked before it runs (GraphQL Armor). */
export const MAX_ALIASES = 20;
export const MAX_DEPTH = 8;
export const MAX_DIRECTIVES = 20;
export const MAX_TOKENS = 2000;
/**
 * The most one operation may cost (src/query-limits.ts): about one unit per row read and four
 * per vector, so two full pages of 1,000 images with their vectors fit, three do not, and a
 * dataset-wide mutation (restore, index build, optimize) fills more than half of it.
 */
export const MAX_QUERY_COST = 10_000;
