import { GraphQLError } from 'graphql';

/** Validation of client input, in one place, before any service is called. */

function badInput(message: string, field: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field } });
}

export const MAX_TEXT_LENGTH = 1000;
const SHA256 = /^[0-9a-f]{64}$/;

export function searchText(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw badInput('text must not be empty', 'text');
  if (trimmed.length > MAX_TEXT_LENGTH) throw badInput(`text must be at most ${MAX_TEXT_LENGTH} characters`, 'text');
  return trimmed;
}

export function limit(value: number | null | undefined, max: number, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > max) throw badInput(`limit must be between 1 and ${max}`, 'limit');
  return n;
}

export function offset(value: number | null | undefined): number {
  const n = value ?? 0;
  if (!Number.isInteger(n) || n < 0) throw badInput('offset must be 0 or more', 'offset');
  return n;
}

export function imageId(id: string): string {
  const normalised = id.toLowerCase();
  if (!SHA256.test(normalised)) throw badInput('id must be a sha256: 64 hexadecimal characters', 'id');
  return normalised;
}

export function version(value: number | null | undefined): number | undefined {
  if (value == null) return undefined;
  if (!Number.isInteger(value) || value < 1) throw badInput('version must be 1 or more', 'version');
  return value;
}
