import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { IMAGE_FILE_EXTENSIONS } from '../services/images/image-probe.js';
import { UsageError } from './command.js';

/** A local file to upload, identified as the service will identify it. */
export interface LocalImage {
  path: string;
  /** sha256 of the bytes: the id the service stores it under. */
  id: string;
  size: number;
}

/** What a walk found: the files to upload, and how many others it passed over, by extension. */
export interface FoundFiles {
  files: string[];
  /** Lowercase extension with its dot ('' for none) → files under the folders that were not taken. */
  skipped: Map<string, number>;
}

/**
 * The files named, and under each folder named every file whose extension is an accepted image
 * format's (in any case), recursively; sorted, each once. A file named explicitly is taken
 * whatever its name: the service decides what it is. Symbolic links to folders are not followed,
 * so a link cycle cannot loop.
 */
export async function findImageFiles(paths: readonly string[]): Promise<FoundFiles> {
  const found = new Set<string>();
  const skipped = new Map<string, number>();
  for (const given of paths) {
    const info = await stat(given).catch(() => {
      throw new UsageError(`no such file or folder: ${given}`);
    });
    if (!info.isDirectory()) found.add(given);
    else
      for await (const file of filesUnder(given)) {
        const ext = path.extname(file).toLowerCase();
        if (IMAGE_FILE_EXTENSIONS.has(ext.slice(1))) found.add(file);
        else skipped.set(ext, (skipped.get(ext) ?? 0) + 1);
      }
  }
  return { files: [...found].sort(), skipped };
}

/**
 * What was passed over and why, e.g. "skipped 12 files: 12 .heic (not a supported format: jpg,
 * …)", most common extension first; undefined when nothing was.
 */
export function describeSkipped(skipped: ReadonlyMap<string, number>): string | undefined {
  const total = [...skipped.values()].reduce((sum, n) => sum + n, 0);
  if (total === 0) return undefined;
  const counts = [...skipped].sort(([a, m], [b, n]) => n - m || a.localeCompare(b));
  const named = counts.slice(0, SKIPPED_NAMED).map(([ext, n]) => `${n} ${ext || 'without an extension'}`);
  const others = counts.slice(SKIPPED_NAMED).reduce((sum, [, n]) => sum + n, 0);
  if (others > 0) named.push(`${others} of ${counts.length - SKIPPED_NAMED} other extensions`);
  const formats = [...IMAGE_FILE_EXTENSIONS].join(', ');
  return `skipped ${total} file${total === 1 ? '' : 's'}: ${named.join(', ')} (not a supported format: ${formats})`;
}

/** Extensions named one by one in {@link describeSkipped}; the rest are counted together. */
const SKIPPED_NAMED = 5;

async function* filesUnder(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(full);
    else if (entry.isFile() || (entry.isSymbolicLink() && (await isFile(full)))) yield full;
  }
}

const isFile = (file: string) =>
  stat(file).then(
    (s) => s.isFile(),
    () => false,
  );

/** Reads the file once, streaming, for its content address. */
export async function identify(file: string): Promise<LocalImage> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    hash.update(chunk);
  }
  return { path: file, id: hash.digest('hex'), size };
}
