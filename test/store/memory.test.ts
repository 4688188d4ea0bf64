import { createMemoryStore } from '../../src/adapters/store/memory.js';
import { manualClock } from '../support/manual-clock.js';
import { storeContract } from './contract.js';

storeContract('memory', async ({ auditMaxLength }) => {
  const clock = manualClock();
  const store = createMemoryStore({ clock, auditMaxLength });
  return {
    store,
    now: () => clock.now(),
    sleep: async (ms) => clock.advance(ms),
    cleanup: () => store.close(),
  };
});
