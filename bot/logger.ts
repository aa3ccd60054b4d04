import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs. Redaction is the second line of defence: code never logs tokens on
 * purpose, and these paths catch the fields that would carry them if it did (SECURITY row 32).
 */
export const REDACTED_PATHS = [
  'accessToken',
  'refreshToken',
  'clientSecret',
  'codeVerifier',
  'code',
  'state',
  'token',
  'password',
  'authorization',
  'cookie',
  '*.accessToken',
  '*.refreshToken',
  '*.clientSecret',
  '*.codeVerifier',
  '*.code',
  '*.state',
  '*.token',
  '*.password',
  '*.authorization',
  '*.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'authprofiles' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // Error objects from HTTP clients can hold request bodies; keep name, code and message only.
      serializers: {
        err: (error: unknown) => {
          const value = error as { name?: string; code?: string; message?: string } | undefined;
          return { type: value?.name, code: value?.code, message: value?.message };
        },
      },
    },
    options.destination,
  );
}

export type { Logger };
