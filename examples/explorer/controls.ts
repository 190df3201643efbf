/**
 * The page's buttons, inputs and keys, bound to the explorer; buttons are enabled only when
 * what they do makes sense (a selection to free, a trace to travel through).
 */
import type { PlacementStrategy } from '../../src/index.js';
import { byId } from './dom.js';
import type { Explorer } from './explorer.js';
import { acceptFiles } from './files.js';
import type { HeapSettings } from './heap-session.js';
import type { AnimationSpeed } from './move-animation.js';
import { randomScript, SAMPLE_SCRIPT } from './script.js';
import type { TraceSettings } from './trace-player.js';

const button = (id: string): HTMLButtonElement => byId(id, HTMLButtonElement);
const input = (id: string): HTMLInputElement => byId(id, HTMLInputElement);
const select = (id: string): HTMLSelectElement => byId(id, HTMLSelectElement);

/** The heap settings form. */
export function heapSettings(): HeapSettings {
  return {
    size: Number(input('heap-size').value),
    align: Number(select('heap-align').value),
    strategy: select('heap-strategy').value as PlacementStrategy,
    autoCompact: input('heap-autocompact').checked,
    scramble: input('heap-scramble').checked,
  };
}

function traceSettings(): TraceSettings {
  const { align, strategy } = heapSettings();
  return { sizeFactor: Number(select('trace-size').value), align, strategy };
}

export function bindControls(explorer: Explorer): void {
  const script = byId('script', HTMLTextAreaElement);
  script.value = SAMPLE_SCRIPT;
  const number = (id: string): number => Number(input(id).value);

  button('heap-new').onclick = () => void explorer.newHeap(heapSettings());
  button('op-alloc').onclick = () => {
    const align = number('op-align');
    void explorer.alloc(number('op-size'), align > 0 ? align : undefined);
  };
  button('op-free').onclick = () => void explorer.free();
  button('op-resize').onclick = () => void explorer.resize(number('op-size'));
  button('op-pin').onclick = () => void explorer.pin();
  button('op-unpin').onclick = () => void explorer.unpin();
  button('op-compact').onclick = () => void explorer.compact();
  button('op-sliced').onclick = () => void explorer.compact(number('op-slice'));
  const speed = select('animation-speed');
  explorer.setSpeed(speed.value as AnimationSpeed);
  speed.onchange = () => explorer.setSpeed(speed.value as AnimationSpeed);

  button('script-run').onclick = () => void explorer.runScript(script.value);
  button('script-step').onclick = () => void explorer.stepScript(script.value);
  button('script-stop').onclick = () => explorer.stopScript();
  button('script-random').onclick = () => {
    script.value = randomScript(
      number('script-seed'),
      number('script-ops'),
      explorer.heap.capacity,
    );
  };

  button('snapshot-save').onclick = () => explorer.saveSnapshot();
  acceptFiles(
    byId('drop-zone', HTMLElement),
    [input('trace-input'), input('snapshot-input')],
    (file) => {
      void explorer.open(file, traceSettings());
    },
  );

  const slider = input('trace-slider');
  const stepInput = input('trace-step');
  const seek = (step: (at: number) => number): void => {
    const trace = explorer.trace;
    if (trace !== null) trace.show(step(trace.step));
  };
  slider.oninput = () => seek(() => Number(slider.value));
  stepInput.onchange = () => seek(() => Number(stepInput.value));
  button('trace-back').onclick = () => seek((at) => at - 1);
  button('trace-forward').onclick = () => seek((at) => at + 1);
  // ← and → step through a trace, unless a text field or a slider has the keys.
  document.addEventListener('keydown', (event) => {
    if (explorer.trace === null || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target as HTMLElement | null;
    if (target !== null && ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) return;
    if (event.key === 'ArrowLeft') seek((at) => at - 1);
    else if (event.key === 'ArrowRight') seek((at) => at + 1);
    else return;
    event.preventDefault();
  });
  button('trace-play').onclick = () => {
    const trace = explorer.trace;
    if (trace?.playing === true) trace.pause();
    else trace?.play();
  };
  button('trace-edit').onclick = () => void explorer.editTraceHeap();

  const update = (): void => {
    const trace = explorer.mode === 'trace';
    const busy = explorer.scriptRunning;
    const selected = explorer.selected;
    for (const id of ['op-alloc', 'op-compact', 'op-sliced', 'script-run', 'script-step']) {
      button(id).disabled = trace || busy;
    }
    for (const id of ['op-free', 'op-resize', 'op-pin', 'op-unpin']) {
      button(id).disabled = trace || busy || selected === null;
    }
    button('script-stop').disabled = !busy;
    byId('selected', HTMLElement).textContent =
      selected === null
        ? 'none (click a block)'
        : `handle ${selected}${explorer.heap.has(selected) && explorer.heap.isPinned(selected) ? ' (pinned)' : ''}`;
    const status = byId('script-status', HTMLElement);
    status.dataset.running = String(busy);
    status.textContent = explorer.scriptStatus() || '\u00a0';

    byId('trace-controls', HTMLElement).hidden = !trace;
    const player = explorer.trace;
    byId('trace-name', HTMLElement).textContent = player?.name ?? 'no trace loaded';
    slider.max = String(player?.steps ?? 0);
    slider.value = String(player?.step ?? 0);
    stepInput.max = slider.max;
    stepInput.value = slider.value;
    button('trace-play').textContent = player?.playing === true ? 'pause' : 'play';
    byId('trace-status', HTMLElement).textContent = player?.status() ?? '';
  };
  explorer.onStateChange = update;
  update();
}
