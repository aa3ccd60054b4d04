import type { FieldIssue } from '../../profiles';

/**
 * A refusal of the token service, sent as the Bot Framework `ErrorResponse`
 * (`{ "error": { "code", "message" } }`, botframework-connector `tokenApi/models/mappers.js`), with
 * `issues` naming the fields at fault. Never used for "no token": that is a 404 with an empty body.
 */
export class TokenServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
    this.name = 'TokenServiceError';
  }
}

/** 400 naming every field at fault: `invalid query: channelId: is required; code: ...`. */
export function invalidInput(what: string, issues: FieldIssue[]): TokenServiceError {
  const summary = issues
    .slice(0, 5)
    .map((issue) => `${issue.path}: ${issue.message}`)
    .join('; ');
  return new TokenServiceError(400, 'invalid-request', `invalid ${what}: ${summary}`, issues);
}
