import type * as lancedb from '@lancedb/lancedb';
import type { ModelIdentity } from '../embedding/model-identity.js';

/** Keys of the vector column's metadata that record the model its vectors came from. */
const MODEL_NAME = 'lance-image-search:model';
const MODEL_FINGERPRINT = 'lance-image-search:model-fingerprint';

/** The dataset was made by another model than the one loaded: searching it would answer nonsense. */
export class ModelMismatchError extends Error {}

/** The vector column's metadata for vectors made by `model`. */
export function modelRecord(model: ModelIdentity): Map<string, string> {
  return new Map([
    [MODEL_NAME, model.name],
    [MODEL_FINGERPRINT, model.fingerprint],
  ]);
}

/**
 * Checks that `table`'s vectors come from `model`, by the record in the vector column's
 * metadata (schema metadata: appends, compactions and index builds keep it, and a replica reads
 * it with the schema). A dataset made before models were recorded adopts `model`, in one commit
 * made before the writer exists, like the table's creation; the dimension must still match.
 * Returns whether it did.
 */
export async function checkModel(table: lancedb.Table, model: ModelIdentity): Promise<{ adopted: boolean }> {
  const field = (await table.schema()).fields.find((f) => f.name === 'vector');
  const dimension = (field?.type as { listSize?: number } | undefined)?.listSize;
  const recorded = field?.metadata.get(MODEL_FINGERPRINT);
  const recordedName = field?.metadata.get(MODEL_NAME) ?? `a model of ${dimension}-d vectors`;
  if (dimension !== model.dimension || (recorded !== undefined && recorded !== model.fingerprint)) {
    throw new ModelMismatchError(mismatch(recordedName, recorded, dimension, model));
  }
  if (recorded !== undefined) return { adopted: false };
  await table.updateFieldMetadata([{ path: 'vector', metadata: Object.fromEntries(modelRecord(model)) }]);
  return { adopted: true };
}

function mismatch(name: string, fingerprint: string | undefined, dimension: number | undefined, model: ModelIdentity) {
  const theirs = `${name} (${dimension}-d${fingerprint ? `, fingerprint ${fingerprint}` : ''})`;
  const ours = `${model.name} (${model.dimension}-d, fingerprint ${model.fingerprint})`;
  return (
    `the dataset's vectors were made by ${theirs}, but EMBEDDING_MODEL loads ${ours}; ` +
    'a search with one model over the vectors of another finds nonsense. Either set EMBEDDING_MODEL back to the ' +
    "dataset's model, or re-embed: start with this EMBEDDING_MODEL and a new DATA_URI, then upload the images " +
    'again (`npm run upload -- <old DATA_URI>/images` for a local dataset)'
  );
}
