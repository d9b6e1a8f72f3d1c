/** Versions: the NSQ protocol version we speak, and this project's own release. */

/** Reported to clients, in /info, /stats and IDENTIFY, so they enable the right features. */
export const NSQ_VERSION = "1.3.0";

/** This implementation's release (`--version`, `/info` `server_version`). */
export const RELEASE_VERSION = "0.1.0";
