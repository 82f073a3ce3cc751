/**
 * The load board: a page of memory the master shares with its workers (a memfd, passed like the
 * listening sockets), one Int32 cell per worker slot holding that worker's open connections, or
 * -1 for a slot no accepting worker holds. Cell 0 is the end of the slots in use, so that a
 * worker reads only as many cells as there are workers.
 *
 * Why: workers accept on one shared socket, and the kernel wakes whichever is free first, so a
 * burst of connections (a client pool opening 8 keep-alive connections) can land 7 to 1 on two
 * workers; one then saturates while the other idles, which costs throughput and tail latency
 * for as long as those connections live. node:cluster avoids this by handing connections out
 * round-robin from the primary, at the cost of a hand-off per connection. With the board, a
 * worker that has just taken a connection and is ahead of some sibling pauses
 * accepting for a moment (see BALANCE_PAUSE_MS in base.ts), so the sibling takes the next one.
 * It is a delay, never a veto: a sibling that is stuck cannot starve the others.
 *
 * Only the owner writes its cell while it lives; the master writes a cell when it hands the
 * slot out and after the worker has exited (a killed worker cannot clear its own).
 */
import type { NativeAddon } from './native.js';

/** One page: 1023 slots. Workers beyond that simply do not take part in balancing. */
export const LOAD_BOARD_BYTES = 4096;
const CELLS = LOAD_BOARD_BYTES / Int32Array.BYTES_PER_ELEMENT;
const END_CELL = 0;
const FIRST_SLOT = 1;
const NOT_ACCEPTING = -1;

/** Where a worker finds the board: its stdio slot and its own cell. */
export interface LoadBoardRef {
  readonly fd: number;
  readonly slot: number;
}

/** The master's side: the shared file, and which slots live workers hold. */
export class LoadBoardSlots {
  private readonly cells: Int32Array;
  private readonly taken = new Set<number>();

  private constructor(readonly fd: number, buffer: ArrayBuffer) {
    this.cells = new Int32Array(buffer);
    this.cells.fill(NOT_ACCEPTING);
    this.cells[END_CELL] = FIRST_SLOT;
  }

  /** Undefined without the addon (workers then accept without balancing). */
  static create(addon: NativeAddon | undefined): LoadBoardSlots | undefined {
    if (addon === undefined) return undefined;
    try {
      const fd = addon.boardCreate(LOAD_BOARD_BYTES);
      return new LoadBoardSlots(fd, addon.boardMap(fd, LOAD_BOARD_BYTES));
    } catch {
      return undefined;
    }
  }

  /** The lowest free slot, reset to "not accepting"; undefined when all are taken. */
  take(): number | undefined {
    for (let slot = FIRST_SLOT; slot < CELLS; slot++) {
      if (this.taken.has(slot)) continue;
      this.taken.add(slot);
      Atomics.store(this.cells, slot, NOT_ACCEPTING);
      if (slot >= Atomics.load(this.cells, END_CELL)) Atomics.store(this.cells, END_CELL, slot + 1);
      return slot;
    }
    return undefined;
  }

  /** The slot's worker has exited: its cell no longer counts. */
  release(slot: number): void {
    Atomics.store(this.cells, slot, NOT_ACCEPTING);
    this.taken.delete(slot);
  }
}

/** A worker's side: publish its own count, compare with its siblings'. */
export class LoadBoard {
  private readonly cells: Int32Array;

  constructor(
    buffer: ArrayBuffer,
    private readonly slot: number,
  ) {
    this.cells = new Int32Array(buffer);
  }

  static attach(addon: NativeAddon | undefined, ref: LoadBoardRef | undefined): LoadBoard | undefined {
    if (addon === undefined || ref === undefined || ref.slot < FIRST_SLOT || ref.slot >= CELLS) return undefined;
    try {
      const board = new LoadBoard(addon.boardMap(ref.fd, LOAD_BOARD_BYTES), ref.slot);
      addon.closeFd(ref.fd);
      return board;
    } catch {
      return undefined;
    }
  }

  /** This worker accepts and holds `connections`. */
  publish(connections: number): void {
    Atomics.store(this.cells, this.slot, connections);
  }

  /** This worker no longer accepts (stopping): siblings should not wait for it. */
  withdraw(): void {
    Atomics.store(this.cells, this.slot, NOT_ACCEPTING);
  }

  /**
   * Whether this worker, holding `connections`, is ahead of an accepting sibling: by at least
   * one connection plus a quarter of the sibling's. The slack keeps two busy workers from
   * pausing each other over a difference that comes and goes with every request.
   */
  isAheadOfASibling(connections: number): boolean {
    const cells = this.cells;
    const end = Math.min(Atomics.load(cells, END_CELL), CELLS);
    for (let i = FIRST_SLOT; i < end; i++) {
      if (i === this.slot) continue;
      const held = Atomics.load(cells, i);
      if (held !== NOT_ACCEPTING && connections - held >= 1 + (held >> 2)) return true;
    }
    return false;
  }
}
