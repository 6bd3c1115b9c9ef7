import { BulkUpload, type BulkUploadOptions } from './bulk-upload.js';
import { parseCommandLine, UsageError, wholeNumber, type Command } from './command.js';
import { IMAGE_FILE_EXTENSIONS } from '../services/images/image-probe.js';
import { describeSkipped, findImageFiles } from './image-files.js';
import { Interruption } from './interruption.js';
import { ServiceClient } from './service-client.js';
import { UploadReport } from './upload-report.js';

const DEFAULT_URL = 'http://localhost:4000/graphql';

/** After Ctrl-C, how long the answers to requests in flight are awaited before the summary. */
const ANSWER_WAIT_MS = 10_000;

const USAGE = `Usage: lance-image-search upload [options] <files or folders…>

Uploads images to a running service. Folders are walked recursively for files with an image
extension, in any case: ${[...IMAGE_FILE_EXTENSIONS].join(', ')}; the summary counts the
other files by extension. Each file is hashed first and only files the service does not have yet
are sent, so running it again sends nothing new.

Ctrl-C (or SIGTERM) stops sending, waits up to ${ANSWER_WAIT_MS / 1000} s for the answers to requests in flight (a
second Ctrl-C stops waiting) and prints what was done. Exits 1 when any file was refused or failed
or there is nothing to upload, 2 on a usage error, 130 after Ctrl-C (143 after SIGTERM).

Options:
  --url URL           the service's GraphQL endpoint (default ${DEFAULT_URL})
  --concurrency N     requests in flight at once (default 4)
  --batch N           files per uploadImages request (default 8; the service takes MAX_UPLOAD_FILES)
  --api-key KEY       the service's API_KEY (default: the API_KEY environment variable)
  --json              one JSON line per file on stdout: {"file","status","id","reason"}, status
                      stored | already-stored | refused | failed, or after Ctrl-C not-sent |
                      no-answer (sent, but not answered before the end: it may be stored)
  -h, --help          show this help`;

export const upload: Command = {
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: {
        url: { type: 'string', default: DEFAULT_URL },
        concurrency: { type: 'string', default: '4' },
        batch: { type: 'string', default: '8' },
        'api-key': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('name at least one file or folder to upload');
    if (!URL.canParse(values.url)) throw new UsageError(`--url is not a URL: ${values.url}`);
    const concurrency = wholeNumber(values.concurrency, '--concurrency');
    const batch = wholeNumber(values.batch, '--batch');
    const { files, skipped } = await findImageFiles(positionals);
    const skippedNote = describeSkipped(skipped);
    if (files.length === 0) {
      process.stderr.write(`No image files to upload in ${positionals.join(', ')}: ${skippedNote ?? 'no files'}.\n`);
      return 1;
    }
    const { summary, ok, exitCode } = await uploadFiles(files, {
      url: values.url,
      apiKey: values['api-key'] ?? process.env.API_KEY,
      json: values.json,
      concurrency,
      batch,
      skipped: skippedNote,
    });
    (values.json ? process.stderr : process.stdout).write(`${summary}\n`);
    return exitCode ?? (ok ? 0 : 1);
  },
};

interface UploadSettings extends BulkUploadOptions {
  url: string;
  apiKey: string | undefined;
  json: boolean;
  /** What the folder walk passed over, for the summary. */
  skipped: string | undefined;
}

/**
 * Uploads the files with a progress report until they are done, or until a signal: then nothing
 * more is sent, and the answers in flight are awaited for ANSWER_WAIT_MS, or until a second Ctrl-C.
 * The summary says what became of every file; `exitCode` is the signal's (130 for SIGINT) when one came.
 */
async function uploadFiles(files: string[], settings: UploadSettings) {
  const interruption = new Interruption();
  const report = new UploadReport(files.length, settings.json);
  try {
    const client = new ServiceClient({ ...settings, onRetry: (note) => report.note(note), stop: interruption.stop });
    const bulk = new BulkUpload(client, { ...settings, stop: interruption.stop }, (result) => report.record(result));
    interruption.stop.addEventListener('abort', () =>
      report.note(
        `${interruption.signal}: sending nothing more; waiting up to ${ANSWER_WAIT_MS / 1000} s for the answers ` +
          `about ${bulk.filesInFlight} files in flight (Ctrl-C again to stop waiting)`,
      ),
    );
    const outcome = await interruption.within(bulk.run(files), ANSWER_WAIT_MS);
    if (outcome !== 'finished') {
      bulk.abandon(
        outcome === 'quit'
          ? 'sent; a second Ctrl-C ended the wait for its answer'
          : `sent; no answer within ${ANSWER_WAIT_MS / 1000} s of the interrupt`,
      );
      client.abandon();
    }
    const notes = { interruptedBy: interruption.signal, skipped: settings.skipped };
    return { ...report.finish(client.bytesSent, notes), exitCode: interruption.exitCode };
  } finally {
    report.close();
    interruption.close();
  }
}
