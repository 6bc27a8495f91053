import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import type { EngineState, LineRecord } from '../engine/index.js';
import type { LedgerPiece } from './drop-ledger-pieces.js';
import { withLines } from './ledgers.js';
import { STATE_MAP_BYTES } from '../state/kv-store.js';

/** Prefix of the spill folders under the OS temp dir (`<prefix><pid>-XXXXXX`, swept by `sweepOrphans` when their process is gone). */
export const LEDGER_SPILL_PREFIX = 'noemie-liquidate-';

/**
 * Line records held in memory by one shard of `noemie liquidate` before the oldest go to disk
 * (≈ 0.5–1 KB of heap each): two batches' worth (drop-liquidator BATCH_LINES 4 096). A record is
 * read again only when its line comes again (an annulation, a replay), so a larger budget bought
 * nothing: 65 536 held 145 MB more anonymous memory at 200 k lines with 2 shards for the same CPU
 * (bench/README.md "Session 9 — `noemie liquidate` resident records").
 */
export const RESIDENT_LINES = 8_192;

/**
 * Joins a lineKey and its family in the spill store. LineKey first (`noemie-<caisse>:<décompte>:<line>`):
 * a drop's décomptes come in increasing numbers per caisse, so spills insert near the right edges
 * of the B-tree and touch few of its pages (family first scattered them: every page of the store
 * was mapped again, 644 MB of file-backed RSS at 1 M lines).
 */
const SEP = '\u001f';
const spillKey = (family: string, lineKey: string) => lineKey + SEP + family;

type Head = Pick<EngineState, 'counters' | 'renewals'>;

/**
 * The family ledgers of one `noemie liquidate` shard, in memory that does not grow with the drop's
 * lines. A ledger is split as the liquidation service's ledger store splits it: the family's head
 * (counters, renewals: small, always in memory) and its line records, one per lineKey ever
 * liquidated (what an annulation or a replay of that line needs, and nothing else needs: the
 * engine reads a line's own record only). A batch gets, per family, the head and the records of
 * its own lines (`batchState`); after it, the records go back (`keep`) and the oldest beyond
 * `RESIDENT_LINES` go to a scratch LMDB environment, read back by key when their line comes again.
 * A drop's families come back batch after batch (lines are not sorted by family), so whole
 * ledgers spilled least-recently-used would be written and parsed again at every batch: records
 * by line are written once and read only for the rare line seen twice.
 *
 * The records hold NIRs (counter keys): each is encrypted (AES-256-CTR, `SpillCipher`) with a key
 * that lives only in this process's memory, so the files a `kill -9` leaves behind are unreadable;
 * `close`, or the next run's sweep, removes them. Keys are the family (adhérent number) and the
 * lineKey (caisse, décompte, line number). Never fsynced: nothing in it outlives
 * the run. Opened at the first spill only: a drop that fits never touches the disk.
 */
export class DropLedgers {
  private readonly heads = new Map<string, Head>();
  /** `lineKey␟family` → record, oldest first */
  private readonly lines = new Map<string, LineRecord>();
  private store: { db: RootDatabase<Buffer, string>; dir: string } | null = null;
  private readonly cipher = new SpillCipher();
  /** the keys spilled, as a filter: most lines are new, and their lookup must not touch the spill store's pages */
  private readonly spilledKeys = new KeyFilter();
  readonly stats = { spilled: 0, reloaded: 0 };

  constructor(private readonly budget = RESIDENT_LINES) {}

  /** A family's state for one batch: its head and the records of the batch's lineKeys it has (a fresh object: the caller may write it). */
  batchState(family: string, lineKeys: Iterable<string>): EngineState {
    const head = this.heads.get(family);
    const records: Record<string, LineRecord> = {};
    for (const lineKey of lineKeys) {
      const record = this.record(family, lineKey);
      if (record !== undefined) records[lineKey] = record;
    }
    return { counters: head?.counters ?? {}, renewals: head?.renewals ?? {}, lines: withLines({}, records) };
  }

  /** A family's state after a batch: the head kept, the line records filed. */
  keep(family: string, state: EngineState): void {
    this.heads.set(family, { counters: state.counters, renewals: state.renewals });
    for (const bucket of Object.values(state.lines)) for (const [lineKey, record] of Object.entries(bucket)) this.file(family, lineKey, record);
  }

  /** A piece of a ledger the run starts from (`--state`). */
  keepPiece(piece: LedgerPiece): void {
    if ('head' in piece) this.heads.set(piece.family, piece.head);
    else this.file(piece.family, piece.line, piece.record);
  }

  /** Between batches: the oldest line records beyond the budget go to the spill store, in one transaction. */
  trim(): void {
    if (this.lines.size <= this.budget) return;
    this.spill(this.lines.size - this.budget);
  }

  /** Every ledger as pieces (`--state`): the heads, then the line records, in memory first, then the spill store's in key order. */
  *pieces(): Generator<LedgerPiece> {
    for (const [family, head] of this.heads) yield { family, head };
    const resident = new Set<string>();
    for (const [key, record] of this.lines) {
      resident.add(key);
      const at = key.lastIndexOf(SEP);
      yield { family: key.slice(at + 1), line: key.slice(0, at), record };
    }
    if (this.store === null) return;
    for (const { key, value } of this.store.db.getRange({})) {
      if (resident.has(key)) continue; // read back and changed since: the one in memory is the latest
      const at = key.lastIndexOf(SEP);
      yield { family: key.slice(at + 1), line: key.slice(0, at), record: JSON.parse(this.cipher.open(value)) as LineRecord };
    }
  }

  get families(): number {
    return this.heads.size;
  }

  get residentLines(): number {
    return this.lines.size;
  }

  /** Closes and removes the spill store (nothing in it outlives the run). */
  close(): void {
    if (this.store === null) return;
    const { db, dir } = this.store;
    this.store = null;
    void db.close();
    rmSync(dir, { recursive: true, force: true });
  }

  private file(family: string, lineKey: string, record: LineRecord): void {
    const key = spillKey(family, lineKey);
    this.lines.delete(key); // most recent last
    this.lines.set(key, record);
  }

  private record(family: string, lineKey: string): LineRecord | undefined {
    const key = spillKey(family, lineKey);
    const resident = this.lines.get(key);
    if (resident !== undefined || this.store === null || !this.spilledKeys.mayHave(key)) return resident;
    const sealed = this.store.db.get(key);
    if (sealed === undefined) return undefined;
    this.stats.reloaded += 1;
    return JSON.parse(this.cipher.open(sealed)) as LineRecord;
  }

  private spill(count: number): void {
    const { db } = this.open();
    const keys: string[] = [];
    const texts: string[] = [];
    for (const [key, record] of this.lines) {
      if (keys.length >= count) break;
      keys.push(key);
      texts.push(JSON.stringify(record));
    }
    for (const key of keys) {
      this.lines.delete(key);
      this.spilledKeys.add(key);
    }
    const sealed = this.cipher.seal(texts);
    db.transactionSync(() => {
      keys.forEach((key, i) => db.putSync(key, sealed[i]!));
    });
    this.stats.spilled += keys.length;
  }

  private open(): { db: RootDatabase<Buffer, string> } {
    if (this.store !== null) return this.store;
    const dir = mkdtempSync(join(tmpdir(), `${LEDGER_SPILL_PREFIX}${process.pid}-`));
    // Not LMDB's own `encryptionKey`: with it, a 1 M-line drop failed a commit on a corrupt
    // freelist (MDB_BAD_TXN "freelist entry had bad/duplicate entries") and held 2.8 GB of RSS.
    const db = open<Buffer, string>({
      path: join(dir, 'lines.mdb'),
      encoding: 'binary',
      noSync: true,
      // address space reserved once: a growing map is re-mapped and every old mapping counted again in RSS (kv-store.ts)
      mapSize: STATE_MAP_BYTES,
    });
    this.store = { db, dir };
    return this.store;
  }
}

/**
 * Encrypts the spilled records with a key only this process holds. A spill's records are one
 * AES-256-CTR keystream (one cipher per spill, not per record: 16 µs a record otherwise), each
 * record stored with the spill's number and its offset in the stream, so one record is read
 * back alone: CTR lets a decipher start at any 16-byte block. The counter block is the spill's
 * number (high 64 bits) and the block index (low 64 bits): no keystream block is ever used twice.
 */
export class SpillCipher {
  private readonly key = randomBytes(32);
  private spills = 0;

  /** The texts encrypted, each as [spill number u32][offset u32][ciphertext]. */
  seal(texts: readonly string[]): Buffer[] {
    const spill = this.spills++;
    const plain = texts.map((t) => Buffer.from(t, 'utf8'));
    const stream = createCipheriv('aes-256-ctr', this.key, counterBlock(spill, 0)).update(Buffer.concat(plain));
    let offset = 0;
    return plain.map((p) => {
      const out = Buffer.allocUnsafe(8 + p.length);
      out.writeUInt32BE(spill, 0);
      out.writeUInt32BE(offset, 4);
      stream.copy(out, 8, offset, offset + p.length);
      offset += p.length;
      return out;
    });
  }

  open(sealed: Uint8Array): string {
    const value = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const spill = value.readUInt32BE(0);
    const offset = value.readUInt32BE(4);
    const decipher = createDecipheriv('aes-256-ctr', this.key, counterBlock(spill, Math.floor(offset / 16)));
    decipher.update(Buffer.alloc(offset % 16)); // the start of the record's first block
    return decipher.update(value.subarray(8)).toString('utf8');
  }
}

function counterBlock(spill: number, block: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(spill, 4);
  iv.writeBigUInt64BE(BigInt(block), 8);
  return iv;
}

/**
 * A Bloom filter over the spilled keys, grown a layer at a time (≈ 1 % false positives per layer
 * of 2^20 keys, 10 bits a key: 1.25 MB per million lines). "No" is certain: a new line's lookup
 * answers from memory instead of walking the spill store's B-tree (whose pages it would map).
 */
export class KeyFilter {
  private static readonly LAYER_KEYS = 1 << 20;
  private static readonly HASHES = 7;
  private readonly layers: Uint32Array[] = [];
  private inLast = 0;

  add(key: string): void {
    if (this.layers.length === 0 || this.inLast >= KeyFilter.LAYER_KEYS) {
      this.layers.push(new Uint32Array((KeyFilter.LAYER_KEYS * 10) / 32));
      this.inLast = 0;
    }
    const bits = this.layers[this.layers.length - 1]!;
    const [h1, h2] = hashes(key);
    for (let i = 0; i < KeyFilter.HASHES; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const at = bit % (bits.length * 32);
      bits[at >>> 5]! |= 1 << (at & 31);
    }
    this.inLast += 1;
  }

  mayHave(key: string): boolean {
    if (this.layers.length === 0) return false;
    const [h1, h2] = hashes(key);
    return this.layers.some((bits) => {
      for (let i = 0; i < KeyFilter.HASHES; i++) {
        const at = ((h1 + Math.imul(i, h2)) >>> 0) % (bits.length * 32);
        if ((bits[at >>> 5]! & (1 << (at & 31))) === 0) return false;
      }
      return true;
    });
  }
}

/** Two independent 32-bit hashes of a string (FNV-1a and a multiplicative one), for double hashing. */
function hashes(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x85ebca6b) ^ (b >>> 13);
  }
  return [a >>> 0, (b | 1) >>> 0];
}
