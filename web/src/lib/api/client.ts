/**
 * The UI's only way to the service: typed GraphQL operations over POST /graphql. Mutations carry
 * the API key when there is one, and ask for it when the service refuses them without it.
 */
import type { TypedDocumentString } from '../gql/graphql';
import { apiKey } from './api-key.svelte';
import { ApiError, fromAnswer, unreachable } from './errors';

interface Answer<R> {
  data?: R | null;
  errors?: Array<{ message?: string; extensions?: { code?: string; reference?: string } }>;
}

type Document<R, V> = TypedDocumentString<R, V>;

/** Runs a query; rejects with an {@link ApiError} whose message is meant for people. */
export async function query<R, V>(document: Document<R, V>, variables: V): Promise<R> {
  return post(document, variables, {});
}

/** Runs a mutation with the API key, asking for the key when the service wants one. */
export function mutate<R, V>(document: Document<R, V>, variables: V): Promise<R> {
  return withApiKey((auth) => post(document, variables, auth));
}

/**
 * Uploads files in one multipart request (GraphQL multipart request spec), reporting the bytes
 * sent. XMLHttpRequest rather than fetch: fetch cannot report upload progress.
 */
export function upload<R>(
  document: Document<R, { files: File[] }>,
  files: readonly File[],
  onProgress: (sent: number, total: number) => void,
): Promise<R> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: document.toString(), variables: { files: files.map(() => null) } }));
  form.set('map', JSON.stringify(Object.fromEntries(files.map((_, i) => [i, [`variables.files.${i}`]]))));
  files.forEach((file, i) => form.set(String(i), file, file.name));
  return withApiKey(
    (auth) =>
      new Promise<R>((resolve, reject) => {
        const request = new XMLHttpRequest();
        request.open('POST', '/graphql');
        // The service reads multipart bodies only with a header that forces a CORS preflight (CSRF).
        request.setRequestHeader('apollo-require-preflight', 'true');
        for (const [name, value] of Object.entries(auth)) request.setRequestHeader(name, value);
        request.upload.onprogress = (event) => onProgress(event.loaded, event.total);
        request.onerror = () => reject(unreachable());
        request.onload = () => {
          try {
            resolve(unwrap(JSON.parse(request.responseText) as Answer<R>, request.status));
          } catch (error) {
            reject(error instanceof ApiError ? error : fromAnswer([], request.status));
          }
        };
        request.send(form);
      }),
  );
}

async function post<R, V>(document: Document<R, V>, variables: V, headers: Record<string, string>): Promise<R> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: document.toString(), variables }),
    });
  } catch {
    throw unreachable();
  }
  const answer = (await response.json().catch(() => ({}))) as Answer<R>;
  return unwrap(answer, response.status);
}

function unwrap<R>(answer: Answer<R>, status: number): R {
  if (answer.errors?.length || !answer.data) throw fromAnswer(answer.errors ?? [], status);
  return answer.data;
}

/** Sends with the key kept for this session; on UNAUTHENTICATED asks for one and sends again. */
async function withApiKey<R>(send: (auth: Record<string, string>) => Promise<R>): Promise<R> {
  for (let refused = false; ; refused = true) {
    const key = apiKey.current;
    try {
      return await send(key ? { authorization: `Bearer ${key}` } : {});
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'UNAUTHENTICATED') throw error;
      if (!(await apiKey.ask(refused || key !== null))) throw error;
    }
  }
}
