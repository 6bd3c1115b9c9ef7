import sharp from 'sharp';
import type { TargetResult } from './measure-target.js';
import type { OperationId } from './operations.js';

type Group = [OperationId, string, string];

/** The operations drawn, with short two-line labels (the table has the long ones). */
function groups(batchSize: number): Group[] {
  return [
    ['append-1', 'append 1 photo', '(total)'],
    ['append-1-commit', 'append 1 photo:', 'Lance commit'],
    ['append-batch', `append ${batchSize} photos`, '(total)'],
    ['append-batch-commit', `append ${batchSize} photos:`, 'Lance commit'],
    ['search-text', 'text search', '(flat, warm)'],
    ['cold-open', 'cold open', '(connect+open+search)'],
    ['cold-start', 'cold start', '(startServices+search)'],
  ];
}

const COLOURS = ['#4c72b0', '#55a868', '#dd8452', '#c44e52', '#8172b3', '#937860', '#da8bc3', '#8c8c8c', '#ccb974'];
const WIDTH = 1400;
const HEIGHT = 720;
const PLOT = { left: 90, right: WIDTH - 30, top: 110, bottom: HEIGHT - 90 };

interface Bar {
  p50: number;
  p95: number;
}

/** bars[group][target]; null where a target has no figure (failed or skipped). */
function barsOf(results: TargetResult[], drawn: Group[]): Array<Array<Bar | null>> {
  return drawn.map(([id]) =>
    results.map((r) => {
      const op = r.operations.find((o) => o.id === id);
      return op && Number.isFinite(op.latency.p50) ? { p50: op.latency.p50, p95: op.latency.p95 } : null;
    }),
  );
}

/** A log10 y scale over whole decades that covers every value. */
function logScale(values: number[]) {
  const positive = values.filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...positive, 1)));
  const hi = Math.ceil(Math.log10(Math.max(...positive, 10)));
  const y = (v: number) =>
    PLOT.bottom - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (PLOT.bottom - PLOT.top);
  return { lo, hi, y };
}

function label(ms: number): string {
  if (ms >= 1000) return `${ms / 1000} s`;
  return `${ms} ms`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Decade lines with labels, fainter 2× and 5× lines between them. */
function yAxis(scale: ReturnType<typeof logScale>): string[] {
  const parts: string[] = [];
  for (let d = scale.lo; d <= scale.hi; d++) {
    const v = 10 ** d;
    const y = scale.y(v).toFixed(1);
    parts.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${y}" y2="${y}" stroke="#bbb"/>`);
    parts.push(
      `<text x="${PLOT.left - 8}" y="${y}" dy="5" text-anchor="end" font-size="15">${label(Number(v.toPrecision(1)))}</text>`,
    );
    if (d === scale.hi) break;
    for (const m of [2, 5]) {
      const ym = scale.y(m * v).toFixed(1);
      parts.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${ym}" y2="${ym}" stroke="#e6e6e6"/>`);
    }
  }
  const mid = (PLOT.top + PLOT.bottom) / 2;
  parts.push(
    `<text transform="translate(24 ${mid}) rotate(-90)" text-anchor="middle" font-size="16">latency (log scale)</text>`,
  );
  return parts;
}

/** One group's bars: p50 as the bar, p95 as a whisker, the p50 value written above. */
function groupBars(
  bars: Array<Bar | null>,
  x0: number,
  barWidth: number,
  scale: ReturnType<typeof logScale>,
): string[] {
  const parts: string[] = [];
  bars.forEach((bar, t) => {
    if (!bar) return;
    const x = x0 + t * barWidth;
    const top = scale.y(bar.p50);
    const whisker = scale.y(bar.p95);
    const cx = (x + barWidth / 2).toFixed(1);
    parts.push(
      `<rect x="${(x + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(PLOT.bottom - top).toFixed(1)}" fill="${COLOURS[t % COLOURS.length]}"/>`,
      `<line x1="${cx}" x2="${cx}" y1="${top.toFixed(1)}" y2="${whisker.toFixed(1)}" stroke="#222" stroke-width="1.5"/>`,
      `<line x1="${(x + barWidth * 0.3).toFixed(1)}" x2="${(x + barWidth * 0.7).toFixed(1)}" y1="${whisker.toFixed(1)}" y2="${whisker.toFixed(1)}" stroke="#222" stroke-width="1.5"/>`,
      `<text transform="translate(${cx} ${(whisker - 5).toFixed(1)}) rotate(-90)" font-size="12" dy="4">${valueText(bar.p50)}</text>`,
    );
  });
  return parts;
}

function valueText(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)}s`;
  return ms >= 10 ? ms.toFixed(0) : ms.toFixed(1);
}

function legend(results: TargetResult[]): string[] {
  const parts: string[] = [];
  const perRow = 4;
  const columnWidth = (PLOT.right - PLOT.left) / perRow;
  results.forEach((r, t) => {
    const x = PLOT.left + (t % perRow) * columnWidth;
    const y = 52 + Math.floor(t / perRow) * 24;
    parts.push(`<rect x="${x}" y="${y - 12}" width="16" height="16" fill="${COLOURS[t % COLOURS.length]}"/>`);
    parts.push(
      `<text x="${x + 22}" y="${y + 1}" font-size="15">${escapeXml(r.target.name)}${r.error ? ' (failed)' : ''}</text>`,
    );
  });
  return parts;
}

export function chartSvg(results: TargetResult[], batchSize: number): string {
  const drawn = groups(batchSize);
  const bars = barsOf(results, drawn);
  const scale = logScale(bars.flat().flatMap((b) => (b ? [b.p50, b.p95] : [])));
  const groupWidth = (PLOT.right - PLOT.left) / drawn.length;
  const barWidth = (groupWidth * 0.84) / Math.max(1, results.length);
  const body: string[] = [...yAxis(scale), ...legend(results)];
  drawn.forEach(([, line1, line2], g) => {
    const x0 = PLOT.left + g * groupWidth + groupWidth * 0.08;
    body.push(...groupBars(bars[g]!, x0, barWidth, scale));
    const cx = PLOT.left + (g + 0.5) * groupWidth;
    body.push(`<text x="${cx}" y="${PLOT.bottom + 26}" text-anchor="middle" font-size="15">${escapeXml(line1)}</text>`);
    body.push(
      `<text x="${cx}" y="${PLOT.bottom + 46}" text-anchor="middle" font-size="14" fill="#444">${escapeXml(line2)}</text>`,
    );
  });
  body.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${PLOT.bottom}" y2="${PLOT.bottom}" stroke="#222"/>`);
  const title = 'Storage benchmark: p50 latency (bars) and p95 (whiskers) per operation and target';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="26" text-anchor="middle" font-size="19" font-weight="bold">${title}</text>`,
    ...body,
    `<text x="${WIDTH - 10}" y="${HEIGHT - 12}" text-anchor="end" font-size="12" fill="#666">benchmarks/results/storage.md has the figures, traffic and sources</text>`,
    '</svg>',
  ].join('\n');
}

/** Renders the chart to `file`, storage.png or storage.quick.png (sharp's SVG renderer is librsvg). */
export async function writeChart(file: string, results: TargetResult[], batchSize: number): Promise<string> {
  await sharp(Buffer.from(chartSvg(results, batchSize)))
    .png()
    .toFile(file);
  return file;
}
