/**
 * The piece picker, pure: which piece a holder's free request slot takes,
 * and how many following pieces the same request may cover.
 */
export interface PickerView {
  n: number;
  /** Already verified and written. */
  have(i: number): boolean;
  /** The holder in question has it. */
  holderHas(i: number): boolean;
  /** This slot already has it in flight. */
  mine(i: number): boolean;
  /** Requests in flight for it, over all holders. */
  copies(i: number): number;
  /** Live holders that have it. */
  availability(i: number): number;
}

/**
 * Rarest unrequested piece first (ties: lowest index, which keeps writes and
 * the running whole-file hash sequential). When nothing is unrequested
 * anywhere: endgame, an in-flight piece with the fewest copies (at most 2).
 */
export function pickPiece(v: PickerView): number | undefined {
  let best: number | undefined;
  let bestAvail = Infinity;
  let endgame: number | undefined;
  let endgameCopies = Infinity;
  let unrequested = false;
  for (let i = 0; i < v.n; i++) {
    if (v.have(i)) continue;
    const copies = v.copies(i);
    if (copies === 0) unrequested = true;
    if (!v.holderHas(i) || v.mine(i)) continue;
    if (copies === 0) {
      const a = v.availability(i);
      if (a < bestAvail) [best, bestAvail] = [i, a];
    } else if (copies < 2 && copies < endgameCopies) [endgame, endgameCopies] = [i, copies];
  }
  if (best !== undefined) return best;
  return unrequested ? undefined : endgame;
}

/**
 * One request covers a run of consecutive unrequested pieces from `first`
 * (fewer requests, fewer round trips), short enough that the remaining work
 * still spreads over every request slot. An endgame duplicate is one piece.
 */
export function extendRun(v: PickerView, first: number, slots: number, maxRun: number): number[] {
  const run = [first];
  if (v.copies(first) > 0) return run;
  let unrequested = 0;
  for (let i = 0; i < v.n; i++) if (!v.have(i) && v.copies(i) === 0) unrequested++;
  const max = Math.max(1, Math.min(maxRun, Math.floor(unrequested / Math.max(1, slots))));
  for (let i = first + 1; run.length < max && i < v.n && !v.have(i) && v.copies(i) === 0 && v.holderHas(i); i++) run.push(i);
  return run;
}
