/** An error the API answered with, or a failure to reach it, in words a person understands. */
export class ApiError extends Error {
  constructor(
    message: string,
    /** The API's extensions.code, or NETWORK when no answer came. */
    readonly code: string,
  ) {
    super(message);
  }
}

interface WireError {
  message?: string;
  extensions?: { code?: string; reference?: string };
}

/** What each error code means to the person in front of the UI (codes: README, "Errors carry"). */
const EXPLAIN: Record<string, (message: string, reference?: string) => string> = {
  BAD_USER_INPUT: (m) => capitalise(m),
  NOT_FOUND: (m) => `Not found: ${m}.`,
  UNAUTHENTICATED: () => 'This server needs an API key for changes, and the key was missing or wrong.',
  QUERY_TOO_COSTLY: (m) => `The request asks for too much at once: ${m}.`,
  GRAPHQL_VALIDATION_FAILED: (m) => `The server refused the request as malformed (${m}). Reloading the page may help.`,
  GRAPHQL_PARSE_FAILED: (m) => `The server refused the request as malformed (${m}). Reloading the page may help.`,
  SERVICE_UNAVAILABLE: (m) => `The service cannot answer right now (${m}). Try again in a moment.`,
  INTERNAL_SERVER_ERROR: (_, ref) =>
    `Something went wrong on the server${ref ? ` (reference ${ref})` : ''}. The server log has the details.`,
};

/** The first error of a GraphQL answer, explained. */
export function fromAnswer(errors: readonly WireError[], status: number): ApiError {
  const [first] = errors;
  const code = first?.extensions?.code ?? (status === 413 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR');
  const message = first?.message ?? `the server answered ${status}`;
  const explain = EXPLAIN[code] ?? capitalise;
  return new ApiError(explain(message, first?.extensions?.reference), code);
}

export function unreachable(): ApiError {
  return new ApiError('The server could not be reached. Check that it is running, then try again.', 'NETWORK');
}

/** Any error as a sentence to show. */
export function explain(error: unknown): string {
  return error instanceof ApiError ? error.message : 'Something went wrong in the page. Reloading it may help.';
}

function capitalise(message: string): string {
  const sentence = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}
