export type {
  BlockInfo,
  BlockMove,
  CompactOptions,
  CompactResult,
  Handle,
  HeapStats,
  MemoryManagerOptions,
  MoveListener,
  PlacementStrategy,
  TypedArrayConstructor,
} from './types.js';
export { MemoryManager } from './memory-manager.js';
export {
  HeapBusyError,
  InvalidHandleError,
  MemoryManagerError,
  OutOfMemoryError,
} from './errors.js';
export type { ArgumentErrorCode, MemoryManagerErrorCode } from './errors.js';
