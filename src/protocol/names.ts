/** Topic and channel names (nsq `internal/protocol/names.go`, shared/nsq-reference.md §1.10). */

const VALID_NAME = /^[.a-zA-Z0-9_-]+(#ephemeral)?$/;
const EPHEMERAL_SUFFIX = "#ephemeral";

/** Whether `name` is a valid topic name: 1..64 characters of `[.a-zA-Z0-9_-]`, optional `#ephemeral`. */
export function isValidTopicName(name: string): boolean {
  return isValidName(name);
}

/** Whether `name` is a valid channel name (the same rule as topics). */
export function isValidChannelName(name: string): boolean {
  return isValidName(name);
}

/** Whether a topic or channel of this name is ephemeral (memory only, deleted when unused). */
export function isEphemeral(name: string): boolean {
  return name.endsWith(EPHEMERAL_SUFFIX);
}

function isValidName(name: string): boolean {
  return name.length >= 1 && name.length <= 64 && VALID_NAME.test(name);
}
