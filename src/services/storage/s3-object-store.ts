import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { ObjectBody, ObjectInfo, ObjectStore } from './object-store.js';

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
    await this.client.send(
      new PutObjectCommand({
        ...this.address(key),
        Body: bytes,
        ContentType: contentType,
        ContentLength: bytes.byteLength,
      }),
    );
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
      if (error instanceof S3ServiceException && [409, 412].includes(error.$metadata.httpStatusCode ?? 0)) return false;
      throw error;
    }
  }

  async get(key: string): Promise<ObjectBody | null> {
    try {
      const object = await this.client.send(new GetObjectCommand(this.address(key)));
      return { body: object.Body as Readable, size: object.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand(this.address(key)));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.location.bucket,
          Prefix: this.location.prefix + prefix,
          ContinuationToken,
        }),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key!.slice(this.location.prefix.length);
        yield { key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand(this.address(key)));
  }

  private address(key: string): { Bucket: string; Key: string } {
    return { Bucket: this.location.bucket, Key: this.location.prefix + key };
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.$metadata.httpStatusCode === 404 || error.name === 'NoSuchKey');
}
