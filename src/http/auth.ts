import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import type { GraphQLContext } from '../context.js';
import { unauthenticated } from '../errors.js';

/**
 * Mutations that discard data or rewrite the whole table. Without API_KEY they answer only to
 * clients on this machine, so a service opened to the network is never one request from empty.
 */
export const ADMIN_MUTATIONS: ReadonlySet<string> = new Set([
  'deleteImage',
  'restoreVersion',
  'optimizeDataset',
  'createVectorIndex',
]);

/** True when API_KEY is unset, or the Authorization header carries it (compared in constant time). */
export function authorized(header: string | null | undefined, apiKey: string | undefined): boolean {
  if (!apiKey) return true;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(header ?? ''), digest(`Bearer ${apiKey}`));
}

/** True for an address of this machine: 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return address === '::1' || (isIP(v4) === 4 && v4.startsWith('127.'));
}

/**
 * True when a Host header names this machine: localhost (and *.localhost), 127.0.0.0/8 or [::1].
 * A browser sends the name of the site it thinks it talks to, so a page whose name was made to
 * resolve to 127.0.0.1 (DNS rebinding) still sends its own name.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  const lower = name.toLowerCase();
  return lower === 'localhost' || lower.endsWith('.localhost') || isLoopback(lower);
}

/** A request from this machine, for this machine: a loopback peer that names a loopback host. */
export function isLocalRequest(req: IncomingMessage): boolean {
  return isLoopback(req.socket.remoteAddress) && isLoopbackHost(req.headers.host);
}

/**
 * With no API_KEY and a loopback HOST (the defaults), only requests that name this machine in
 * their Host header are answered: a web page cannot reach the service by rebinding its own name
 * to 127.0.0.1.
 */
export function refuseRebinding(settings: { API_KEY?: string; HOST?: string }): RequestHandler {
  const guarded = !settings.API_KEY && settings.HOST !== undefined && isLoopbackHost(settings.HOST);
  return (req, res, next) => {
    if (!guarded || isLoopbackHost(req.headers.host)) return next();
    res
      .status(403)
      .set('Cache-Control', 'no-store')
      .json({
        errors: [
          {
            message: `the Host header names ${JSON.stringify(req.headers.host ?? '')}, not this machine: with API_KEY unset the service answers only requests for localhost (DNS rebinding protection)`,
            extensions: { code: 'FORBIDDEN' },
          },
        ],
      });
  };
}

/**
 * With API_KEY set, every mutation needs `Authorization: Bearer <key>`; queries stay open.
 * Without it, uploads are open and the administrative mutations answer only to local clients.
 */
export function guardMutations(apiKey: string | undefined): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request, document, contextValue }) {
          if (operation?.operation !== 'mutation') return;
          if (apiKey) {
            if (!authorized(request.http?.headers.get('authorization'), apiKey)) throw unauthenticated();
            return;
          }
          if (contextValue.clientIsLocal) return;
          const admin = rootFields(operation, document).find((name) => ADMIN_MUTATIONS.has(name));
          if (admin) throw unauthenticated(`${admin} answers only to this machine while API_KEY is unset`);
        },
      };
    },
  };
}

/** The root fields an operation selects, through its fragments. */
function rootFields(operation: OperationDefinitionNode, document: DocumentNode): string[] {
  const fragments = new Map(
    document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
  );
  const names: string[] = [];
  const seen = new Set<string>();
  const walk = (selections: SelectionSetNode) => {
    for (const selection of selections.selections) {
      if (selection.kind === Kind.FIELD) names.push(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return names;
}
