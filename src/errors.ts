// Every error code Robot Runner answers with, in one place. HTTP maps them to
// the envelope {"error": {"code", "message", "details"?}}; test/errors.test.ts
// checks each code is documented in the README.

export const ERRORS = {
  RR_VALIDATION: { status: 400, message: 'Invalid request' },
  RR_BAD_REQUEST: { status: 400, message: 'Bad request' },
  RR_BAD_JSON: { status: 400, message: 'Request body is not valid JSON' },
  RR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Content-Type must be application/json' },
  RR_CLIENT_CERT_REQUIRED: { status: 401, message: 'A client certificate signed by the configured CA is required' },
  RR_AUTH_REQUIRED: { status: 401, message: 'Authorization: Bearer <token> is required' },
  RR_AUTH_INVALID: { status: 403, message: 'The bearer token is not valid' },
  RR_NOT_FOUND: { status: 404, message: 'No such route' },
  RR_BODY_TOO_LARGE: { status: 413, message: 'Request body exceeds body_limit_bytes' },
  RR_ROBOT_NOT_FOUND: { status: 404, message: 'No such robot in robots_dir' },
  RR_EXECUTION_NOT_FOUND: { status: 404, message: 'No such execution' },
  RR_ARTIFACT_NOT_FOUND: { status: 404, message: 'No such artifact' },
  RR_EXECUTION_CONFLICT: { status: 409, message: 'execution_id is already used with a different body' },
  RR_EXECUTION_FINISHED: { status: 409, message: 'The execution has already finished' },
  RR_ROBOT_INVALID: { status: 422, message: 'The robot manifest is invalid' },
  RR_PATH_INVALID: { status: 400, message: 'The artifact path escapes the artifacts folder or is malformed' },
  RR_RATE_LIMITED: { status: 429, message: 'Rate limit exceeded' },
  RR_METRICS_UNAVAILABLE: { status: 503, message: 'Worker metrics could not be collected' },
  RR_REDIS_UNAVAILABLE: { status: 503, message: 'Redis is not reachable' },
  RR_INTERNAL: { status: 500, message: 'Internal error' }
} as const satisfies Record<string, { status: number, message: string }>

export type ErrorCode = keyof typeof ERRORS

export class RrError extends Error {
  readonly statusCode: number
  constructor (readonly code: ErrorCode, message?: string, readonly details?: unknown) {
    super(message ?? ERRORS[code].message)
    this.name = 'RrError'
    this.statusCode = ERRORS[code].status
  }
}

export const rrError = (code: ErrorCode, message?: string, details?: unknown): RrError => new RrError(code, message, details)
