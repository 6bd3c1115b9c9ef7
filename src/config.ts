import { z } from 'zod';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Every setting the service reads from the environment, with its default. */
const SettingsSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** The interface to listen on; by default loopback only while API_KEY is unset, every interface once it is set. */
  HOST: z.string().min(1).optional(),
  DATA_URI: z.string().min(1).default('./data'),
  EMBEDDING_MODEL: z.string().min(1).default('Xenova/clip-vit-base-patch32'),
  MODEL_CACHE_DIR: z.string().min(1).default('./.model-cache'),
  MAX_UPLOAD_BYTES: positiveInt(25 * 1024 * 1024),
  MAX_UPLOAD_FILES: positiveInt(32),
  MAX_REQUEST_BYTES: positiveInt(64 * 1024 * 1024),
  UPLOAD_CONCURRENCY: positiveInt(16),
  UPLOAD_BODY_TIMEOUT_MS: positiveInt(120_000),
  UPLOAD_BUFFER_BYTES: positiveInt(256 * 1024 * 1024),
  UPLOAD_CLIENT_BODIES: positiveInt(64),
  /** 0 lets a body arrive as slowly as UPLOAD_BODY_TIMEOUT_MS allows. */
  UPLOAD_MIN_BYTES_PER_SEC: z.coerce
    .number()
    .int()
    .min(0)
    .default(8 * 1024),
  UPLOAD_RATE_GRACE_MS: positiveInt(10_000),
  MAX_IMAGE_PIXELS: positiveInt(100_000_000),
  DECODE_CONCURRENCY: positiveInt(2),
  /**
   * Estimated memory of the images decoded at once (benchmarks/results/decode-memory.md); a file
   * whose decode alone would take more is refused. 1 GiB decodes any 100-megapixel JPEG, PNG,
   * WebP or GIF, and AVIFs of up to about 50 megapixels (8-bit) or 35 (10- and 12-bit).
   */
  DECODE_MEMORY_BYTES: positiveInt(1024 * 1024 * 1024),
  API_KEY: z.string().min(1).optional(),
  METRICS_TOKEN: z.string().min(1).optional(),
  CACHE_URL: z
    .string()
    .regex(/^(memory:|redis:\/\/|rediss:\/\/)/, 'expected memory: or redis://host:port')
    .default('memory:'),
  CACHE_TTL_MS: positiveInt(10 * 60 * 1000),
  CACHE_MAX_BYTES: positiveInt(64 * 1024 * 1024),
  READ_CONSISTENCY_MS: z.coerce.number().int().min(0).default(1000),
  INDEX_MIN_ROWS: positiveInt(5000),
  COMPACT_FRAGMENTS: positiveInt(64),
  /**
   * The term of the maintenance lease (maintenance-lease.ts): the replica holding it renews it every
   * third of this, and another takes over when it has not for this long.
   */
  MAINTENANCE_LEASE_MS: positiveInt(30_000),
  /**
   * Where the other replicas reach this one (http://host:port), written into its maintenance lease:
   * while it holds the lease they hand it their appends to commit (append-relay.ts). Needs REPLICA_TOKEN.
   */
  REPLICA_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The secret the replicas of one dataset share for those hand-offs; unset, every replica commits its own. */
  REPLICA_TOKEN: z.string().min(16).optional(),
  NODE_ENV: z.string().optional(),
  INTROSPECTION: z.stringbool().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  S3_ENDPOINT: z.string().url().optional(),
  AWS_REGION: z.string().min(1).optional(),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_REQUEST_TIMEOUT_MS: positiveInt(30_000),
  /** Lance's in-memory cache of index partitions, shared by every connection. */
  LANCE_INDEX_CACHE_BYTES: positiveInt(2 * 1024 ** 3),
  /** Lance's in-memory cache of file and manifest metadata. */
  LANCE_METADATA_CACHE_BYTES: positiveInt(256 * 1024 ** 2),
  OBJECT_CACHE_DIR: z.string().min(1).default('./.object-cache'),
  /** 0 turns the object cache off: reads then go straight to the bucket. */
  OBJECT_CACHE_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(8 * 1024 * 1024 * 1024),
});

export type Settings = z.infer<typeof SettingsSchema>;

/**
 * Reads and validates settings once at start-up. Throws an error naming every bad variable
 * and what was expected, so a typo fails the start instead of a request.
 */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  // An empty variable means "unset", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = SettingsSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid settings:\n  ${problems.join('\n  ')}`);
  }
  const settings = parsed.data;
  // A request the buffer could never hold would be told to retry for ever.
  if (settings.UPLOAD_BUFFER_BYTES < settings.MAX_REQUEST_BYTES) {
    throw new Error(
      `Invalid settings:\n  UPLOAD_BUFFER_BYTES: ${settings.UPLOAD_BUFFER_BYTES} is less than MAX_REQUEST_BYTES (${settings.MAX_REQUEST_BYTES}); one request must fit in the buffer`,
    );
  }
  if (settings.REPLICA_URL && !settings.REPLICA_TOKEN) {
    throw new Error(
      'Invalid settings:\n  REPLICA_URL: set without REPLICA_TOKEN; the replicas need a shared secret to hand appends over',
    );
  }
  // Unset with an API key: every interface, as Node listens by default.
  return { ...settings, HOST: settings.HOST ?? (settings.API_KEY ? undefined : '127.0.0.1') };
}

/** Introspection follows Apollo's convention (off when NODE_ENV=production) unless INTROSPECTION says otherwise. */
export function introspectionEnabled(settings: Pick<Settings, 'NODE_ENV' | 'INTROSPECTION'>): boolean {
  return settings.INTROSPECTION ?? settings.NODE_ENV !== 'production';
}
