import pino, { type Logger } from 'pino';
import { redactLogObject, redactString } from './logRedaction';

/**
 * Structured JSON logs. Redaction is the second line of defence: code never logs tokens on
 * purpose, and `redactLogObject` replaces the fields that would carry them if it did, at any
 * depth (SECURITY.md #32, #51; why not pino's `redact` paths: see bot/logRedaction.ts).
 */
export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'authprofiles' },
      formatters: {
        // Runs before pino serializes a line and gets the merged object (pino wraps a bare Error
        // as `{ err }` first), so errors anywhere are reduced to type, code and message there.
        log: redactLogObject,
        bindings: redactLogObject,
      },
      // pino's default `err` serializer would turn the reduced error back into "type Object" with
      // a stack; the reduced form is final.
      serializers: { err: (value: unknown) => value },
      hooks: {
        // The message is no part of the object `formatters.log` sees: credentials in URLs or
        // headers quoted in it (or in the message of a bare error, which pino uses as the
        // message) are replaced here.
        logMethod(args, method) {
          const [first, second] = args as unknown[];
          const rest = first instanceof Error && second === undefined ? [first, first.message] : args;
          return method.apply(
            this,
            rest.map((value) => (typeof value === 'string' ? redactString(value) : value)) as typeof args,
          );
        },
      },
      // A child's bindings skip `formatters` (pino serializes them once, at `child()`): redact the
      // serialized bindings there, through pino's public symbol for them.
      onChild: (child) => {
        const holder = child as unknown as Record<symbol, string>;
        const serialized = holder[pino.symbols.chindingsSym] ?? '';
        const bindings = JSON.parse(`{${serialized.slice(1)}}`) as Record<string, unknown>;
        const redacted = JSON.stringify(redactLogObject(bindings));
        holder[pino.symbols.chindingsSym] = redacted === '{}' ? '' : `,${redacted.slice(1, -1)}`;
      },
    },
    options.destination,
  );
}

export type { Logger };
