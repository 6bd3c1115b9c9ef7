// GraphiQL for the service's own /graphql, bundled from npm packages: nothing loads from another host.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { createElement as h } from 'react';
import { createRoot } from 'react-dom/client';
import './workers.js';
import './explorer.css';

const endpoint = new URL('/graphql', location.origin).href;
const introspection = document.querySelector('meta[name="introspection"]')?.getAttribute('content') !== 'off';

const sandbox = new URL('https://studio.apollographql.com/sandbox/explorer');
sandbox.searchParams.set('endpoint', endpoint);

/** What a first visit finds in the editor (later visits find what they left). */
const DEFAULT_QUERY = `# The images closest to a text description. Ctrl-Enter (or ▶) runs it; the book icon on the
# left opens the schema's docs. With API_KEY set, mutations need the key: under Headers below, put
#   { "Authorization": "Bearer <key>" }

{
  search(text: "a red car", limit: 5) {
    hits {
      score
      image {
        id
        filename
      }
    }
    tookMs
  }
}
`;

const links = h(
  'a',
  { className: 'explorer-sandbox', href: sandbox.href, target: '_blank', rel: 'noreferrer' },
  'Open in Apollo Sandbox (online)',
);

// Without introspection there is no schema to fetch: asking would only earn a 400 and an error.
const notice = introspection
  ? null
  : h(
      GraphiQL.Footer,
      null,
      h(
        'p',
        { className: 'explorer-notice', role: 'status' },
        'Introspection is off on this server (NODE_ENV=production; INTROSPECTION=true turns it on), ',
        'so there are no docs, completion or checks here. Queries still run.',
      ),
    );

createRoot(document.getElementById('explorer')!).render(
  h(
    GraphiQL,
    {
      fetcher: createGraphiQLFetcher({ url: endpoint }),
      defaultQuery: DEFAULT_QUERY,
      ...(introspection ? { inputValueDeprecation: true } : { schema: null }),
    },
    h(GraphiQL.Logo, null, links),
    notice,
  ),
);
