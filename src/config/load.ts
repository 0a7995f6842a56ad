// Loads the configuration: defaults <- config.json <- RR_* env <- flags.
// Every problem becomes one line naming the key, its source and the reason;
// the caller exits 78 (EX_CONFIG) with them.
import fs from 'node:fs'
import path from 'node:path'
import envSchema from 'env-schema'
import { SETTINGS, SETTING_BY_KEY, envName, type Config, type Source } from './settings'
import { checkRules } from './rules'

export const EX_CONFIG = 78

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'ConfigError'
  }
}

export interface LoadInput {
  argv: string[]
  env: NodeJS.ProcessEnv
  cwd?: string
}

export interface Loaded {
  config: Config
  sources: Record<string, Source>
  configPath: string
}

// Variables a robot receives; a runner started from inside a robot must not trip on them.
const ROBOT_VARS = /^RR_(CONFIG|EXECUTION_ID|PARAMS|PARAMS_FILE|ARTIFACTS_DIR|SECRET_.*)$/
const PATH_KEYS = ['cert_file', 'key_file', 'ca_cert', 'robots_dir', 'data_dir', 'pidfile', 'log_file', 'access_log']
const OBJECT_KEYS = SETTINGS.filter((s) => s.schema.type === 'object').map((s) => s.key)

type Raw = Record<string, unknown>

// env-schema's default Ajv silently drops unknown nested fields; typos must be errors.
// (env-schema accepts customOptions as an object of Ajv options; its typings only list the function form.)
const STRICT_AJV = { customOptions: { removeAdditional: false } } as unknown as NonNullable<Parameters<typeof envSchema>[0]>['ajv']
interface Layer { source: Source, values: Raw, label: (key: string) => string }

export function loadConfig (input: LoadInput): Loaded {
  const cwd = input.cwd ?? process.cwd()
  const problems: string[] = []
  const flags = parseFlags(input.argv, problems)
  const explicitPath = (flags.config as string | undefined) ?? input.env.RR_CONFIG
  delete flags.config
  const configPath = path.resolve(cwd, explicitPath ?? 'config/config.json')

  const layers: Layer[] = [
    { source: 'file', values: readFile(configPath, explicitPath !== undefined, problems), label: () => `file ${configPath}` },
    { source: 'env', values: readEnv(input.env, problems), label: (k) => `env ${envName(k)}` },
    { source: 'flag', values: flags, label: (k) => `flag --${k}` }
  ]

  const merged: Raw = {}
  const sources: Record<string, Source> = {}
  for (const layer of layers) {
    const valid = validateLayer(layer, problems)
    for (const [key, value] of Object.entries(valid)) {
      merged[key] = value
      sources[key] = layer.source
    }
  }

  for (const s of SETTINGS) {
    if (merged[s.key] === undefined && s.default !== undefined && typeof s.default !== 'function') {
      merged[s.key] = structuredClone(s.default)
      sources[s.key] = 'default'
    }
    if (OBJECT_KEYS.includes(s.key) && sources[s.key] !== 'default' && merged[s.key] !== undefined) {
      merged[s.key] = { ...(s.default as Raw), ...(merged[s.key] as Raw) }
    }
  }
  for (const s of SETTINGS) {
    if (merged[s.key] === undefined && typeof s.default === 'function') {
      merged[s.key] = (s.default as (c: Raw) => unknown)(merged)
      sources[s.key] = 'default'
    }
  }
  for (const key of PATH_KEYS) {
    const v = merged[key]
    if (typeof v === 'string' && v !== '-') merged[key] = path.resolve(cwd, v)
  }

  for (const s of SETTINGS) {
    if (s.required === true && merged[s.key] === undefined) {
      problems.push(`${s.key} (missing): required; set it in config.json, ${envName(s.key)} or --${s.key}`)
    }
  }
  if (problems.length === 0) {
    problems.push(...checkRules(merged as unknown as Config, (k) => describeSource(k, sources[k], layers)))
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return { config: deepFreeze(merged as unknown as Config), sources, configPath }
}

function describeSource (key: string, source: Source | undefined, layers: Layer[]): string {
  const layer = layers.find((l) => l.source === source)
  return layer ? layer.label(key) : 'default'
}

function readFile (file: string, explicit: boolean, problems: string[]): Raw {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && !explicit) return {}
    problems.push(`config (file ${file}): cannot read: ${code ?? String(err)}`)
    return {}
  }
  try {
    const parsed: unknown = JSON.parse(text)
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push(`config (file ${file}): must be a JSON object`)
      return {}
    }
    // Keys starting with // are comments (config/config.json.example uses them).
    return Object.fromEntries(Object.entries(parsed).filter(([k]) => !k.startsWith('//')))
  } catch (err) {
    problems.push(`config (file ${file}): not valid JSON: ${(err as Error).message}`)
    return {}
  }
}

function readEnv (env: NodeJS.ProcessEnv, problems: string[]): Raw {
  const out: Raw = {}
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('RR_') || ROBOT_VARS.test(name) || value === undefined) continue
    const key = name.slice(3).toLowerCase()
    if (!SETTING_BY_KEY.has(key)) {
      problems.push(`${name} (env): unknown setting`)
      continue
    }
    out[key] = value
  }
  return out
}

/** --key value, --key=value, --flag (boolean true); dashes and underscores are the same. */
function parseFlags (argv: string[], problems: string[]): Raw {
  const out: Raw = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--')) {
      problems.push(`${arg} (flag): unexpected argument`)
      continue
    }
    const eq = arg.indexOf('=')
    const key = (eq === -1 ? arg.slice(2) : arg.slice(2, eq)).replaceAll('-', '_')
    if (key !== 'config' && !SETTING_BY_KEY.has(key)) {
      problems.push(`--${key} (flag): unknown setting`)
      continue
    }
    if (eq !== -1) out[key] = arg.slice(eq + 1)
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) out[key] = argv[++i]
    else if (SETTING_BY_KEY.get(key)?.schema.type === 'boolean') out[key] = true
    else problems.push(`--${key} (flag): needs a value`)
  }
  return out
}

/** Type-checks one layer through env-schema (which coerces "5002" to 5002); returns its valid keys. */
function validateLayer (layer: Layer, problems: string[]): Raw {
  const data: Raw = {}
  for (const [key, value] of Object.entries(layer.values)) {
    const setting = SETTING_BY_KEY.get(key)
    if (setting === undefined) {
      problems.push(`${key} (${layer.label(key)}): unknown setting`)
      continue
    }
    if (OBJECT_KEYS.includes(key) && typeof value === 'string') {
      try {
        data[key] = JSON.parse(value)
      } catch {
        problems.push(`${key} (${layer.label(key)}): must be a JSON object`)
      }
      continue
    }
    data[key] = key === 'log_level' && typeof value === 'string' ? value.toLowerCase() : value
  }
  const properties = Object.fromEntries(Object.keys(data).map((k) => [k, SETTING_BY_KEY.get(k)!.schema]))
  try {
    return envSchema({ schema: { type: 'object', properties }, data, env: false, ajv: STRICT_AJV }) as Raw
  } catch (err) {
    const errors = (err as { errors?: AjvError[] }).errors ?? []
    const bad = new Set<string>()
    for (const e of errors) {
      const [key, ...rest] = e.instancePath.split('/').slice(1)
      bad.add(key)
      const where = rest.length > 0 ? `${key}.${rest.join('.')}` : key
      problems.push(`${where} (${layer.label(key)}): ${ajvReason(e)}`)
    }
    return Object.fromEntries(Object.entries(data).filter(([k]) => !bad.has(k)))
  }
}

interface AjvError { instancePath: string, message?: string, params: Record<string, unknown> }

function ajvReason (e: AjvError): string {
  if (e.params.additionalProperty !== undefined) return `unknown field "${String(e.params.additionalProperty)}"`
  if (Array.isArray(e.params.allowedValues)) return `must be one of ${e.params.allowedValues.join(', ')}`
  return e.message ?? 'invalid'
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}
