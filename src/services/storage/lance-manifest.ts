/**
 * What a Lance version manifest says: the files a version reads (its data files, deletion files
 * and index directories), for the dataset mirror (see dataset-mirror.ts); and its timestamp, live
 * rows and the operation that made it, for the dataset's history (see dataset-history.ts).
 *
 * A manifest file ends with `u64 position | u16 major | u16 minor | "LANC"`; at `position` is a
 * u32 length and the `Manifest` protobuf. The index metadata is a separate `IndexSection` message
 * in the same file, at the position the manifest's `index_section` names (again u32 length first).
 * Current Lance writes the version's `Transaction` inline too, at the `transaction_section`
 * position; older manifests name a file under `_transactions/` that holds it (no length first).
 * The schema below is the subset of Lance's `protos/table.proto` and `protos/transaction.proto`
 * these need, with Lance's field numbers; protobuf skips every field it does not name.
 */
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
message UUID { bytes uuid = 1; }
message ExternalFile { string path = 1; }
message DataFile { string path = 1; optional uint32 base_id = 7; }
message DeletionFile {
  int32 file_type = 1;
  uint64 read_version = 2;
  uint64 id = 3;
  uint64 num_deleted_rows = 4;
  optional uint32 base_id = 7;
}
message DataOverlayFile { DataFile data_file = 1; }
message DataFragment {
  uint64 id = 1;
  repeated DataFile files = 2;
  DeletionFile deletion_file = 3;
  uint64 physical_rows = 4;
  ExternalFile external_row_ids = 6;
  ExternalFile external_last_updated_at_versions = 8;
  ExternalFile external_created_at_versions = 10;
  repeated DataOverlayFile overlays = 11;
}
message BasePath { uint32 id = 1; }
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message Manifest {
  repeated DataFragment fragments = 2;
  uint64 version = 3;
  optional uint64 index_section = 6;
  Timestamp timestamp = 7;
  string transaction_file = 12;
  repeated BasePath base_paths = 18;
  optional uint64 transaction_section = 21;
}
message IndexFile { string path = 1; }
message IndexMetadata { UUID uuid = 1; string name = 3; optional uint32 base_id = 9; repeated IndexFile files = 10; }
message IndexSection { repeated IndexMetadata indices = 1; }
message Transaction {
  // Only which operation it was: each is kept as the bytes of its message, never decoded.
  oneof operation {
    bytes append = 100;
    bytes delete = 101;
    bytes overwrite = 102;
    bytes create_index = 103;
    bytes rewrite = 104;
    bytes merge = 105;
    bytes restore = 106;
    bytes reserve_fragments = 107;
    bytes update = 108;
    bytes project = 109;
    bytes update_config = 110;
    bytes data_replacement = 111;
    bytes update_mem_wal_state = 112;
    bytes clone = 113;
    bytes update_bases = 114;
  }
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const MANIFEST = root.lookupType('Manifest');
const INDEX_SECTION = root.lookupType('IndexSection');
const TRANSACTION = root.lookupType('Transaction');
// Deletion file ids use all 64 bits: longs decode as decimal strings.
const DECODE = { longs: String, defaults: true, arrays: true } as const;

const U64_MAX = 18446744073709551615n;

/** The manifest's key under the dataset, in the naming Lance uses by default since 0.20 (v2 paths). */
export function manifestPath(version: number): string {
  return `_versions/${(U64_MAX - BigInt(version)).toString().padStart(20, '0')}.manifest`;
}

export interface VersionFiles {
  version: number;
  /** Paths relative to the dataset root: data and deletion files, and index files where known. */
  files: string[];
  /** Index directories (`_indices/{uuid}`) whose files the manifest does not list. */
  unlistedIndexDirs: string[];
}

interface DataFileMessage {
  path: string;
  base_id?: number;
}
interface FragmentMessage {
  id: string;
  files: DataFileMessage[];
  physical_rows: string;
  deletion_file?: {
    file_type: number;
    read_version: string;
    id: string;
    num_deleted_rows: string;
    base_id?: number;
  } | null;
  external_row_ids?: { path: string } | null;
  external_last_updated_at_versions?: { path: string } | null;
  external_created_at_versions?: { path: string } | null;
  overlays: Array<{ data_file?: DataFileMessage | null }>;
}
interface IndexMessage {
  uuid?: { uuid: Uint8Array } | null;
  base_id?: number;
  files: Array<{ path: string }>;
}

interface ManifestMessage {
  fragments: FragmentMessage[];
  version: string;
  index_section?: string;
  timestamp?: { seconds: string; nanos: number } | null;
  transaction_file: string;
  transaction_section?: string;
  base_paths: unknown[];
}

/** Thrown for a manifest the mirror cannot follow: reads of that version stay on the object store. */
export class UnsupportedManifestError extends Error {}

/** The manifest in `buffer`, a whole manifest file. */
function decodeManifest(buffer: Buffer): ManifestMessage {
  if (buffer.length < 16 || buffer.toString('latin1', buffer.length - 4) !== 'LANC') {
    throw new UnsupportedManifestError('not a Lance manifest');
  }
  return MANIFEST.toObject(
    MANIFEST.decode(message(buffer, Number(buffer.readBigUInt64LE(buffer.length - 16)), buffer.length - 16)),
    DECODE,
  ) as ManifestMessage;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What a version's manifest says of it, for the dataset's history; no data file is read. */
export interface VersionSummary {
  version: number;
  timestamp: Date;
  /**
   * Live rows: each fragment's physical rows less its deleted ones. Null where the manifest does
   * not record them (Lance before 0.8 left them to the data and deletion files).
   */
  rowCount: number | null;
  /** The Lance operation that committed it (`append`, `rewrite`...), when the manifest holds its transaction. */
  operation: string | null;
  /** Otherwise the file under `_transactions/` that holds it ({@link transactionOperation}); null when there is none. */
  transactionFile: string | null;
}

/** What version `bytes` (a whole manifest file) is: when it was made, its live rows, and by what. */
export function versionSummary(bytes: Uint8Array): VersionSummary {
  const buffer = asBuffer(bytes);
  const manifest = decodeManifest(buffer);
  let rowCount: number | null = 0;
  for (const fragment of manifest.fragments) {
    const physical = Number(fragment.physical_rows);
    const deleted = fragment.deletion_file ? Number(fragment.deletion_file.num_deleted_rows) : 0;
    // Zero is proto3's "not set": a fragment has rows, a deletion file deletes some.
    if (physical === 0 || (fragment.deletion_file && deleted === 0)) rowCount = null;
    if (rowCount !== null) rowCount += physical - deleted;
  }
  const { seconds = '0', nanos = 0 } = manifest.timestamp ?? {};
  const inline = manifest.transaction_section;
  return {
    version: Number(manifest.version),
    timestamp: new Date(Number(seconds) * 1000 + Math.floor(nanos / 1e6)),
    rowCount,
    operation: inline === undefined ? null : transactionOperation(message(buffer, Number(inline))),
    transactionFile: inline === undefined && manifest.transaction_file ? manifest.transaction_file : null,
  };
}

/** Each fragment of version `bytes` (a whole manifest file), by id, with the rows its files hold (deleted ones too). */
export function fragmentRows(bytes: Uint8Array): Map<number, number> {
  const manifest = decodeManifest(asBuffer(bytes));
  return new Map(manifest.fragments.map((fragment) => [Number(fragment.id), Number(fragment.physical_rows)]));
}

/** The operation a `Transaction` message (as a transaction file holds it) records; null for one this code does not know. */
export function transactionOperation(bytes: Uint8Array): string | null {
  const transaction = TRANSACTION.toObject(TRANSACTION.decode(bytes), { oneofs: true }) as { operation?: string };
  return transaction.operation ?? null;
}

/** The files version `bytes` (a whole manifest file) reads. */
export function versionFiles(bytes: Uint8Array): VersionFiles {
  const buffer = asBuffer(bytes);
  const manifest = decodeManifest(buffer);
  // Files in other datasets (shallow clones), per-row version files and overlays: not this mirror's.
  if (manifest.base_paths.length > 0) throw new UnsupportedManifestError('the dataset has several base paths');
  const files: string[] = [];
  for (const fragment of manifest.fragments) {
    const unsupported =
      fragment.overlays.length > 0 ||
      fragment.external_row_ids ||
      fragment.external_last_updated_at_versions ||
      fragment.external_created_at_versions ||
      fragment.files.some((f) => f.base_id !== undefined) ||
      fragment.deletion_file?.base_id !== undefined;
    if (unsupported)
      throw new UnsupportedManifestError(`fragment ${fragment.id} uses files the mirror does not follow`);
    for (const file of fragment.files) files.push(`data/${file.path}`);
    const deletion = fragment.deletion_file;
    if (deletion) {
      const extension = deletion.file_type === 1 ? 'bin' : 'arrow';
      files.push(`_deletions/${fragment.id}-${deletion.read_version}-${deletion.id}.${extension}`);
    }
  }
  const unlistedIndexDirs: string[] = [];
  if (manifest.index_section !== undefined) {
    const section = INDEX_SECTION.toObject(
      INDEX_SECTION.decode(message(buffer, Number(manifest.index_section))),
      DECODE,
    ) as {
      indices: IndexMessage[];
    };
    for (const index of section.indices) {
      if (!index.uuid || index.base_id !== undefined) throw new UnsupportedManifestError('an index lives elsewhere');
      const dir = `_indices/${uuidString(index.uuid.uuid)}`;
      if (index.files.length === 0) unlistedIndexDirs.push(dir);
      else for (const file of index.files) files.push(`${dir}/${file.path}`);
    }
  }
  return { version: Number(manifest.version), files, unlistedIndexDirs };
}

/** The protobuf message at `position`: a u32 length, then that many bytes (ending by `end` when given). */
function message(buffer: Buffer, position: number, end?: number): Buffer {
  if (position + 4 > buffer.length) throw new UnsupportedManifestError(`no message at ${position}`);
  const length = buffer.readUInt32LE(position);
  const stop = position + 4 + length;
  if (stop > buffer.length || (end !== undefined && stop !== end)) {
    throw new UnsupportedManifestError(`message at ${position} has a bad length`);
  }
  return buffer.subarray(position + 4, stop);
}

function uuidString(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  if (hex.length !== 32) throw new UnsupportedManifestError('an index uuid is not 16 bytes');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
