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

/**
 * The files named, and under each folder named every file whose extension is an accepted image
 * format's (in any case), recursively; sorted, each once. A file named explicitly is taken
 * whatever its name: the service decides what it is. Symbolic links to folders are not followed,
 * so a link cycle cannot loop.
 */
export async function findImageFiles(paths: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const given of paths) {
    const info = await stat(given).catch(() => {
      throw new UsageError(`no such file or folder: ${given}`);
    });
    if (info.isDirectory()) for await (const file of imagesUnder(given)) found.add(file);
    else found.add(given);
  }
  return [...found].sort();
}

async function* imagesUnder(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* imagesUnder(full);
    else if ((entry.isFile() || (entry.isSymbolicLink() && (await isFile(full)))) && isImageName(entry.name))
      yield full;
  }
}

function isImageName(name: string): boolean {
  return IMAGE_FILE_EXTENSIONS.has(path.extname(name).slice(1).toLowerCase());
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
