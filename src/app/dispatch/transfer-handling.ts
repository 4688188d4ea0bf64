/**
 * Which variables a new leg is created with: PJSIP_TRANSFER_HANDLING()=ari-only on a PJSIP leg (its
 * phone's REFER then reaches agentgate as ChannelTransfer, src/app/phone-buttons.ts), when the
 * Asterisk has that function (20.13.0 / 21.8.0 / 22.3.0 and later, src/domain/pbx/asterisk-version.ts;
 * the version is read once per connection). An unknown version (a git build, or /asterisk/info
 * unanswered) gets it: a recent Asterisk is the likely case, and the variable is what keeps the flags.
 * An older Asterisk gets nothing (the function does not exist there) and a warning, once per version
 * and server: phone transfers are then carried out by Asterisk, outside the flags (only audited as
 * uncontrolled, phone-events.ts). Local legs and trunks are never covered.
 */
import { hasTransferHandling } from '../../domain/pbx/asterisk-version.js';
import { ARI_ONLY_TRANSFERS } from '../../ports/call-control.js';
import type { DispatchContext } from './context.js';

/** Legs whose REFERs PJSIP_TRANSFER_HANDLING() can hand to agentgate (Local legs, trunks: not covered). */
const isPjsip = (endpoint: string): boolean => endpoint.toUpperCase().startsWith('PJSIP/');

/** Versions already warned about, per dispatch context (one per server). */
const warned = new WeakMap<DispatchContext, Set<string>>();

/** The create body's variables for a leg to `endpoint`, or undefined (none). Never rejects. */
export async function legVariables(ctx: DispatchContext, endpoint: string): Promise<Record<string, string> | undefined> {
  if (!isPjsip(endpoint)) return undefined;
  const version = await ctx.calls.asteriskVersion();
  if (version === undefined || hasTransferHandling(version) !== false) return { ...ARI_ONLY_TRANSFERS };
  const seen = warned.get(ctx) ?? new Set<string>();
  warned.set(ctx, seen);
  if (!seen.has(version)) {
    seen.add(version);
    ctx.log.warn(
      { asteriskVersion: version },
      `Asterisk ${version} has no PJSIP_TRANSFER_HANDLING() (needs 20.13.0, 21.8.0 or 22.3.0 and later): ` +
        "phone transfers (the phone's Transfer button) are carried out by Asterisk and NOT controlled by the call flags",
    );
  }
  return undefined;
}
