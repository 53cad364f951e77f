/**
 * One base class for every error binswarm raises on purpose. `code` is stable
 * (tests, the CLI and the HTTP API key on it); `message` is for people.
 * Each area declares its own union of codes next to its code and passes it
 * as the type parameter, so a switch over codes is checked by the compiler.
 */
export class BinswarmError<C extends string = string> extends Error {
  readonly code: C;
  /** Where the problem is: a file path, URL, member name… (shown first by the CLI). */
  readonly subject: string | undefined;

  constructor(code: C, message: string, options: { cause?: unknown; subject?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BinswarmError';
    this.code = code;
    this.subject = options.subject;
  }

  /** The same error about another subject (e.g. add the file name at the CLI edge). */
  withSubject(subject: string): BinswarmError<C> {
    if (this.subject !== undefined) return this;
    const e = new BinswarmError(this.code, this.message, { cause: this.cause, subject });
    e.stack = this.stack;
    return e;
  }
}

export function isBinswarmError(e: unknown): e is BinswarmError {
  return e instanceof BinswarmError;
}
