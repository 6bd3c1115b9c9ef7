/**
 * Tests and benchmarks only: the doors past the catalog's boundary, which the service never
 * opens (eslint refuses an import of this module from src/). A test that patches Lance to inject a
 * fault, counts rows with a query of its own, or writes thousands of rows as one commit past the
 * writer's queue and dedupe needs them. TypeScript has no friend access; element access to a
 * private member is its escape hatch, used here alone.
 */
import type { ImageCatalog } from './catalog.js';
import type { TableWrites } from './table-writes.js';
import type { VersionHandles } from './version-handles.js';
import type { CatalogWriter } from './writer.js';

/** The catalog's version handles: the latest version, the background look, raw read handles. */
export function versionHandles(catalog: ImageCatalog): VersionHandles {
  return catalog['handles'];
}

/** The shared read-only Lance handle of `version` (the latest when omitted), and that version. */
export function lanceReader(catalog: ImageCatalog, version?: number): ReturnType<VersionHandles['reader']> {
  return versionHandles(catalog).reader(version);
}

/** The writer's write primitives: each call one commit, past the queue, the dedupe and onCommit. */
export function tableWrites(writer: CatalogWriter): TableWrites {
  return writer['writes'];
}
