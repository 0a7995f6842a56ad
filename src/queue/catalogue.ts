// The robot catalogue: robots_dir/<name>/robot.json, validated. A bad manifest is
// reported (GET /api/robots, start-up log), never thrown at a worker.
import fs from 'node:fs'
import path from 'node:path'
import Ajv from 'ajv'

export const ROBOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export interface Manifest {
  command: string[]
  timeout_s?: number
  env?: Record<string, string>
  description?: string
}

export type Robot = { name: string, dir: string, valid: true, manifest: Manifest } | { name: string, dir: string, valid: false, error: string }

const MANIFEST_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['command'],
  properties: {
    command: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    timeout_s: { type: 'integer', minimum: 1 },
    env: { type: 'object', additionalProperties: { type: 'string' }, propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$', not: { pattern: '^RR_' } } },
    description: { type: 'string' }
  }
}

const validate = new Ajv({ allErrors: false }).compile(MANIFEST_SCHEMA)

export function loadRobot (robotsDir: string, name: string): Robot | undefined {
  if (!ROBOT_NAME.test(name)) return undefined
  const dir = path.join(robotsDir, name)
  const file = path.join(dir, 'robot.json')
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  try {
    const manifest: unknown = JSON.parse(text)
    if (!validate(manifest)) {
      const e = validate.errors![0]
      return { name, dir, valid: false, error: `robot.json${e.instancePath.replaceAll('/', '.')}: ${e.message ?? 'invalid'}` }
    }
    return { name, dir, valid: true, manifest: manifest as unknown as Manifest }
  } catch (err) {
    return { name, dir, valid: false, error: `robot.json: not valid JSON: ${(err as Error).message}` }
  }
}

export function listRobots (robotsDir: string): Robot[] {
  let names: string[]
  try {
    names = fs.readdirSync(robotsDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()
  } catch {
    return []
  }
  return names.map((n) => loadRobot(robotsDir, n)).filter((r): r is Robot => r !== undefined)
}
