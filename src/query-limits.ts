import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type DocumentNode, type ParseOptions, type ValidationRule } from 'graphql';
import { getComplexity, type ComplexityEstimatorArgs } from 'graphql-query-complexity';
import { badVariables, tooCostly } from './errors.js';
import { MAX_ALIASES, MAX_DEPTH, MAX_DIRECTIVES, MAX_QUERY_COST, MAX_TOKENS } from './limits.js';

/** What a dataset-wide mutation costs: more than half the limit, so an operation holds one at most. */
const DATASET_MUTATION = Math.floor(MAX_QUERY_COST / 2) + 1;
/**
 * What each version in a page of the history costs: one manifest read (an object store request,
 * the first time), whatever is selected, since every field of it is in the manifest. A full page
 * of 1,000 versions then costs about what 1,000 images with their vectors do: one fits in an
 * operation, two do not.
 */
const VERSION = 5;
/**
 * What an indexed search costs before its hits, and an exact one: a scan reads every vector
 * (205 MB at 100k rows, ~10x an indexed search's time), so an operation holds three at most.
 */
const INDEXED_SEARCH = 50;
const EXACT_SEARCH = Math.floor(MAX_QUERY_COST / 4);

/**
 * What a filter adds, whatever the page or hit count: without a scalar index Lance reads the
 * filtered columns of every row (and a newest-first page counts the matches first), 8-14 ms at
 * 100k rows, and a prefiltered flat search ~50 ms (benchmarks/results/filters.md).
 */
const FILTER = 100;

type Estimate = (args: Record<string, number>, child: number) => number;

/** `exact` (a Boolean) and `filter` (an input object) are the cost's non-numeric inputs. */
const filtered = (a: Record<string, unknown>) => (a.filter == null ? 0 : FILTER);
/**
 * A filtered search is priced as an exact one: a filter that few rows pass makes Lance probe
 * further partitions, up to all of them (catalog.ts, maximumNprobes), which costs about a scan.
 */
const search: Estimate = (a, child) =>
  ((a.exact as unknown as boolean) || a.filter != null ? EXACT_SEARCH : INDEXED_SEARCH) +
  filtered(a) +
  a.limit! * (1 + child);

/**
 * What a field costs, about one unit per row it reads; fields not listed cost what their
 * selection costs. A list's cost is its size times what each element selects.
 */
const FIELD_COSTS: Record<string, Estimate> = {
  'Query.search': search,
  'Query.similarImages': search,
  'Query.image': (_, child) => 1 + child,
  'Query.images': (a, child) => filtered(a) + a.limit! * (1 + child),
  'Query.versions': (a, child) => 10 + a.limit! * (VERSION + child),
  'Query.dataset': (_, child) => 20 + child,
  'Image.vector': () => 4,
  'Mutation.uploadImage': (_, child) => 10 + child,
  'Mutation.uploadImages': (_, child) => 10 + child,
  'Mutation.deleteImage': () => 10,
  'Mutation.restoreVersion': (_, child) => DATASET_MUTATION + child,
  'Mutation.createVectorIndex': (_, child) => DATASET_MUTATION + child,
  'Mutation.optimizeDataset': (_, child) => DATASET_MUTATION + child,
};

function estimate({ type, field, args, childComplexity }: ComplexityEstimatorArgs): number {
  const cost = FIELD_COSTS[`${type.name}.${field.name}`];
  return cost ? cost(args as Record<string, number>, childComplexity) : childComplexity;
}

/**
 * The limits every operation passes before it runs: graphql-js's own token limit while parsing,
 * GraphQL Armor for its shape (aliases, depth, directives; field suggestions off when
 * introspection is off), and a cost limit that knows what each argument makes a field read.
 */
export function queryLimits(introspection: boolean): {
  plugins: ApolloServerPlugin[];
  validationRules: ValidationRule[];
  parseOptions: ParseOptions;
} {
  const armor = new ApolloArmor({
    maxAliases: { n: MAX_ALIASES },
    maxDepth: { n: MAX_DEPTH },
    maxDirectives: { n: MAX_DIRECTIVES },
    // Armor's token limit throws from a plugin, which Apollo answers with a 500; graphql-js's
    // parser option (below) is refused as the parse error it is, with a 400.
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: !introspection },
  }).protect();
  // Armor's types name Apollo's CommonJS build, ours the ES module one: the same plugin shape.
  const armorPlugins = armor.plugins as unknown as ApolloServerPlugin[];
  return {
    plugins: [...armorPlugins, queryCostLimit],
    validationRules: armor.validationRules,
    parseOptions: { maxTokens: MAX_TOKENS },
  };
}

/**
 * The operation's cost. Pricing coerces the variables, so it is the first to meet a bad one (an
 * unknown enum value in a filter): that is the client's mistake, not an internal error.
 */
function complexity(
  schema: Parameters<typeof getComplexity>[0]['schema'],
  query: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
): number {
  try {
    return getComplexity({ schema, query, operationName, variables, estimators: [estimate] });
  } catch (error) {
    if (error instanceof GraphQLError) throw badVariables(error);
    throw error;
  }
}

const queryCostLimit: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ request, document, schema }) {
        const cost = complexity(schema, document, request.operationName, request.variables);
        if (cost > MAX_QUERY_COST) {
          throw tooCostly(
            `the operation would cost ${cost}, over the limit of ${MAX_QUERY_COST}: ask for fewer or smaller lists, ` +
              'or send dataset-wide mutations one at a time',
          );
        }
      },
    };
  },
};
