/**
 * The programs of the multi-call executable `nsq`, by the name a user runs. Registering a program
 * is one line here (and its name in `compile.sh`'s `PROGRAMS`, which makes the link): a module
 * that exports `main(platform, args)`, loaded only when that program runs.
 */
import type { Platform } from "../platform/types.ts";

/** A program's entry point: `args` are its flags and arguments, without the program name. */
export type Main = (platform: Platform, args: readonly string[]) => Promise<void>;

/** One program: a line of `nsq --help`, and how to load it. */
export interface ProgramEntry {
  summary: string;
  load(): Promise<{ main: Main }>;
}

/** Every program, in the order `nsq --help` lists them. */
export const PROGRAMS: Readonly<Record<string, ProgramEntry>> = {
  nsqd: {
    summary: "the NSQ daemon: receives, queues and delivers messages",
    load: () => import("./nsqd.ts"),
  },
  nsqlookupd: {
    summary: "the directory nsqd registers with and consumers query",
    load: () => import("./nsqlookupd.ts"),
  },
  nsqadmin: {
    summary: "the web UI and admin API of an NSQ cluster",
    load: () => import("./nsqadmin.ts"),
  },
  nsq_tail: {
    summary: "prints the messages of a topic to stdout",
    load: () => import("../apps/nsq_tail.ts"),
  },
  to_nsq: {
    summary: "publishes stdin, split at a delimiter, to nsqd",
    load: () => import("../apps/to_nsq.ts"),
  },
  nsq_stat: {
    summary: "polls and prints a channel's stats summed across nsqds",
    load: () => import("../apps/nsq_stat.ts"),
  },
  nsq_to_file: {
    summary: "writes the messages of topics to files, with rotation and gzip",
    load: () => import("../apps/nsq_to_file.ts"),
  },
  nsq_to_http: {
    summary: "sends the messages of a topic to HTTP endpoints (GET or POST)",
    load: () => import("../apps/nsq_to_http.ts"),
  },
  nsq_to_nsq: {
    summary: "republishes the messages of topics to other nsqds",
    load: () => import("../apps/nsq_to_nsq.ts"),
  },
};
