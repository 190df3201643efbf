/// <reference types="@webgpu/types" />
// handle-heap/webgpu: a pool over one GPUBuffer, and the move applier it is built on.
export { GpuPool, type GpuPoolOptions } from './pool.js';
export { GpuMover, readBack, type GpuMoverOptions } from './gpu-moves.js';
export {
  measurePlan,
  movePieces,
  COPY_ALIGN,
  type MoveStep,
  type PlanNeeds,
  type MovePiece,
} from './move-plan.js';
