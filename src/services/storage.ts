import path from 'node:path';
import type { Settings } from '../config.js';
import { LocalObjectStore, type ObjectStore } from './object-store.js';

/** Where everything lives: image objects and, beside them, the Lance dataset. */
export interface Storage {
  objects: ObjectStore;
  /** The root Lance connects to; the dataset is `${lanceUri}/images.lance`. */
  lanceUri: string;
  storageOptions?: Record<string, string>;
}

/** Resolves DATA_URI to a storage root. Only local paths here; s3:// comes with the S3 store. */
export function openStorage(settings: Settings): Storage {
  const uri = settings.DATA_URI;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) {
    throw new Error(`DATA_URI: unsupported scheme in ${uri}; expected a local path or file://`);
  }
  const root = path.resolve(uri.replace(/^file:\/\//, ''));
  return { objects: new LocalObjectStore(root), lanceUri: root };
}
