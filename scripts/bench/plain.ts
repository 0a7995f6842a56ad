// The load generators, the reference server and the spawn loop run as plain `node x.js`
// processes, like the runner's compiled workers: no TypeScript loader in their address
// space or start-up. Each tool is one self-contained file (node: built-ins only), so
// transpiling it alone is enough.
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

const TOOLS = path.join(__dirname, 'tools')

/** Transpiles scripts/bench/tools/<name>.ts into dir; returns the .js path. */
export function plainTool (name: string, dir: string): string {
  const out = path.join(dir, `${name}.js`)
  if (fs.existsSync(out)) return out
  const source = fs.readFileSync(path.join(TOOLS, `${name}.ts`), 'utf8')
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: `${name}.ts`
  })
  fs.writeFileSync(out, outputText)
  return out
}
