/**
 * lance-image-search: the service's command-line tools (`bin/lance-image-search.js`, `npm run upload`,
 * `npm run reclaim-images`). Each command is loaded only when it runs: `upload` talks to a running
 * service over HTTP and never loads Lance.
 */
import { UsageError, type Command } from './command.js';

const COMMANDS: Record<string, () => Promise<Command>> = {
  upload: async () => (await import('./upload.js')).upload,
  'reclaim-images': async () => (await import('./reclaim-images.js')).reclaimImages,
};

const USAGE = `Usage: lance-image-search <command> [options]

Commands:
  upload           upload image files and folders to a running service
  reclaim-images   delete image objects that no version of the dataset refers to

lance-image-search <command> --help shows a command's options.`;

async function main([name, ...args]: string[]): Promise<number> {
  if (name === '--help' || name === '-h') return print(process.stdout, USAGE, 0);
  const load = name === undefined ? undefined : COMMANDS[name];
  if (!load) return print(process.stderr, `${name ? `unknown command "${name}"\n\n` : ''}${USAGE}`, 2);
  const command = await load();
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) return print(process.stderr, `${error.message}\n\n${command.usage}`, 2);
    throw error;
  }
}

function print(stream: NodeJS.WriteStream, text: string, code: number): number {
  stream.write(`${text}\n`);
  return code;
}

process.exitCode = await main(process.argv.slice(2));
