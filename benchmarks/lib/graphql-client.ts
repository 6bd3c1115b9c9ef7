/** A GraphQL error answer, kept whole so a failed benchmark says what the server said. */
export class GraphQLRequestError extends Error {}

interface GraphQLResponse<T> {
  data?: T;
  errors?: Array<{ message: string }>;
}

/**
 * A minimal client for the service over real HTTP (Node's fetch): JSON queries, and uploads as
 * GraphQL multipart requests (https://github.com/jaydenseric/graphql-multipart-request-spec).
 */
export class GraphQLClient {
  private readonly endpoint: string;

  constructor(baseUrl: string) {
    this.endpoint = `${baseUrl}/graphql`;
  }

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const response = await fetch(this.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return this.read<T>(response);
  }

  /** Sends one file as `$file` of `mutation`, as a browser form would. */
  async upload<T>(
    mutation: string,
    file: { bytes: Uint8Array<ArrayBuffer>; filename: string; contentType: string },
  ): Promise<T> {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: mutation, variables: { file: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.file'] }));
    form.append('0', new Blob([file.bytes], { type: file.contentType }), file.filename);
    const response = await fetch(this.endpoint, {
      method: 'POST',
      // Apollo's CSRF prevention refuses multipart requests that a plain HTML form could send.
      headers: { 'apollo-require-preflight': 'true' },
      body: form,
    });
    return this.read<T>(response);
  }

  private async read<T>(response: Response): Promise<T> {
    const text = await response.text();
    let body: GraphQLResponse<T>;
    try {
      body = JSON.parse(text) as GraphQLResponse<T>;
    } catch {
      throw new GraphQLRequestError(`HTTP ${response.status}: ${text.slice(0, 200)}`);
    }
    if (body.errors?.length || !body.data) {
      throw new GraphQLRequestError(`HTTP ${response.status}: ${body.errors?.map((e) => e.message).join('; ')}`);
    }
    return body.data;
  }
}
