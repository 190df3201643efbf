/**
 * The heap explorer: handle-heap running in the page, its heap drawn as a map with charts and
 * tables, driven by buttons, workload scripts, trace files and snapshots.
 */
import { bindControls, heapSettings } from './controls.js';
import { Explorer } from './explorer.js';

bindControls(new Explorer(heapSettings()));
