/**
 * Readers of env files and PowerShell, written from their documented rules, for tests of
 * `--format dotenv|powershell`. The real `dotenv` package is used directly where it is tested.
 */

/**
 * `docker run --env-file` (docker/cli pkg/kvfile, formerly opts/envfile.go): lines split on LF
 * (a CR before it dropped, as bufio.ScanLines does), the file must be valid UTF-8, a BOM on line 1
 * is removed, leading whitespace of each line is removed, empty lines and lines starting with `#`
 * are skipped, the key is everything before the first `=` and may not contain space or tab, and
 * the value is the rest, as-is. Newer docker releases also strip one pair of matching quotes
 * (`'…'` or `"…"`) around the value: `trimQuotes` selects that variant.
 */
export function readDockerEnvFile(bytes: Buffer, opts: { trimQuotes: boolean }): Record<string, string> {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new Error('invalid utf8')
  }
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  lines.forEach((raw, i) => {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (i === 0 && line.startsWith('\uFEFF')) line = line.slice(1)
    line = line.replace(/^\s+/u, '')
    if (line === '' || line.startsWith('#')) return
    const eq = line.indexOf('=')
    const key = eq < 0 ? line : line.slice(0, eq)
    if (key === '') throw new Error(`no variable name on line '${line}'`)
    if (/[ \t]/.test(key)) throw new Error(`variable '${key}' contains whitespaces`)
    if (eq < 0) return // KEY alone: looked up in docker's own environment; we never write that
    let value = line.slice(eq + 1)
    if (opts.trimQuotes && value.length >= 2 && (value[0] === "'" || value[0] === '"') && value.at(-1) === value[0]) value = value.slice(1, -1)
    out[key] = value
  })
  return out
}

/**
 * `$GITHUB_ENV` as the Actions runner reads it (SetEnvFileCommand): `NAME=value` lines, value
 * as-is after the first `=`; `NAME<<DELIM` starts a heredoc (we never write one).
 */
export function readGithubEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    if (line === '') continue
    const eq = line.indexOf('=')
    const heredoc = line.indexOf('<<')
    if (eq < 0 || (heredoc >= 0 && heredoc < eq)) throw new Error(`not a NAME=value line: ${line}`)
    const name = line.slice(0, eq)
    if (name === '') throw new Error('empty name')
    out[name] = line.slice(eq + 1)
  }
  return out
}

const PS_QUOTES = "'\u2018\u2019\u201a\u201b"

/**
 * `$env:NAME = 'value'` statements, one after the other, each ended by a newline. The value is a
 * PowerShell verbatim-string-literal (language specification §2.3.5.2): it opens and closes with
 * any single-quote-character (' ‘ ’ ‚ ‛); inside, two single-quote-characters stand for one
 * (the tokenizer keeps the second); every other character, newlines included, is literal.
 */
export function readPowershellEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  let i = 0
  while (i < text.length) {
    const head = /^\$env:([A-Za-z_][A-Za-z0-9_]*) = /.exec(text.slice(i))
    if (!head) throw new Error(`expected $env:NAME = at ${i}: ${JSON.stringify(text.slice(i, i + 40))}`)
    i += head[0].length
    if (!PS_QUOTES.includes(text[i] ?? '')) throw new Error(`expected a single-quoted string at ${i}`)
    i++
    let value = ''
    for (;;) {
      const c = text[i]
      if (c === undefined) throw new Error('unterminated string')
      i++
      if (PS_QUOTES.includes(c)) {
        if (PS_QUOTES.includes(text[i] ?? '')) {
          value += text[i]
          i++
          continue
        }
        break
      }
      value += c
    }
    if (text[i] !== '\n') throw new Error(`expected a newline after the string at ${i}`)
    i++
    out[head[1] as string] = value
  }
  return out
}
