import path from 'node:path';
import sharp from 'sharp';
import { RESULTS_DIR } from '../lib/paths.js';
import type { TargetFigures } from './scale.js';

const SERIES: Array<{ label: string; colour: string; value: (f: TargetFigures) => number | null }> = [
  { label: 'warm search p50', colour: '#4c72b0', value: (f) => f.warm.p50 },
  { label: 'cold start, filled cache', colour: '#55a868', value: (f) => f.coldFilledMs },
  { label: 'cold start, empty cache', colour: '#dd8452', value: (f) => f.coldEmptyMs },
  { label: "the MVP's way (reconnect, no index)", colour: '#c44e52', value: (f) => f.mvp?.p50 ?? null },
];
const WIDTH = 1200;
const HEIGHT = 620;
const PLOT = { left: 80, right: WIDTH - 30, top: 100, bottom: HEIGHT - 70 };

/** benchmarks/results/<name>.png: per target, warm and cold times on a log scale (not for --quick runs). */
export async function writeScaleChart(
  figures: TargetFigures[],
  rows: number,
  quick: boolean,
  name: string,
): Promise<void> {
  if (quick) return;
  const values = figures.flatMap((f) => SERIES.map((s) => s.value(f))).filter((v): v is number => v !== null && v > 0);
  const lo = Math.floor(Math.log10(Math.min(...values, 1)));
  const hi = Math.ceil(Math.log10(Math.max(...values, 10)));
  const y = (v: number) => PLOT.bottom - ((Math.log10(v) - lo) / (hi - lo)) * (PLOT.bottom - PLOT.top);
  const group = (PLOT.right - PLOT.left) / figures.length;
  const bar = (group * 0.8) / SERIES.length;
  const parts: string[] = [];
  for (let d = lo; d <= hi; d++) {
    const label = 10 ** d >= 1000 ? `${10 ** d / 1000} s` : `${10 ** d} ms`;
    parts.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${y(10 ** d)}" y2="${y(10 ** d)}" stroke="#ddd"/>`);
    parts.push(`<text x="${PLOT.left - 8}" y="${y(10 ** d) + 4}" text-anchor="end" font-size="13">${label}</text>`);
  }
  figures.forEach((f, g) => {
    const x0 = PLOT.left + g * group + group * 0.1;
    SERIES.forEach((s, i) => {
      const v = s.value(f);
      if (v === null || v <= 0) return;
      const x = x0 + i * bar;
      parts.push(`<rect x="${x}" y="${y(v)}" width="${bar - 3}" height="${PLOT.bottom - y(v)}" fill="${s.colour}"/>`);
      const text = v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`;
      parts.push(`<text x="${x + bar / 2}" y="${y(v) - 4}" text-anchor="middle" font-size="11">${text}</text>`);
    });
    parts.push(
      `<text x="${x0 + group * 0.4}" y="${PLOT.bottom + 22}" text-anchor="middle" font-size="14">${f.target}</text>`,
    );
  });
  SERIES.forEach((s, i) => {
    parts.push(`<rect x="${PLOT.left + i * 270}" y="52" width="14" height="14" fill="${s.colour}"/>`);
    parts.push(`<text x="${PLOT.left + i * 270 + 20}" y="64" font-size="13">${s.label}</text>`);
  });
  const title = `Image search over ${rows.toLocaleString('en')} rows: local disk vs object storage (log scale)`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/><text x="${PLOT.left}" y="32" font-size="18" font-weight="bold">${title}</text>
<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${PLOT.bottom}" y2="${PLOT.bottom}" stroke="#333"/>${parts.join('')}</svg>`;
  await sharp(Buffer.from(svg))
    .png()
    .toFile(path.join(RESULTS_DIR, `${name}.png`));
}
