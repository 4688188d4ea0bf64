/** The policy engine: directory model, grants, decisions, capabilities, policy administration. */
export * from './types.js';
export { parsePolicyChange, parsePolicyDoc } from './parse.js';
export { checkIp, isValidIp, isValidIpPattern } from './ip.js';
export { compilePolicy, type CompiledPolicy, type PolicyIndex, type UserIndex, type ExtensionIndex } from './compile.js';
export { decide, plainDecision, type Check, type CheckName, type Decision, type DecisionRequest } from './decide.js';
export { explain, describeRequest } from './explain.js';
export { agentForDispatch, extensionById, extensionByInterface, userById, userOwningExtension, type DispatchAgent } from './lookup.js';
export { capabilities, type Capabilities } from './capabilities.js';
export {
  CALL_ACTIONS,
  callCapabilities,
  canSeeCall,
  decideCallAction,
  type CallAction,
  type CallActionRequest,
  type CallFacts,
} from './call-actions.js';
export { applyChange, authorizeChange, changePolicy, type PolicyChange } from './admin.js';
