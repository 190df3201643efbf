/**
 * The smallest size that passes a monotone test (fails below some threshold, passes from it
 * on): grow by doubling from a lower bound until a size passes, then bisect at a granularity.
 */

export interface Search {
  /** The smallest passing size, or null when even `limit` fails. */
  size: number | null;
  /** Sizes tested, in order. */
  tested: number[];
}

/**
 * Smallest multiple of `step` from `lower` to `limit` for which `passes` holds. `lower` and
 * `limit` are multiples of `step` with `step <= lower`; sizes below `lower` are known to fail
 * and never tested. O(log(answer / lower) + log(answer / step)) tests.
 */
export function smallestPassing(
  lower: number,
  limit: number,
  step: number,
  passes: (size: number) => boolean,
): Search {
  const tested: number[] = [];
  const test = (size: number): boolean => {
    tested.push(size);
    return passes(size);
  };
  if (lower > limit) return { size: null, tested };
  if (test(lower)) return { size: lower, tested };
  // Invariant from here: `failing` fails, `passing` passes, both multiples of `step`.
  let failing = lower;
  let passing = Math.min(limit, lower * 2);
  while (!test(passing)) {
    if (passing === limit) return { size: null, tested };
    failing = passing;
    passing = Math.min(limit, passing * 2);
  }
  while (passing - failing > step) {
    const mid = failing + Math.floor((passing - failing) / step / 2) * step;
    if (test(mid)) passing = mid;
    else failing = mid;
  }
  return { size: passing, tested };
}
