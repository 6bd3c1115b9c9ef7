import { randomUUID } from 'node:crypto';
import { LATENCY_PROFILES, type LatencyProfile } from '../../test/support/s3-proxy.js';

/**
 * Where one series of measurements runs. `env` holds the service settings that point at it
 * (DATA_URI and, for S3, endpoint and credentials); the DATA_URI is filled in per dataset.
 */
export interface Target {
  /** Short column name in tables and the chart. */
  name: string;
  kind: 'local' | 's3' | 'emulated' | 'real';
  /** What the target is, in a sentence, for the report. */
  description: string;
  /** Settings for an S3 target (without DATA_URI); empty for local disk. */
  s3?: S3Location;
  /** For emulated targets: the delay and bandwidth the proxy adds. */
  profile?: LatencyProfile;
  /** Whether requests go through the counting proxy (so traffic figures exist). */
  proxied: boolean;
}

export interface S3Location {
  bucket: string;
  /** Key prefix under which every dataset of the run lives (deleted afterwards). */
  prefix: string;
  /** Endpoint the service talks to; absent for AWS itself (region endpoint). */
  endpoint?: string;
  /** Endpoint that bypasses the proxy, for setup and clean-up that must not be measured. */
  directEndpoint?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

export interface Skipped {
  target: string;
  reason: string;
}

type Env = NodeJS.ProcessEnv;

/** One prefix per run, so parallel or aborted runs never share (or delete) each other's data. */
const RUN_PREFIX = `bench-storage-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;

export const LOCAL: Target = {
  name: 'local disk',
  kind: 'local',
  description: 'a temp directory on the local disk',
  proxied: false,
};

/** The local S3 store through the proxy: plain, then with each latency profile. */
export function proxiedTargets(env: Env, proxyUrl: string): Target[] {
  const base: S3Location = {
    bucket: env.S3_BUCKET ?? 'lance-test',
    prefix: RUN_PREFIX,
    endpoint: proxyUrl,
    directEndpoint: env.S3_ENDPOINT!,
    region: env.AWS_REGION ?? 'us-east-1',
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
  };
  const plain: Target = {
    name: 'S3 (local)',
    kind: 's3',
    description: `the S3 store at S3_ENDPOINT (${env.S3_ENDPOINT}) through the counting proxy, no added latency`,
    s3: base,
    proxied: true,
  };
  // Fastest first: a run cut short still has the cheap columns.
  const profiles = [LATENCY_PROFILES.S3_EXPRESS, LATENCY_PROFILES.S3_STANDARD, LATENCY_PROFILES.R2];
  return [plain, ...profiles.map((profile) => emulated(base, profile))];
}

function emulated(s3: S3Location, profile: LatencyProfile): Target {
  const jitter = profile.jitterMs ? ` ± ${profile.jitterMs}` : '';
  return {
    name: `${profile.name} (emulated)`,
    kind: 'emulated',
    description:
      `the local S3 store behind the proxy's ${profile.name} profile: ${profile.firstByteMs}${jitter} ms ` +
      `to first byte per request, ${profile.bandwidthMBps} MB/s per connection`,
    s3,
    profile,
    proxied: true,
  };
}

/**
 * Real endpoints named in the environment (see benchmarks/storage/README.md). Each one whose
 * variables are incomplete is reported as skipped instead of failing the run.
 */
export function realTargets(env: Env): { targets: Target[]; skipped: Skipped[] } {
  const candidates = [r2Target(env), s3StandardTarget(env), s3ExpressTarget(env)];
  const targets = candidates.filter((c): c is Target => 'kind' in c);
  const skipped = candidates.filter((c): c is Skipped => 'reason' in c);
  return { targets, skipped };
}

function missing(env: Env, names: string[]): string[] {
  return names.filter((name) => !env[name]);
}

function r2Target(env: Env): Target | Skipped {
  const lacking = missing(env, ['R2_ENDPOINT', 'R2_BUCKET', 'R2_ACCESS_KEY_ID', 'R2_SECRET_ACCESS_KEY']);
  if (lacking.length > 0) return { target: 'Cloudflare R2 (real)', reason: `${lacking.join(', ')} not set` };
  return {
    name: 'R2 (real)',
    kind: 'real',
    description: `Cloudflare R2 bucket ${env.R2_BUCKET} at ${env.R2_ENDPOINT}`,
    s3: {
      bucket: env.R2_BUCKET!,
      prefix: joinPrefix(env.R2_PREFIX),
      endpoint: env.R2_ENDPOINT!,
      region: 'auto',
      accessKeyId: env.R2_ACCESS_KEY_ID,
      secretAccessKey: env.R2_SECRET_ACCESS_KEY,
    },
    proxied: false,
  };
}

function s3StandardTarget(env: Env): Target | Skipped {
  if (!env.S3_BENCH_BUCKET) return { target: 'AWS S3 Standard (real)', reason: 'S3_BENCH_BUCKET not set' };
  return awsTarget(env, 'S3 Standard (real)', env.S3_BENCH_BUCKET, 'AWS S3 Standard bucket', env.S3_BENCH_REGION);
}

function s3ExpressTarget(env: Env): Target | Skipped {
  const bucket = env.S3_EXPRESS_BUCKET;
  if (!bucket) return { target: 'AWS S3 Express One Zone (real)', reason: 'S3_EXPRESS_BUCKET not set' };
  // src/services/storage/storage.ts recognises directory buckets by name; anything else would be S3 Standard.
  if (!/--[a-z0-9-]+--x-s3$/.test(bucket)) {
    return {
      target: 'AWS S3 Express One Zone (real)',
      reason: `${bucket} is not a directory bucket name (--azid--x-s3)`,
    };
  }
  const region = env.S3_EXPRESS_REGION ?? env.S3_BENCH_REGION;
  return awsTarget(env, 'S3 Express (real)', bucket, 'AWS S3 Express One Zone directory bucket', region);
}

/**
 * AWS itself: no endpoint (the service then uses the region's). Credentials come from
 * S3_BENCH_* first, because the local store's `scripts/s3-local.sh env` sets AWS_* to its own.
 */
function awsTarget(env: Env, name: string, bucket: string, what: string, wantedRegion?: string): Target {
  const region = wantedRegion ?? env.AWS_REGION ?? 'us-east-1';
  return {
    name,
    kind: 'real',
    description: `${what} ${bucket} in ${region}`,
    s3: {
      bucket,
      prefix: joinPrefix(env.S3_BENCH_PREFIX),
      region,
      accessKeyId: env.S3_BENCH_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.S3_BENCH_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY,
    },
    proxied: false,
  };
}

function joinPrefix(parent: string | undefined): string {
  const trimmed = parent?.replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/${RUN_PREFIX}` : RUN_PREFIX;
}

/** Service settings for a fresh dataset `name` of `target`, talking to `endpoint`. */
export function s3Settings(s3: S3Location, name: string, endpoint = s3.endpoint): Record<string, string> {
  const settings: Record<string, string> = {
    DATA_URI: `s3://${s3.bucket}/${s3.prefix}/${name}`,
    AWS_REGION: s3.region,
  };
  if (endpoint) settings.S3_ENDPOINT = endpoint;
  if (s3.accessKeyId && s3.secretAccessKey) {
    settings.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    settings.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
  }
  return settings;
}
