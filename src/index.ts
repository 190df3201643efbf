export type {
  AllocOptions,
  AttachOptions,
  BlockInfo,
  BlockMove,
  CompactOptions,
  CompactResult,
  Handle,
  HeapOptions,
  HeapStats,
  MemoryManagerOptions,
  OffsetHeapOptions,
  MoveListener,
  PlacementStrategy,
  SharedHeap,
  TypedArrayConstructor,
} from './api/types.js';
export { MemoryManager } from './api/memory-manager.js';
export { OffsetHeap } from './api/offset-heap.js';
export { applyMoves, stagingBytes } from './api/move-plan.js';
export {
  HeapBusyError,
  InvalidHandleError,
  MemoryManagerError,
  OutOfMemoryError,
} from './core/errors.js';
export type { ArgumentErrorCode, MemoryManagerErrorCode } from './core/errors.js';
