/**
 * A small tmpfs for tests of what happens when the disk is full (root only: `mount`). Shared by the unit tests
 * of the disk queue and the unacknowledged log and the full-disk e2e test.
 */
import { closeSync, openSync, writeSync } from "node:fs";

/** Whether this process may mount (tests that need it are ignored otherwise). */
export const canMount = Deno.uid() === 0;

/** Runs a command, throwing with its stderr when it fails. */
export async function run(cmd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** Mounts a tmpfs of `size` (e.g. `"64k"`, `"3m"`) on the existing directory `dir`. */
export function mountTmpfs(dir: string, size: string): Promise<void> {
  return run("mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir);
}

/** Unmounts `dir` (lazily: a failed test may have left a file open there). */
export function unmount(dir: string): Promise<void> {
  return run("umount", "-l", dir);
}

/** Appends to `path` until the file system has no byte left. */
export function fill(path: string): void {
  const fd = openSync(path, "a");
  try {
    for (const chunk of [new Uint8Array(4096), new Uint8Array(1)]) {
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as { code?: string }).code !== "ENOSPC") throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}
