#!/usr/bin/env node
// Design rules checked in CI (issue 14): no function in src/ over 60 lines, and no import that
// runs upward between the layers of src/ (a layer imports only itself and the layers below it).
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

const MAX_LINES = 60
/** Lowest first. A folder imports only from itself and folders listed before it. */
export const LAYERS = ['kernel', 'store', 'providers', 'tokens', 'exec', 'cli', 'lib']

const root = resolve(dirname(new URL(import.meta.url).pathname), '..')
const src = join(root, 'src')
const files = readdirSync(src, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
const problems = []
const layerOf = (rel) => rel.split('/')[0]

for (const rel of files) {
  const path = join(src, rel)
  const text = readFileSync(path, 'utf8')
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true)
  const here = layerOf(rel)
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const spec = node.moduleSpecifier.text
      if (spec.startsWith('.')) {
        const target = relative(src, resolve(dirname(path), spec))
        const there = layerOf(target)
        if (!LAYERS.includes(here)) problems.push(`${rel}: folder ${here} is not a known layer (${LAYERS.join(' < ')})`)
        else if (LAYERS.indexOf(there) > LAYERS.indexOf(here)) problems.push(`${rel}: imports ${spec} (${here} → ${there} runs upward)`)
      }
    }
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line
      const end = sf.getLineAndCharacterOfPosition(node.end).line
      const lines = end - start + 1
      if (lines > MAX_LINES) {
        const name = node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)'
        problems.push(`${rel}:${start + 1}: function ${name} has ${lines} lines (at most ${MAX_LINES})`)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
}
for (const p of [...new Set(problems)]) console.error(p)
console.error(`check-design: ${files.length} files, ${problems.length} problem(s)`)
process.exit(problems.length ? 1 : 0)
