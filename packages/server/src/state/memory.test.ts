import { describeSharedStateConformance } from './conformance.js';
import type { SharedStateHandle } from './index.js';
import { createMemoryState } from './memory.js';

describeSharedStateConformance('memory', async () => {
  const state = createMemoryState();
  // One process: every "instance" is the same in-process state.
  const handle: SharedStateHandle = { state, close: async () => {} };
  return {
    open: async () => handle,
    cleanup: () => state.close(),
  };
});
