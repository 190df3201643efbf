// handle-heap/webgl: a pool over one WebGL2 buffer.
export { GlPool, type GlPoolOptions } from './pool.js';
