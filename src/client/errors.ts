/**
 * Errors a client surfaces (go-nsq `errors.go`): an error frame from nsqd keeps its code
 * (`err.code === "E_BAD_TOPIC"`); losing the connection and using a closed client are errors of
 * their own.
 */

/** An error frame from nsqd: `code` is its first word (`E_BAD_TOPIC`), `message` the whole frame text. */
export class NsqError extends Error {
  /** The NSQ error code, e.g. `E_BAD_TOPIC`, `E_BAD_MESSAGE`, `E_PUB_FAILED`. */
  readonly code: string;

  /**
   * Wraps an error frame.
   * @param frameText the error frame's text, `"<CODE> <description>"`
   * @param options `prefix` goes before the text in `message` (e.g. `failed to IDENTIFY - `)
   */
  constructor(frameText: string, options?: ErrorOptions & { prefix?: string }) {
    super(options?.prefix ? `${options.prefix}${frameText}` : frameText, options);
    this.name = "NsqError";
    const sp = frameText.indexOf(" ");
    this.code = sp < 0 ? frameText : frameText.slice(0, sp);
  }
}

/** The connection to nsqd failed or was lost; a command in flight may or may not have been applied. */
export class NsqConnectionError extends Error {
  /**
   * Describes a failed or lost connection.
   * @param message what happened; `options.cause` the underlying error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NsqConnectionError";
  }
}

/** The client was closed (go-nsq `ErrStopped`). */
export class NsqClosedError extends Error {
  /**
   * Reports use after `close()`.
   * @param message defaults to go-nsq's `stopped`
   */
  constructor(message = "stopped") {
    super(message);
    this.name = "NsqClosedError";
  }
}
