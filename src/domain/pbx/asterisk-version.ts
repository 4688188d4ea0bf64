/**
 * What an Asterisk version can do, from its version string (GET /asterisk/info `system.version`).
 * Pure: the daemon (src/app/dispatch/transfer-handling.ts) and `agentgate doctor` ask it.
 */

/**
 * PJSIP_TRANSFER_HANDLING() (per-channel `ari-only`: a phone's REFER reaches the app as
 * ChannelTransfer instead of Asterisk transferring on its own) exists from Asterisk 20.13.0, 21.8.0
 * and 22.3.0 ("Since" in docs.asterisk.org's PJSIP_TRANSFER_HANDLING page; the commit "ari/pjsip: Make
 * it possible to control transfers through ARI"), and in every later major version. ARI has no
 * function listing and reading it back answers 500 even where it exists (write-only, REFERENCE.md),
 * so the version decides. undefined: the version string says nothing (a git build, e.g. `GIT-master-abc`).
 */
export function hasTransferHandling(version: string): boolean | undefined {
  // Only major.minor matter (the patch level never decides).
  const m = /^(?:certified[/-])?(\d+)\.(\d+)/.exec(version);
  if (!m) return undefined;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major >= 23) return true;
  const since: Record<number, number> = { 20: 13, 21: 8, 22: 3 };
  // A major before 20 never had it.
  return minor >= (since[major] ?? Number.POSITIVE_INFINITY);
}
