import type { FileUpload } from 'graphql-upload-minimal';
import type { IncomingFile } from './uploads.js';

/** The file was larger than MAX_UPLOAD_BYTES; the multipart parser stopped reading it. */
export class UploadTooLargeError extends Error {}

/**
 * Reads one multipart file into memory. The multipart parser enforces MAX_UPLOAD_BYTES and
 * errors the stream past it, so memory stays bounded by the limit.
 */
export async function readUpload(upload: Promise<FileUpload> | FileUpload, maxBytes: number): Promise<IncomingFile> {
  const file = await upload;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of file.createReadStream()) {
      size += (chunk as Buffer).byteLength;
      if (size > maxBytes) throw new UploadTooLargeError(`the file is over the limit of ${maxBytes} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof UploadTooLargeError) throw error;
    if ((error as { status?: number }).status === 413) {
      throw new UploadTooLargeError(`the file is over the limit of ${maxBytes} bytes`);
    }
    throw error;
  }
  return { bytes: Buffer.concat(chunks), filename: file.filename || null };
}
