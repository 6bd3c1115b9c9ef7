/**
 * What a Lance version manifest says a version reads: its data files, deletion files and index
 * directories, for the dataset mirror (see dataset-mirror.ts).
 *
 * A manifest file ends with `u64 position | u16 major | u16 minor | "LANC"`; at `position` is a
 * u32 length and the `Manifest` protobuf. The index metadata is a separate `IndexSection` message
 * in the same file, at the position the manifest's `index_section` names (again u32 length first).
 * The schema below is the subset of Lance's `protos/table.proto` the mirror needs, with Lance's
 * field numbers; protobuf skips every field it does not name.
 */
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
message UUID { bytes uuid = 1; }
message ExternalFile { string path = 1; }
message DataFile { string path = 1; optional uint32 base_id = 7; }
message DeletionFile { int32 file_type = 1; uint64 read_version = 2; uint64 id = 3; optional uint32 base_id = 7; }
message DataOverlayFile { DataFile data_file = 1; }
message DataFragment {
  uint64 id = 1;
  repeated DataFile files = 2;
  DeletionFile deletion_file = 3;
  ExternalFile external_row_ids = 6;
  ExternalFile external_last_updated_at_versions = 8;
  ExternalFile external_created_at_versions = 10;
  repeated DataOverlayFile overlays = 11;
}
message BasePath { uint32 id = 1; }
message Manifest {
  repeated DataFragment fragments = 2;
  uint64 version = 3;
  optional uint64 index_section = 6;
  repeated BasePath base_paths = 18;
}
message IndexFile { string path = 1; }
message IndexMetadata { UUID uuid = 1; string name = 3; optional uint32 base_id = 9; repeated IndexFile files = 10; }
message IndexSection { repeated IndexMetadata indices = 1; }
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const MANIFEST = root.lookupType('Manifest');
const INDEX_SECTION = root.lookupType('IndexSection');
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
  deletion_file?: { file_type: number; read_version: string; id: string; base_id?: number } | null;
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

/** Thrown for a manifest the mirror cannot follow: reads of that version stay on the object store. */
export class UnsupportedManifestError extends Error {}

/** The files version `bytes` (a whole manifest file) reads. */
export function versionFiles(bytes: Uint8Array): VersionFiles {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 16 || buffer.toString('latin1', buffer.length - 4) !== 'LANC') {
    throw new UnsupportedManifestError('not a Lance manifest');
  }
  const manifest = MANIFEST.toObject(
    MANIFEST.decode(message(buffer, Number(buffer.readBigUInt64LE(buffer.length - 16)), buffer.length - 16)),
    DECODE,
  ) as { fragments: FragmentMessage[]; version: string; index_section?: string; base_paths: unknown[] };
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
