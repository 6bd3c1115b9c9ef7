import { loadSettings } from '../config.js';
import { ImageCatalog } from '../services/catalog/catalog.js';
import { ImageReclaimer } from '../services/images/reclaimer.js';
import { openStorage } from '../services/storage/storage.js';
import { UsageError, parseCommandLine, wholeNumber, type Command } from './command.js';

const USAGE = `Usage: lance-image-search reclaim-images [--dry-run] [--grace-minutes N]

Deletes image objects that no version of the dataset refers to, left by a crash between an image's
PUT and its row's commit, and the temp files of writes cut short (by a crash or a full disk) over
15 minutes ago. Reads the same settings as the service (DATA_URI, S3_ENDPOINT, AWS_*).

Options:
  --dry-run            list them, delete nothing
  --grace-minutes N    leave objects younger than N minutes alone: they may belong to an upload in
                       flight (default 60)
  -h, --help           show this help`;

export const reclaimImages: Command = {
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandLine({
      args,
      options: {
        'dry-run': { type: 'boolean', default: false },
        'grace-minutes': { type: 'string', default: '60' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const graceMinutes = wholeNumber(values['grace-minutes'], '--grace-minutes', 0);
    const settings = (() => {
      try {
        return loadSettings();
      } catch (error) {
        throw new UsageError((error as Error).message); // a mistyped setting: its name, no stack
      }
    })();
    const storage = openStorage(settings);
    // It commits nothing: the write primitives are left unused (closed with the catalog).
    const { catalog } = await ImageCatalog.open({
      uri: storage.lanceUri,
      storageOptions: storage.storageOptions,
      readConsistencyMs: 0,
      objects: storage.objects,
      cacheBytes: { index: settings.LANCE_INDEX_CACHE_BYTES, metadata: settings.LANCE_METADATA_CACHE_BYTES },
    });
    try {
      const report = await new ImageReclaimer(storage.objects, catalog).reclaim({
        graceMs: graceMinutes * 60_000,
        dryRun: values['dry-run'],
      });
      for (const orphan of [...report.orphans, ...report.leftovers])
        console.log(`${report.deleted ? 'deleted' : 'would delete'} ${orphan.key} (${orphan.size} B)`);
      console.log(
        `${report.scanned} image objects, ${report.versions} versions: ${report.orphans.length} unreferenced ` +
          `(${report.bytes} B), ${report.leftovers.length} temp files of interrupted writes ` +
          `${report.deleted ? 'deleted' : 'found (dry run)'}`,
      );
      return 0;
    } finally {
      await catalog.close();
    }
  },
};
