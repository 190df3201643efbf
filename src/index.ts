export { MemoryManager } from './memory-manager.js';
export type {
  BlockInfo,
  CompactResult,
  Handle,
  HeapStats,
  MemoryManagerOptions,
} from './memory-manager.js';
export {
  HeapBusyError,
  InvalidHandleError,
  MemoryManagerError,
  OutOfMemoryError,
} from './errors.js';
export type { ArgumentErrorCode, MemoryManagerErrorCode } from './errors.js';
