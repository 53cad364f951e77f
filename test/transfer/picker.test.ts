/** The piece picker as a pure function: rarest first, runs, endgame. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extendRun, pickPiece, type PickerView } from '../../src/transfer/picker.js';

function view(o: { n: number; have?: number[]; holder?: number[]; mine?: number[]; copies?: Record<number, number>; avail?: Record<number, number> }): PickerView {
  return {
    n: o.n,
    have: (i) => o.have?.includes(i) ?? false,
    holderHas: (i) => o.holder?.includes(i) ?? true,
    mine: (i) => o.mine?.includes(i) ?? false,
    copies: (i) => o.copies?.[i] ?? 0,
    availability: (i) => o.avail?.[i] ?? 3,
  };
}

test('picker: rarest unrequested piece first, lowest index on ties, only what the holder has', () => {
  assert.equal(pickPiece(view({ n: 6 })), 0);
  assert.equal(pickPiece(view({ n: 6, have: [0, 1] })), 2);
  assert.equal(pickPiece(view({ n: 6, avail: { 4: 1 } })), 4, 'the rarest');
  assert.equal(pickPiece(view({ n: 6, holder: [3, 5], avail: { 4: 1 } })), 3, 'not a piece this holder lacks');
  assert.equal(pickPiece(view({ n: 3, holder: [0], copies: { 0: 1 } })), undefined, 'pieces 1 and 2 are unrequested (elsewhere): no endgame yet');
});

test('picker: endgame duplicates an in-flight piece (fewest copies, at most two), never one of its own', () => {
  assert.equal(pickPiece(view({ n: 3, have: [0], copies: { 1: 1, 2: 1 } })), 1);
  assert.equal(pickPiece(view({ n: 3, have: [0], copies: { 1: 2, 2: 1 } })), 2);
  assert.equal(pickPiece(view({ n: 3, have: [0], copies: { 1: 2, 2: 2 } })), undefined);
  assert.equal(pickPiece(view({ n: 3, have: [0, 2], copies: { 1: 1 }, mine: [1] })), undefined);
  assert.equal(pickPiece(view({ n: 2, have: [0, 1] })), undefined, 'complete');
});

test('picker: a run covers following unrequested pieces the holder has, sized to spread over the slots', () => {
  assert.deepEqual(extendRun(view({ n: 100 }), 0, 4, 8), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(extendRun(view({ n: 12 }), 0, 4, 8), [0, 1, 2], '12 pieces over 4 slots: 3 each');
  assert.deepEqual(extendRun(view({ n: 100, copies: { 3: 1 } }), 0, 1, 8), [0, 1, 2], 'stops at a requested piece');
  assert.deepEqual(extendRun(view({ n: 100, holder: [0, 1] }), 0, 1, 8), [0, 1], 'stops where the holder has nothing');
  assert.deepEqual(extendRun(view({ n: 100, copies: { 0: 1 } }), 0, 1, 8), [0], 'an endgame duplicate is one piece');
});
