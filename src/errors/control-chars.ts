/**
 * The one rule for values that reach Asterisk (ARI paths, query values, bodies, dialplan arguments):
 * no C0 control character or DEL. Asterisk would put them into the dialplan, CDRs and SIP headers as
 * they are. TAB is allowed (harmless in every place ARI puts a value).
 */
import { AgentgateError } from './codes.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Throws AGENTGATE_ERR_VALIDATION naming `field` when `value` holds a C0 control character or DEL. */
export function refuseControlChars(field: string, value: string): void {
  const m = CONTROL.exec(value);
  if (!m) return;
  const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  throw new AgentgateError(
    'AGENTGATE_ERR_VALIDATION',
    { field, detail: `must not contain control characters (U+${code} at position ${m.index})` },
    { field },
  );
}
