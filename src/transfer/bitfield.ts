/** Which pieces are held: one bit per piece, most significant bit first (BitTorrent's order). */
export class Bitfield {
  readonly bytes: Uint8Array;

  constructor(readonly length: number, bytes?: Uint8Array) {
    this.bytes = bytes ? Uint8Array.from(bytes.subarray(0, Math.ceil(length / 8))) : new Uint8Array(Math.ceil(length / 8));
    if (this.bytes.length !== Math.ceil(length / 8)) throw new RangeError(`bitfield of ${length} bits needs ${Math.ceil(length / 8)} bytes`);
  }

  static full(length: number): Bitfield {
    const b = new Bitfield(length);
    for (let i = 0; i < length; i++) b.set(i);
    return b;
  }

  has(i: number): boolean {
    return i >= 0 && i < this.length && (this.bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0;
  }

  set(i: number): void {
    this.bytes[i >> 3]! |= 0x80 >> (i & 7);
  }

  clear(i: number): void {
    this.bytes[i >> 3]! &= ~(0x80 >> (i & 7));
  }

  count(): number {
    let n = 0;
    for (let i = 0; i < this.length; i++) if (this.has(i)) n++;
    return n;
  }

  complete(): boolean {
    return this.count() === this.length;
  }
}
