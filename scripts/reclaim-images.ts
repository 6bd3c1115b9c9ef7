/**
 * Deletes image objects that no version of the dataset refers to (left by a crash between an
 * image's PUT and its row's commit). Reads the same settings as the service.
 *
 *   npm run reclaim-images -- [--dry-run] [--grace-minutes 60]
 */
import { parseArgs } from 'node:util';
import { loadSettings } from '../src/config.js';
import { ImageCatalog } from '../src/services/catalog/catalog.js';
import { ImageReclaimer } from '../src/services/images/reclaimer.js';
import { openStorage } from '../src/services/storage/storage.js';

const { values } = parseArgs({
  options: { 'dry-run': { type: 'boolean', default: false }, 'grace-minutes': { type: 'string', default: '60' } },
});
const graceMinutes = Number(values['grace-minutes']);
if (!Number.isFinite(graceMinutes) || graceMinutes < 0) throw new Error('--grace-minutes must be a number ≥ 0');

const settings = loadSettings();
const storage = openStorage(settings);
const catalog = await ImageCatalog.open({
  uri: storage.lanceUri,
  storageOptions: storage.storageOptions,
  readConsistencyMs: 0,
  objects: storage.objects,
});
const report = await new ImageReclaimer(storage.objects, catalog).reclaim({
  graceMs: graceMinutes * 60_000,
  dryRun: values['dry-run'],
});
for (const orphan of report.orphans)
  console.log(`${report.deleted ? 'deleted' : 'would delete'} ${orphan.key} (${orphan.size} B)`);
console.log(
  `${report.scanned} image objects, ${report.versions} versions: ${report.orphans.length} unreferenced ` +
    `(${report.bytes} B) ${report.deleted ? 'deleted' : 'found (dry run)'}`,
);
catalog.close();
