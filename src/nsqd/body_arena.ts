/**
 * Message bodies copied into shared slabs: a small body costs a view on a slab instead of an
 * ArrayBuffer of its own (an ArrayBuffer and its backing store cost far more than a 100-byte body).
 * A slab lives as long as any message in it, so slabs are small (16 KiB) and large bodies still get
 * their own buffer; with FIFO consumption slabs are freed as they are drained.
 */
export class BodyArena {
  readonly #slabSize: number;
  #slab: Uint8Array;
  #used = 0;

  constructor(slabSize = 16 * 1024) {
    this.#slabSize = slabSize;
    this.#slab = new Uint8Array(0);
  }

  /** A copy of `buf[start..end)` that stays valid after `buf`'s memory is reused. */
  copyFrom(buf: Uint8Array, start: number, end: number): Uint8Array {
    const n = end - start;
    if (n > this.#slabSize >> 2) return buf.slice(start, end);
    if (this.#used + n > this.#slab.length) {
      this.#slab = new Uint8Array(this.#slabSize);
      this.#used = 0;
    }
    const slab = this.#slab;
    const at = this.#used;
    if (n <= 64) {
      // Short bodies: a loop beats making a source view for set().
      for (let i = 0; i < n; i++) slab[at + i] = buf[start + i];
    } else {
      slab.set(buf.subarray(start, end), at);
    }
    this.#used = at + n;
    return slab.subarray(at, at + n);
  }

  /** A copy of `src` that stays valid after `src`'s memory is reused. */
  copy(src: Uint8Array): Uint8Array {
    const n = src.length;
    if (n > this.#slabSize >> 2) return src.slice();
    if (this.#used + n > this.#slab.length) {
      this.#slab = new Uint8Array(this.#slabSize);
      this.#used = 0;
    }
    const view = this.#slab.subarray(this.#used, this.#used + n);
    view.set(src);
    this.#used += n;
    return view;
  }
}
