// What an outbound request answers (profiles/outboundRequests.ts), as the engine reads it.

/**
 * What an outbound request answers: the part of a WHATWG `Response` the engine reads. `fetch`'s own
 * `Response` is one (tests and hosts may pass `fetch`); `OutboundRequests.fetch` answers the lighter
 * `BufferedResponse`.
 */
export type OutboundResponse = Pick<
  Response,
  'status' | 'statusText' | 'ok' | 'headers' | 'body' | 'bodyUsed' | 'text' | 'json' | 'arrayBuffer'
>;

const utf8 = new TextDecoder();

/**
 * An answer whose body has been read whole (outboundRequests.ts bounds it): its text comes straight from
 * the bytes, and the `Headers` and the body stream are built only if asked for. A `Response` built
 * for each API answer (headers converted one by one, the bytes wrapped in a stream and read back out
 * of it) was a tenth of a millisecond per call (issue 12). Reads once, like a `Response`.
 */
export class BufferedResponse implements OutboundResponse {
  private builtHeaders: Headers | undefined;
  private stream: ReadableStream<Uint8Array<ArrayBuffer>> | null | undefined;
  private used = false;

  constructor(
    readonly status: number,
    readonly statusText: string,
    /** Name, value, name, value… as they arrived (node's `rawHeaders`). */
    private readonly rawHeaders: readonly string[],
    private readonly bytes: Buffer | null,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  get headers(): Headers {
    if (!this.builtHeaders) {
      const headers = new Headers();
      for (let i = 0; i + 1 < this.rawHeaders.length; i += 2) {
        headers.append(this.rawHeaders[i] as string, this.rawHeaders[i + 1] as string);
      }
      this.builtHeaders = headers;
    }
    return this.builtHeaders;
  }

  get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (this.stream === undefined) {
      const bytes = this.bytes;
      this.stream =
        bytes === null
          ? null
          : new ReadableStream<Uint8Array<ArrayBuffer>>(
              {
                pull: (controller) => {
                  this.used = true;
                  controller.enqueue(new Uint8Array(bytes));
                  controller.close();
                },
                // A cancelled body is spent, as a Response's is.
                cancel: () => {
                  this.used = true;
                },
              },
              // Nothing is pulled before a read: asking whether there is a body spends nothing.
              { highWaterMark: 0 },
            );
    }
    return this.stream;
  }

  get bodyUsed(): boolean {
    return this.used;
  }

  async text(): Promise<string> {
    // UTF-8 with a leading byte-order mark dropped, as a Response's text() decodes (some APIs send one).
    return utf8.decode(this.take());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.take();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  private take(): Buffer {
    if (this.used || this.stream?.locked) throw new TypeError('Body is unusable: Body has already been read');
    this.used = true;
    return this.bytes ?? Buffer.alloc(0);
  }
}
