import { cleanText, escapeJsonControls, safeIso } from '../kernel/sanitize.js'
import type { IO } from './io.js'

/** One JSON document on stdout (the --json contract); control characters only JSON-escaped. */
export function printJson(io: IO, value: unknown): void {
  io.out(`${escapeJsonControls(JSON.stringify(value, null, 2))}\n`)
}

/** A terminal's width to fit a table into, and the columns never cut (ids and masked keys to read whole). */
export interface TableFit {
  width: number
  keep: readonly number[]
}

/**
 * Terminal columns of one character: 2 for East Asian wide and fullwidth characters and emoji,
 * 0 for combining marks, zero-width characters and variation selectors, else 1 (the ranges of
 * wcwidth that matter for names, emails and ids a server sends).
 */
function charWidth(c: string): number {
  const cp = c.codePointAt(0) ?? 0
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0
  const wide =
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  return wide ? 2 : 1
}

/** Width on a terminal, by characters (a cut never splits an emoji's two UTF-16 units). */
const len = (s: string) => Array.from(s).reduce((w, c) => w + charWidth(c), 0)

/** `s` cut to `w` columns, ending in `…` when something was cut. */
function cut(s: string, w: number): string {
  if (len(s) <= w) return s
  let out = ''
  let used = 0
  for (const c of s) {
    if (used + charWidth(c) > w - 1) break
    out += c
    used += charWidth(c)
  }
  return `${out}…`
}

/**
 * Left-aligned columns, two spaces apart (gh tableprinter). With `fit` (stdout is a terminal),
 * the widest columns not kept are cut, with `…`, until the table fits the width or every such
 * column is down to its header (at least 12). Piped output is never cut; `--json` has every value.
 */
export function formatTable(header: readonly string[], dirty: ReadonlyArray<readonly string[]>, fit?: TableFit): string {
  // Cells may hold server text (names, emails): control characters and ESC sequences go.
  const rows = dirty.map((r) => r.map((c) => cleanText(c)))
  const widths = header.map((h, i) => Math.max(len(h), ...rows.map((r) => len(r[i] ?? ''))))
  if (fit) fitWidths(widths, header, fit)
  const pad = (c: string, w: number) => c + ' '.repeat(Math.max(0, w - len(c)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? cut(c, widths[i] ?? 0) : pad(cut(c, widths[i] ?? 0), widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return `${[line(header), ...rows.map(line)].join('\n')}\n`
}

/** Narrows the widest column not kept, one column at a time, down to its header (at least 12). */
function fitWidths(widths: number[], header: readonly string[], fit: TableFit): void {
  const floors = widths.map((w, i) => (fit.keep.includes(i) ? w : Math.min(w, Math.max(len(header[i] ?? ''), 12))))
  let total = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1)
  while (total > fit.width) {
    let widest = -1
    for (let i = 0; i < widths.length; i++) {
      if ((widths[i] ?? 0) > (floors[i] ?? 0) && (widest < 0 || (widths[i] ?? 0) > (widths[widest] ?? 0))) widest = i
    }
    if (widest < 0) return // as narrow as it goes: the terminal wraps the rest
    widths[widest] = (widths[widest] ?? 0) - 1
    total--
  }
}

/** The fit for a table on stdout: its terminal's width, or none when stdout is not a terminal. */
export function terminalFit(io: IO, keep: readonly number[]): TableFit | undefined {
  return io.stdoutIsTTY && io.stdoutColumns ? { width: io.stdoutColumns, keep } : undefined
}

/** "key: value" lines with aligned values, for human-readable single objects. */
export function formatFields(dirty: ReadonlyArray<readonly [string, string]>): string {
  const fields = dirty.map(([k, v]) => [cleanText(k), cleanText(v)] as const)
  const w = Math.max(...fields.map(([k]) => k.length))
  return `${fields.map(([k, v]) => `${`${k}:`.padEnd(w + 1)} ${v}`).join('\n')}\n`
}

/** "in 54 min", "in 2 h 5 min", "expired 3 min ago", for human output only. */
export function relativeTime(targetMs: number, nowMs: number): string {
  if (!Number.isFinite(targetMs)) return 'unknown'
  const diff = targetMs - nowMs
  const abs = Math.abs(diff)
  const min = Math.round(abs / 60_000)
  let span: string
  if (abs < 60_000) span = `${Math.max(1, Math.round(abs / 1000))} s`
  else if (min < 60) span = `${min} min`
  else if (min < 48 * 60) span = `${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ''}`
  else span = `${Math.round(min / 1440)} days`
  return diff >= 0 ? `in ${span}` : `expired ${span} ago`
}

/** POSIX single-quoted shell word: safe for any value in `export NAME='value'`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/** One shell word for a command we suggest: `value` as is when plain, else single-quoted (ids come from servers). */
export function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : shellQuote(value)
}

/** ISO-8601 or null; never throws, whatever a cache entry or a server said (Trust rules). */
export function isoOrNull(ms: number | undefined): string | null {
  return safeIso(ms)
}

/** "a, b and c" (for help texts generated from the provider registry). */
export function listNames(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
}

/** Wraps words at `width` columns; the first line starts `offset` columns in. */
export function wrap(text: string, offset = 0, width = 90): string {
  const lines: string[] = []
  let line = ''
  let room = width - offset
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line)
      line = word
      room = width
    } else line = line ? `${line} ${word}` : word
  }
  return [...lines, line].join('\n')
}
