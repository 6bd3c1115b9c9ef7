// What a hostile or careless client can send (issue 6's findings), and what the service must
// answer. test/hostile.test.ts runs it in CI against a real service process with its default
// limits; benchmarks/hostile.ts runs it again and records the process's peak memory.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { MAX_DEPTH, MAX_DIRECTIVES } from '../../src/limits.js';
import { COLOURS, distinctImages, noisy, oversize, solid } from './images.js';

export interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Target {
  url: string;
  /** The dataset's version, to see that a refused request wrote nothing. */
  version(): Promise<number>;
}

export interface HostileCase {
  finding: string;
  name: string;
  /** Sends the request(s); returns the answer(s) to check. */
  send(target: Target): Promise<Answer[]>;
  /** Throws (node:assert) when an answer is not what the service must give. */
  check(answers: Answer[]): void;
  /** True when the case must leave the dataset's version as it was. */
  writesNothing?: boolean;
}

const B = 'hostile-boundary';
const UPLOAD_ONE =
  'mutation ($file: Upload!) { uploadImage(file: $file) { created image { id filename width height } } }';
const UPLOAD_MANY = 'mutation ($files: [Upload!]!) { uploadImages(files: $files) { created image { id } } }';

/** A multipart body from raw part headers and contents, closed unless `close` is false. */
function multipartBody(parts: Array<{ headers: string[]; body: Buffer | string }>, close = true): Buffer {
  const chunks = parts.flatMap(({ headers, body }) => [
    Buffer.from(`--${B}\r\n${headers.join('\r\n')}\r\n\r\n`),
    Buffer.from(body),
    Buffer.from('\r\n'),
  ]);
  if (close) chunks.push(Buffer.from(`--${B}--\r\n`));
  return Buffer.concat(chunks);
}

function operationParts(query: string, variables: object, map: object) {
  return [
    { headers: ['Content-Disposition: form-data; name="operations"'], body: JSON.stringify({ query, variables }) },
    { headers: ['Content-Disposition: form-data; name="map"'], body: JSON.stringify(map) },
  ];
}

function filePart(name: string, filename: string, bytes: Buffer) {
  return { headers: [`Content-Disposition: form-data; name="${name}"; filename="${filename}"`], body: bytes };
}

/** One upload request for each file list, as a client builds it. */
function uploadBody(files: Array<{ bytes: Buffer; filename: string }>): Buffer {
  const many = files.length > 1;
  const variables = many ? { files: files.map(() => null) } : { file: null };
  const map = Object.fromEntries(files.map((_, i) => [String(i), [many ? `variables.files.${i}` : 'variables.file']]));
  return multipartBody([
    ...operationParts(many ? UPLOAD_MANY : UPLOAD_ONE, variables, map),
    ...files.map((f, i) => filePart(String(i), f.filename, f.bytes)),
  ]);
}

async function post(target: Target, body: Buffer | string, contentType = `multipart/form-data; boundary=${B}`) {
  const response = await fetch(`${target.url}/graphql`, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers: { 'content-type': contentType, 'apollo-require-preflight': 'true' },
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

const graphql = (target: Target, query: string) => post(target, JSON.stringify({ query }), 'application/json');

/** A multipart upload request declaring `length` bytes, whose body the caller sends by hand. */
function uploadRequest(target: Target, length: number) {
  return request(`${target.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': `multipart/form-data; boundary=${B}`,
      'content-length': String(length),
      'apollo-require-preflight': 'true',
    },
  });
}

/** Sends part of a body, then drops the connection: the server sees a client vanish mid-file. */
function abortMidBody(target: Target, body: Buffer): Promise<Answer[]> {
  return new Promise((resolve) => {
    const req = uploadRequest(target, body.length);
    req.on('error', () => resolve([]));
    req.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => req.destroy(), 50));
  });
}

/** A PNG whose IHDR claims width × height, with almost no pixel data: the header alone must refuse it. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  // One IDAT chunk, cut short: libvips refuses a PNG without one before it reports the size.
  const idat = pngChunk('IDAT', Buffer.from('789c', 'hex'));
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    pngChunk('IHDR', ihdr),
    idat,
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A PNG chunk: length, type, data and CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function crc32(bytes: Buffer): number {
  let c = ~0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/**
 * A 32×32 PNG carrying `count` zTXt chunks of 8 MB of text each, the most libpng inflates per
 * chunk, compressed about 1000:1: 8 KB on the wire for every 8 MB.
 */
export async function zTxtBombPng(count: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#369' } })
    .png()
    .toBuffer();
  const text = deflateSync(Buffer.alloc(8_000_000, 'A'), { level: 9 });
  const chunks = Array.from({ length: count }, (_, i) =>
    pngChunk('zTXt', Buffer.concat([Buffer.from(`note${i}\0\0`, 'latin1'), text])),
  );
  // After IHDR (signature 8 bytes, IHDR 25), where libpng reads them with the header.
  return Buffer.concat([png.subarray(0, 33), ...chunks, png.subarray(33)]);
}

/** A valid PNG with the CRC of its first IDAT chunk broken. */
async function badCrcPng(): Promise<Buffer> {
  const png = Buffer.from(await noisy(COLOURS.orange, 20, 99, 'png'));
  const idat = png.indexOf('IDAT');
  const crcAt = idat + 4 + png.readUInt32BE(idat - 4);
  png[crcAt] = png[crcAt]! ^ 0xff;
  return png;
}

/** A PNG of width × height pixels of one colour: tiny on disk, huge once decoded. */
const flatPng = (width: number, height: number, seed = 0) =>
  sharp({ create: { width, height, channels: 3, background: { r: seed % 256, g: 90, b: 160 } } })
    .png({ compressionLevel: 9 })
    .toBuffer();

const code = (a: Answer) => a.body?.errors?.[0]?.extensions?.code as string | undefined;
const message = (a: Answer) => String(a.body?.errors?.[0]?.message ?? '');

/** A 4xx with the GraphQL error shape and the given code. */
function refused(a: Answer, expected = 'BAD_USER_INPUT', pattern?: RegExp) {
  assert.ok(a.status >= 400 && a.status < 500, `status ${a.status}: ${JSON.stringify(a.body)}`);
  assert.equal(code(a), expected, JSON.stringify(a.body));
  if (pattern) assert.match(message(a), pattern);
}

/** A GraphQL-level refusal (HTTP 200 with errors, as Apollo answers resolver errors) with the given code. */
function rejected(a: Answer, expected = 'BAD_USER_INPUT', pattern?: RegExp) {
  assert.equal(code(a), expected, JSON.stringify(a.body));
  if (pattern) assert.match(message(a), pattern);
}

/** An operation refused before it ran, with a 400 and a message matching `pattern`. */
function refusedOperation(a: Answer, pattern: RegExp) {
  assert.equal(a.status, 400, JSON.stringify(a.body).slice(0, 300));
  assert.equal(a.body?.data ?? undefined, undefined, 'nothing ran');
  assert.match(message(a), pattern, JSON.stringify(a.body).slice(0, 300));
}

export interface CorpusOptions {
  /** MAX_UPLOAD_BYTES of the service under test. */
  maxUploadBytes: number;
  /** MAX_UPLOAD_FILES of the service under test. */
  maxFiles: number;
  /** How many 100-megapixel PNGs to send in separate requests at once, and in one request. */
  bigImages: { atOnce: number; inOneRequest: number };
  /**
   * Issue 13's costly images: 'real' encodes 10000×10000 AVIFs and progressive JPEGs (about 15 s
   * each, for the benchmark); 'headers' makes a small AVIF whose header says 10000×10000, which
   * the service must refuse all the same, since it decides from the header.
   */
  costlyImages: 'real' | 'headers';
}

export async function hostileCorpus(options: CorpusOptions): Promise<HostileCase[]> {
  const png = await solid(COLOURS.red);
  const ops = operationParts(UPLOAD_ONE, { file: null }, { 0: ['variables.file'] });
  const valid = await distinctImages(40, COLOURS.cyan, 500);
  const [a, b] = await distinctImages(2, COLOURS.purple, 900);
  const cases: HostileCase[] = [
    ...malformedMultipart(png, ops),
    {
      finding: '2',
      name: 'a file over MAX_UPLOAD_BYTES',
      writesNothing: true,
      send: async (t) => [
        await post(t, uploadBody([{ bytes: oversize(png, options.maxUploadBytes), filename: 'big.png' }])),
      ],
      check: ([a]) => refused(a!, 'BAD_USER_INPUT', new RegExp(`limit of ${options.maxUploadBytes} bytes`)),
    },
    {
      finding: '4',
      name: 'more files than MAX_UPLOAD_FILES in one request',
      writesNothing: true,
      send: async (t) => [
        await post(
          t,
          uploadBody(Array.from({ length: options.maxFiles + 1 }, (_, i) => ({ bytes: png, filename: `${i}.png` }))),
        ),
      ],
      check: ([a]) => refused(a!, 'BAD_USER_INPUT', /MAX_UPLOAD_FILES/),
    },
    ...extremeImages(options),
    ...(await decompressionBombs(options)),
    {
      finding: '5',
      name: 'a PNG with a bad CRC among 40 concurrent valid uploads',
      send: async (t) => {
        const bad = await badCrcPng();
        return Promise.all([bad, ...valid].map((bytes, i) => post(t, uploadBody([{ bytes, filename: `c${i}.png` }]))));
      },
      check: ([bad, ...others]) => {
        for (const other of others)
          assert.equal(other.body?.data?.uploadImage?.image?.id?.length, 64, JSON.stringify(other.body));
        if (!bad!.body?.data) rejected(bad!);
      },
    },
    ...costlyOperations(),
    {
      finding: '9',
      name: 'a multipart request whose file part is missing',
      writesNothing: true,
      send: async (t) => [await post(t, multipartBody(ops))],
      check: ([a]) => refused(a!, 'BAD_USER_INPUT', /no such part/),
    },
    {
      finding: '9',
      name: 'a 12000×12000 PNG is refused naming the pixel limit',
      writesNothing: true,
      send: async (t) => [await post(t, uploadBody([{ bytes: pngHeaderOnly(12000, 12000), filename: 'wide.png' }]))],
      check: ([a]) => rejected(a!, 'BAD_USER_INPUT', /12000.12000.*limit/),
    },
    {
      finding: '9',
      name: 'uploadImages([A, A, B]) of new files',
      send: async (t) => [await post(t, uploadBody([a!, a!, b!].map((bytes, i) => ({ bytes, filename: `${i}.jpg` }))))],
      check: ([r]) =>
        assert.deepEqual(
          r!.body?.data?.uploadImages?.map((x: { created: boolean }) => x.created),
          [true, false, true],
        ),
    },
    {
      finding: '9',
      name: 'a 300×100 JPEG with EXIF orientation 6 is 100×300',
      send: async (t) => {
        const bytes = await sharp({ create: { width: 300, height: 100, channels: 3, background: '#3a6' } })
          .jpeg()
          .withMetadata({ orientation: 6 })
          .toBuffer();
        return [await post(t, uploadBody([{ bytes, filename: 'rotated.jpg' }]))];
      },
      check: ([a]) => {
        const image = a!.body?.data?.uploadImage?.image;
        assert.deepEqual([image?.width, image?.height], [100, 300], JSON.stringify(a!.body));
      },
    },
    {
      finding: '9',
      name: 'a file name of 10,000 characters with control characters (RFC 5987 filename*)',
      send: async (t) => {
        const name = encodeURIComponent(`a\u0007b\u202e\n${'n'.repeat(10_000)}.png`);
        const file = {
          headers: [`Content-Disposition: form-data; name="0"; filename*=utf-8''${name}`],
          body: await solid(COLOURS.yellow),
        };
        return [
          await post(
            t,
            multipartBody([...operationParts(UPLOAD_ONE, { file: null }, { 0: ['variables.file'] }), file]),
          ),
        ];
      },
      check: ([a]) => {
        const filename = String(a!.body?.data?.uploadImage?.image?.filename);
        assert.equal([...filename].length, 255);
        assert.match(filename, /^abn+$/);
      },
    },
    {
      finding: '9',
      name: 'image responses: nosniff, and 404 (not 304) for a missing image with If-None-Match',
      send: async (t) => {
        const id = 'e'.repeat(64);
        const missing = await fetch(`${t.url}/images/${id}.png`, { headers: { 'if-none-match': `"${id}"` } });
        const bad = await fetch(`${t.url}/images/..%2Fimages.lance%2F_versions`);
        return [missing, bad].map((r) => ({ status: r.status, headers: r.headers, body: null }));
      },
      check: ([missing, bad]) => {
        assert.equal(missing!.status, 404);
        assert.equal(bad!.status, 404);
        for (const r of [missing!, bad!]) assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      },
    },
    ...availability(png),
  ];
  return cases;
}

/** What one client may not take from the others (issue 13). */
function availability(png: Buffer): HostileCase[] {
  return [
    {
      finding: '13.2',
      name: 'eight clients trickle upload bodies, a byte every half second, while a normal upload is sent',
      send: async (t) => {
        const body = uploadBody([{ bytes: png, filename: 'slow.png' }]);
        const trickles = Array.from({ length: 8 }, () => trickle(t, body));
        try {
          // Past every processing slot (UPLOAD_CONCURRENCY is 4): the upload must not wait for them.
          await new Promise((resolve) => setTimeout(resolve, 300));
          const other = await solid(COLOURS.magenta, 'png', 48);
          const stored = await post(t, uploadBody([{ bytes: other, filename: 'normal.png' }]));
          // Had it waited for a slot, a trickle would have been refused (timed out) first.
          const refusedFirst = trickles.filter((c) => c.answered()).length;
          return [stored, { status: 0, headers: new Headers(), body: { refusedFirst } }];
        } finally {
          for (const c of trickles) c.stop();
        }
      },
      check: ([a, trickles]) => {
        assert.equal(a!.body?.data?.uploadImage?.image?.id?.length, 64, JSON.stringify(a!.body));
        assert.equal(trickles!.body.refusedFirst, 0, 'the upload was answered while every trickle still held on');
      },
    },
  ];
}

/** Sends the head of `body` and then one byte every 500 ms; tells whether it was answered, and how to stop. */
function trickle(target: Target, body: Buffer): { answered(): boolean; stop(): void } {
  const req = uploadRequest(target, body.length);
  req.on('error', () => {});
  let answered = false;
  req.on('response', () => (answered = true));
  let sent = 200;
  req.write(body.subarray(0, sent));
  const timer = setInterval(() => {
    if (sent < body.length - 1) req.write(body.subarray(sent, ++sent));
  }, 500);
  return {
    answered: () => answered,
    stop: () => {
      clearInterval(timer);
      req.destroy();
    },
  };
}

function malformedMultipart(png: Buffer, ops: ReturnType<typeof operationParts>): HostileCase[] {
  const multipartCase = (name: string, body: Buffer, pattern?: RegExp): HostileCase => ({
    finding: '1',
    name,
    writesNothing: true,
    send: async (t) => [await post(t, body)],
    check: ([a]) => refused(a!, 'BAD_USER_INPUT', pattern),
  });
  return [
    multipartCase(
      'a part header without a colon',
      multipartBody([...ops, { headers: ['Content-Disposition form-data; name="0"; filename="a.png"'], body: png }]),
    ),
    multipartCase('a NUL in a file name', multipartBody([...ops, filePart('0', 'a\u0000b.png', png)])),
    multipartCase(
      'a part header over 16 KiB',
      multipartBody([...ops, filePart('0', `${'x'.repeat(16_400)}.png`, png)]),
    ),
    multipartCase(
      'a body cut in the middle of a file',
      multipartBody([...ops, filePart('0', 'a.png', png.subarray(0, 40))], false),
    ),
    multipartCase(
      'operations that are not JSON',
      multipartBody([{ ...ops[0]!, body: '{nope' }, ops[1]!, filePart('0', 'a.png', png)]),
      /JSON/,
    ),
    multipartCase(
      'a file before the map',
      multipartBody([ops[0]!, filePart('0', 'a.png', png), ops[1]!]),
      /before the files/,
    ),
    multipartCase(
      'a map path that names no variable',
      multipartBody([
        ops[0]!,
        { ...ops[1]!, body: '{"0":["variables.__proto__.polluted"]}' },
        filePart('0', 'a.png', png),
      ]),
    ),
    {
      finding: '1',
      name: 'no boundary in the content type',
      writesNothing: true,
      send: async (t) => [await post(t, multipartBody([...ops, filePart('0', 'a.png', png)]), 'multipart/form-data')],
      check: ([a]) => refused(a!),
    },
    {
      finding: '1',
      name: 'a client that disconnects in the middle of a file',
      writesNothing: true,
      send: (t) => abortMidBody(t, multipartBody([...ops, filePart('0', 'a.png', png)])),
      check: () => {},
    },
  ];
}

function extremeImages(options: CorpusOptions): HostileCase[] {
  const { atOnce, inOneRequest } = options.bigImages;
  return [
    ...[
      [100_000, 1],
      [1, 100_000],
    ].map(([width, height]): HostileCase => ({
      finding: '3',
      name: `a ${width}×${height} PNG`,
      send: async (t) => [await post(t, uploadBody([{ bytes: await flatPng(width!, height!), filename: 'line.png' }]))],
      check: ([a]) => {
        if (a!.body?.data) assert.deepEqual(a!.body.data.uploadImage.image.width, width);
        else refused(a!);
      },
    })),
    {
      finding: '4',
      name: `${atOnce} 100-megapixel PNGs at once, and ${inOneRequest} in one request`,
      send: async (t) => {
        const images = await Promise.all(
          Array.from({ length: atOnce + inOneRequest }, (_, i) => flatPng(10_000, 10_000, i)),
        );
        const single = images.slice(0, atOnce);
        const batch = images.slice(atOnce).map((bytes, i) => ({ bytes, filename: `big${i}.png` }));
        return Promise.all([
          ...single.map((bytes, i) => post(t, uploadBody([{ bytes, filename: `huge${i}.png` }]))),
          post(t, uploadBody(batch)),
        ]);
      },
      check: (answers) => {
        for (const a of answers) assert.ok(a.body?.data, JSON.stringify(a.body).slice(0, 300));
      },
    },
  ];
}

/** Issue 13, finding 1: files within MAX_UPLOAD_BYTES and MAX_IMAGE_PIXELS that cost far more to decode. */
async function decompressionBombs({ costlyImages }: CorpusOptions): Promise<HostileCase[]> {
  const small = await solid(COLOURS.blue);
  const costlyAvif = costlyImages === 'real' ? await flatAvif(10_000) : claiming(await flatAvif(64), 10_000);
  const stored = (a: Answer) => assert.ok(a.body?.data?.uploadImage?.image?.id, JSON.stringify(a.body).slice(0, 300));
  const cases: HostileCase[] = [
    {
      finding: '13.1',
      name: 'a 32×32 PNG of 478 KB whose zTXt chunks inflate to 480 MB',
      send: async (t) => [await post(t, uploadBody([{ bytes: await zTxtBombPng(60), filename: 'text.png' }]))],
      check: ([a]) => assert.equal(a!.body?.data?.uploadImage?.image?.width, 32, JSON.stringify(a!.body)),
    },
    {
      finding: '13.1',
      name: `four ${costlyAvif.byteLength}-byte 10000×10000 AVIFs at once, and a 1 KB PNG beside them`,
      send: async (t) =>
        Promise.all([
          ...[0, 1, 2, 3].map((i) => post(t, uploadBody([{ bytes: costlyAvif, filename: `huge${i}.avif` }]))),
          post(t, uploadBody([{ bytes: small, filename: 'small.png' }])),
        ]),
      check: (answers) => {
        for (const a of answers.slice(0, 4)) rejected(a, 'BAD_USER_INPUT', /DECODE_MEMORY_BYTES/);
        stored(answers[4]!);
      },
    },
  ];
  if (costlyImages === 'real') {
    const jpegs = await Promise.all(
      [0, 1].map((i) =>
        sharp({ create: { width: 10_000, height: 10_000 - i, channels: 3, background: '#3a6ea5' } })
          .jpeg({ progressive: true, chromaSubsampling: '4:4:4' })
          .toBuffer(),
      ),
    );
    cases.push({
      finding: '13.1',
      name: 'two 10000×10000 progressive JPEGs (4:4:4) at once, and a 1 KB PNG beside them',
      send: async (t) =>
        Promise.all([...jpegs, small].map((bytes, i) => post(t, uploadBody([{ bytes, filename: `p${i}.jpg` }])))),
      check: (answers) => answers.forEach(stored),
    });
  }
  return cases;
}

/** A flat AVIF of side × side: a few KB, however large. */
const flatAvif = (side: number) =>
  sharp({ create: { width: side, height: side, channels: 3, background: '#3a6ea5' }, limitInputPixels: false })
    .avif({ effort: 0 })
    .toBuffer();

/** The AVIF with the size in its header (the `ispe` property) changed to side × side. */
function claiming(avif: Buffer, side: number): Buffer {
  const ispe = avif.indexOf('ispe');
  const copy = Buffer.from(avif);
  copy.writeUInt32BE(side, ispe + 8);
  copy.writeUInt32BE(side, ispe + 12);
  return copy;
}

function costlyOperations(): HostileCase[] {
  const aliases = (n: number, field: string) =>
    `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
  const operation = (name: string, query: string, pattern: RegExp): HostileCase => ({
    finding: '7',
    name,
    writesNothing: true,
    send: async (t) => [await graphql(t, query)],
    check: ([a]) => refusedOperation(a!, pattern),
  });
  return [
    operation('800 aliases of images(limit: 1000)', aliases(800, 'images(limit: 1000) { id }'), /alias|token/i),
    operation('200 aliased searches', aliases(200, 'search(text: "red") { version }'), /alias|token/i),
    operation(
      '50 aliased restoreVersions',
      `mutation ${aliases(50, 'restoreVersion(version: 1) { version }')}`,
      /alias/i,
    ),
    operation(
      'two restoreVersions',
      'mutation { a: restoreVersion(version: 1) { version } b: restoreVersion(version: 1) { version } }',
      /cost/,
    ),
    operation('15 pages of 1,000 images', aliases(15, 'images(limit: 1000) { id }'), /cost/),
    operation(
      'three pages of 1,000 images with vectors',
      `{ ${[0, 1, 2].map((i) => `p${i}: images(offset: ${i * 1000}, limit: 1000) { vector }`).join(' ')} }`,
      /cost/,
    ),
    operation('3,000 tokens', `{ ${'__typename '.repeat(3000)}}`, /token/i),
    // The schema has no recursive type, so depth comes from nested inline fragments: each counts
    // as a level, as do the two fields inside them.
    operation(
      `a query ${MAX_DEPTH + 2} levels deep`,
      `{ ${'... on Query { '.repeat(MAX_DEPTH)}dataset { version } ${'} '.repeat(MAX_DEPTH)}}`,
      new RegExp(`depth limit of ${MAX_DEPTH} exceeded`, 'i'),
    ),
    // On separate fields: one field with a directive twice is already invalid GraphQL.
    operation(
      `${MAX_DIRECTIVES + 1} directives`,
      `{ ${'__typename @include(if: true) '.repeat(MAX_DIRECTIVES + 1)}}`,
      new RegExp(`directives limit of ${MAX_DIRECTIVES} exceeded`, 'i'),
    ),
  ];
}
