import { BulkUpload } from './bulk-upload.js';
import { parseCommandLine, UsageError, wholeNumber, type Command } from './command.js';
import { IMAGE_FILE_EXTENSIONS } from '../services/images/image-probe.js';
import { findImageFiles } from './image-files.js';
import { ServiceClient } from './service-client.js';
import { UploadReport } from './upload-report.js';

const DEFAULT_URL = 'http://localhost:4000/graphql';

const USAGE = `Usage: lance-image-search upload [options] <files or folders…>

Uploads images to a running service. Folders are walked recursively for files with an image
extension, in any case: ${[...IMAGE_FILE_EXTENSIONS].join(', ')}. Each file is hashed first and only
files the service does not have yet are sent, so running it again sends nothing new.
Exits 1 when any file was refused or failed, 2 on a usage error.

Options:
  --url URL           the service's GraphQL endpoint (default ${DEFAULT_URL})
  --concurrency N     requests in flight at once (default 4)
  --batch N           files per uploadImages request (default 8; the service takes MAX_UPLOAD_FILES)
  --api-key KEY       the service's API_KEY (default: the API_KEY environment variable)
  --json              one JSON line per file on stdout: {"file","status","id","reason"}, status
                      stored | already-stored | refused | failed
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
    const options = {
      concurrency: wholeNumber(values.concurrency, '--concurrency'),
      batch: wholeNumber(values.batch, '--batch'),
    };
    const files = await findImageFiles(positionals);
    const report = new UploadReport(files.length, values.json);
    const client = new ServiceClient({
      url: values.url,
      apiKey: values['api-key'] ?? process.env.API_KEY,
      onRetry: (message) => report.note(message),
    });
    await new BulkUpload(client, options, (result) => report.record(result)).run(files);
    const { summary, ok } = report.finish(client.bytesSent);
    (values.json ? process.stderr : process.stdout).write(`${summary}\n`);
    return ok ? 0 : 1;
  },
};
