import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { ObjectBody, ObjectInfo, ObjectStore } from './object-store.js';
import { AlreadyInStorageError, NotInStorageError, storageFailure, throwStorageFailure } from './storage-failures.js';

export interface S3Location {
  bucket: string;
  /** Key prefix under the bucket, '' or ending in '/'. */
  prefix: string;
}

/** Objects in an S3-compatible bucket (R2, S3, S3 Express, MinIO, Ceph RGW) under a prefix. */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    private readonly location: S3Location,
  ) {}

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    // A single PUT is atomic on S3: readers see the whole object or none.
    await this.client
      .send(
        new PutObjectCommand({
          ...this.address(key),
          Body: bytes,
          ContentType: contentType,
          ContentLength: bytes.byteLength,
        }),
      )
      .catch(throwStorageFailure);
  }

  async putIfAbsent(key: string, bytes: Uint8Array, contentType: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({
          ...this.address(key),
          Body: bytes,
          ContentType: contentType,
          ContentLength: bytes.byteLength,
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (error) {
      // 412: the object exists. 409: another conditional write of the key is in progress (S3, R2);
      // one of them wins, and this one cannot know that it will.
      const failure = storageFailure(error);
      if (failure instanceof AlreadyInStorageError) return false;
      throw failure;
    }
  }

  async get(key: string): Promise<ObjectBody | null> {
    const object = await this.client.send(new GetObjectCommand(this.address(key))).catch(absent);
    return object && { body: object.Body as Readable, size: object.ContentLength ?? 0 };
  }

  async exists(key: string): Promise<boolean> {
    return (await this.client.send(new HeadObjectCommand(this.address(key))).catch(absent)) !== null;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client
        .send(
          new ListObjectsV2Command({
            Bucket: this.location.bucket,
            Prefix: this.location.prefix + prefix,
            ContinuationToken,
          }),
        )
        .catch(throwStorageFailure);
      for (const object of page.Contents ?? []) {
        const key = object.Key!.slice(this.location.prefix.length);
        yield { key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /** A PUT is atomic: an interrupted one leaves nothing. */
  async *leftovers(): AsyncIterable<ObjectInfo> {}

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand(this.address(key))).catch(throwStorageFailure);
  }

  private address(key: string): { Bucket: string; Key: string } {
    return { Bucket: this.location.bucket, Key: this.location.prefix + key };
  }
}

/** Null for an object that is not there; any other failure as the domain's error. */
function absent(error: unknown): null {
  const failure = storageFailure(error);
  if (failure instanceof NotInStorageError) return null;
  throw failure;
}
