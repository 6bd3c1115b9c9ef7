import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import { DateTime } from '../src/resolvers/scalars.js';
import { graphqlServer } from './support/harness.js';

const DOCS = `{
  dateTime: __type(name: "DateTime") { description specifiedByURL }
  upload: __type(name: "Upload") { description }
  query: __type(name: "Query") { description fields { name args { name description } } }
  mutation: __type(name: "Mutation") { description fields { name args { name description } } }
}`;

type Field = { name: string; args: Array<{ name: string; description: string | null }> };
type Root = { description: string | null; fields: Field[] };
type Docs = {
  dateTime: { description: string | null; specifiedByURL: string | null };
  upload: { description: string | null };
  query: Root;
  mutation: Root;
};

/** The schema as clients introspect it: what the SDL documents must survive the resolvers. */
describe('the schema as served', () => {
  let server: ApolloServer<GraphQLContext>;
  let docs: Docs;
  before(async () => {
    server = await graphqlServer();
    // Introspection reads no context: no services are needed.
    const response = await server.executeOperation<Docs>({ query: DOCS }, { contextValue: {} as GraphQLContext });
    assert.equal(response.body.kind, 'single');
    if (response.body.kind === 'single') docs = response.body.singleResult.data!;
  });
  after(() => server?.stop());

  test("the scalars keep the SDL's descriptions, and DateTime its @specifiedBy", () => {
    assert.match(docs.dateTime.description ?? '', /RFC 3339/);
    assert.equal(docs.dateTime.specifiedByURL, 'https://scalars.graphql.org/andimarek/date-time');
    assert.match(docs.upload.description ?? '', /multipart/);
  });

  test('Query, Mutation and every argument of theirs are described', () => {
    for (const root of [docs.query, docs.mutation]) {
      assert.ok(root.description, 'root type description');
      const bare = root.fields.flatMap((f) => f.args.filter((a) => !a.description).map((a) => `${f.name}(${a.name})`));
      assert.deepEqual(bare, []);
    }
    assert.ok(docs.mutation.fields.some((f) => f.args.length > 0));
  });

  test('DateTime takes RFC 3339 date-times with an offset and refuses other dates', () => {
    assert.equal(DateTime.parseValue('2024-05-01T12:30:00+02:00').toISOString(), '2024-05-01T10:30:00.000Z');
    assert.equal(DateTime.parseValue('2024-05-01T10:30:00.250Z').toISOString(), '2024-05-01T10:30:00.250Z');
    for (const value of ['2024-05-01', '2024-05-01T10:30:00', 'May 1, 2024', '2024-13-01T00:00:00Z', 1714559400000])
      assert.throws(() => DateTime.parseValue(value), /RFC 3339/, String(value));
  });
});
