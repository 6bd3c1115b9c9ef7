/**
 * `?version=N` pins the whole app to dataset version N, read-only: every page reads that
 * version, and links inside the app keep the pin.
 */
export function pinnedVersion(url: URL): number | null {
  const value = url.searchParams.get('version');
  const version = value === null ? NaN : Number(value);
  return Number.isInteger(version) && version > 0 ? version : null;
}

/** A path inside the app, keeping the pin. */
export function pinned(path: string, version: number | null): string {
  if (version === null) return path;
  return `${path}${path.includes('?') ? '&' : '?'}version=${version}`;
}
