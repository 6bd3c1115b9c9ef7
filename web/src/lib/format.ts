/** Sizes and times as people read them. */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export function dateTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function count(n: number): string {
  return n.toLocaleString('en');
}

/** The name shown (and used as alt text) for an image that came without one. */
export function imageName(filename: string | null): string {
  return filename ?? 'unnamed image';
}
