/**
 * File helpers shared by the disk-side files of a channel (the unacknowledged log, the deferred due times):
 * replacing a file atomically, and reading an error's `code`.
 */
import { closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";

/** The `code` of a Node-style file error (`ENOENT`, `ENOSPC`, …), if any. */
export function errorCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

/**
 * Replaces `path` with `bytes`: written to `<path>.<random>.tmp`, fsynced, renamed over it. A crash leaves the
 * old file or the new one, never a torn one; a failed write removes the temporary file and throws.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${Math.floor(Math.random() * Number.MAX_SAFE_INTEGER)}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  try {
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch { /* best effort */ }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}
