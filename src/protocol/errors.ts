/**
 * Client errors of the TCP protocol (nsq `internal/protocol/errors.go`): a code plus a description.
 * They become error frames in exactly one place, the connection's read loop (`ProtocolV2`).
 */

/** Error codes of shared/nsq-reference.md §1.5. */
export const ErrorCode = {
  BadProtocol: "E_BAD_PROTOCOL",
  Invalid: "E_INVALID",
  BadBody: "E_BAD_BODY",
  BadTopic: "E_BAD_TOPIC",
  BadChannel: "E_BAD_CHANNEL",
  BadMessage: "E_BAD_MESSAGE",
  PubFailed: "E_PUB_FAILED",
  MpubFailed: "E_MPUB_FAILED",
  DpubFailed: "E_DPUB_FAILED",
  SubFailed: "E_SUB_FAILED",
  IdentifyFailed: "E_IDENTIFY_FAILED",
  FinFailed: "E_FIN_FAILED",
  ReqFailed: "E_REQ_FAILED",
  TouchFailed: "E_TOUCH_FAILED",
  AuthFirst: "E_AUTH_FIRST",
  AuthFailed: "E_AUTH_FAILED",
  Unauthorized: "E_UNAUTHORIZED",
  AuthDisabled: "E_AUTH_DISABLED",
  AuthError: "E_AUTH_ERROR",
} as const;
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** A fatal client error: the error frame is sent, then the connection is closed. */
export class ClientError extends Error {
  constructor(readonly code: ErrorCode, readonly description: string, options?: ErrorOptions) {
    super(description, options);
    this.name = "ClientError";
  }

  /** Whether the connection must be closed after the error frame. */
  get fatal(): boolean {
    return true;
  }

  /** The error frame's body: `"<CODE> <description>"`. */
  get wireText(): string {
    return this.description === "" ? this.code : `${this.code} ${this.description}`;
  }
}

/** A non-fatal client error (only E_FIN_FAILED, E_REQ_FAILED, E_TOUCH_FAILED): the connection stays open. */
export class NonFatalClientError extends ClientError {
  override get fatal(): boolean {
    return false;
  }
}
