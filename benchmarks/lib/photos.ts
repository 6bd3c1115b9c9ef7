import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { sharedDir } from './paths.js';

export type PhotoSource = 'everyday-photos' | 'cifar10-sample';

export interface Photo {
  source: PhotoSource;
  filename: string;
  contentType: string;
  bytes: Buffer<ArrayBuffer>;
}

const CONTENT_TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.png': 'image/png' };

/** The images of one shared data set, in name order (so every run uploads the same files). */
export async function loadPhotos(source: PhotoSource, limit = Infinity): Promise<Photo[]> {
  const dir = path.join(sharedDir(), 'data', source, 'images');
  const names = (await readdir(dir)).filter((name) => path.extname(name) in CONTENT_TYPES).sort();
  return Promise.all(
    names.slice(0, limit).map(async (filename) => ({
      source,
      filename,
      contentType: CONTENT_TYPES[path.extname(filename)]!,
      bytes: await readFile(path.join(dir, filename)),
    })),
  );
}
