export type {
  AllocOptions,
  AttachOptions,
  BlockInfo,
  BlockMove,
  CompactOptions,
  CompactResult,
  Handle,
  HeapStats,
  MemoryManagerOptions,
  MoveListener,
  PlacementStrategy,
  SharedHeap,
  TypedArrayConstructor,
} from './api/types.js';
export { MemoryManager } from './api/memory-manager.js';
export {
  HeapBusyError,
  InvalidHandleError,
  MemoryManagerError,
  OutOfMemoryError,
} from './core/errors.js';
export type { ArgumentErrorCode, MemoryManagerErrorCode } from './core/errors.js';
