import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256, parseQuery } from './s3-upstream.js';

/** The key a client must sign with: the read endpoint's own, random per process. */
export interface SigningKey {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** Why a request is refused, as S3 says it (403 with one of S3's error codes). */
export interface Refusal {
  code: 'AccessDenied' | 'InvalidAccessKeyId' | 'SignatureDoesNotMatch' | 'RequestTimeTooSkewed';
  message: string;
}

/** S3 refuses a request signed more than 15 minutes from its own clock; so does the endpoint. */
const MAX_SKEW_MS = 15 * 60 * 1000;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/s3\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Checks a request's SigV4 signature (header form, as Lance's S3 client sends it) against the
 * endpoint's secret: the signature is computed again over the request as received, with only
 * the headers the client says it signed, and compared in constant time. The secret never
 * crosses the wire, so a process that reads loopback traffic learns the key id but cannot sign
 * a request of its own.
 */
export class SignatureCheck {
  private readonly signer: SignatureV4;

  constructor(
    private readonly key: SigningKey,
    private readonly now: () => number = Date.now,
  ) {
    // The path is signed as sent (S3 does not encode it again), as in s3-upstream.ts.
    this.signer = new SignatureV4({
      service: 's3',
      region: key.region,
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
      sha256: NodeSha256,
      uriEscapePath: false,
    });
  }

  /** Null for a request signed with the key; otherwise why it is refused. */
  async refusal(method: string, url: string, headers: IncomingHttpHeaders): Promise<Refusal | null> {
    const auth = AUTHORIZATION.exec(String(headers.authorization ?? ''));
    if (!auth) return { code: 'AccessDenied', message: 'the request is not signed (AWS4-HMAC-SHA256 header)' };
    const [, accessKeyId, scopeDate, region, signedHeaderList, signature] = auth as unknown as string[];
    if (accessKeyId !== this.key.accessKeyId || region !== this.key.region) {
      return { code: 'InvalidAccessKeyId', message: 'not the read endpoint key and region' };
    }
    const signed = signedHeaderList!.split(';');
    const amzDate = String(headers['x-amz-date'] ?? '');
    const date = AMZ_DATE.exec(amzDate);
    if (!date || !signed.includes('x-amz-date') || !signed.includes('host') || scopeDate !== amzDate.slice(0, 8)) {
      return { code: 'AccessDenied', message: 'the signature must cover host and x-amz-date, dated as its scope' };
    }
    const [, y, mo, d, h, mi, s] = date.map(Number) as number[];
    const signingDate = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
    if (Math.abs(this.now() - signingDate.getTime()) > MAX_SKEW_MS) {
      return { code: 'RequestTimeTooSkewed', message: 'signed more than 15 minutes from now' };
    }
    const expected = await this.signature(method, url, headers, signed, signingDate);
    if (expected === null || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature!))) {
      return { code: 'SignatureDoesNotMatch', message: 'the signature does not match the read endpoint key' };
    }
    return null;
  }

  private async signature(
    method: string,
    url: string,
    headers: IncomingHttpHeaders,
    signed: string[],
    signingDate: Date,
  ): Promise<string | null> {
    const picked: Record<string, string> = {};
    for (const name of signed) {
      const value = headers[name];
      if (value === undefined) return null;
      picked[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const at = url.indexOf('?');
    const result = await this.signer.sign(
      {
        method,
        protocol: 'http:',
        hostname: picked.host!,
        path: at < 0 ? url : url.slice(0, at),
        query: parseQuery(at < 0 ? '' : url.slice(at + 1)),
        headers: picked,
      },
      { signingDate, signableHeaders: new Set(signed) },
    );
    const authorization = String(result.headers.authorization ?? result.headers.Authorization);
    return /Signature=([0-9a-f]{64})$/.exec(authorization)?.[1] ?? null;
  }
}
