import type { GeneratedDecompte } from './decomptes.js';

/**
 * Where the `--bad K` records go: K act lines spread evenly over the stream (line index
 * (j + ½)·N/K), each pushed forward to the next décompte that can take it — an initial décompte
 * nobody annuls later (a corrupted line would otherwise orphan its annulation), one target per
 * décompte, and a one-line décompte for a wrong NIR key (the key sits in the décompte's beneficiary
 * record of a NOEMIE or XML file, so it spoils every line of its décompte: one line = one reject).
 * The corruption itself happens on the encoded text (inject.ts), where no valid ActLine could hold it.
 */
export const BAD_KINDS = ['nir_key', 'date', 'amount', 'overlong', 'enum'] as const;
export type BadKind = (typeof BAD_KINDS)[number];

export interface BadRecord {
  kind: BadKind;
  decompteId: string;
  lineNo: number;
  /** filled by the injector: the column (formats.md §1b) or `record` for an overlong NOEMIE record */
  field?: string;
  /** the corrupted text as written */
  value?: string;
  file?: string;
  entry?: string;
  /** 1-based record as the decoder numbers it: CSV text line, NOEMIE record, XML `<line>` ordinal */
  record?: number;
}

export class BadPlan {
  /** decompteId:lineNo → target, for the injector (operation I lines only) */
  readonly targets = new Map<string, BadRecord>();
  private readonly positions: number[];
  private next = 0;
  private seen = 0;

  constructor(
    totalLines: number,
    count: number,
    /** rotates which kind comes first, so two seeds do not corrupt the same way at the same place */
    private readonly offset = 0,
  ) {
    this.positions = Array.from({ length: Math.max(0, Math.min(count, totalLines)) }, (_, j) => Math.floor(((j + 0.5) * totalLines) / count));
  }

  get wanted(): number {
    return this.positions.length;
  }

  /** targets in stream order */
  get placed(): BadRecord[] {
    return [...this.targets.values()];
  }

  kindOf(j: number): BadKind {
    return BAD_KINDS[(j + this.offset) % BAD_KINDS.length] as BadKind;
  }

  *mark(decomptes: Iterable<GeneratedDecompte>): Generator<GeneratedDecompte> {
    for (const d of decomptes) {
      const start = this.seen;
      this.seen += d.lines.length;
      const due = this.positions[this.next];
      if (due !== undefined && due < this.seen && d.kind === 'initial' && !d.annulledLater && d.lines.length > 0) {
        const kind = this.kindOf(this.next);
        if (kind !== 'nir_key' || d.lines.length === 1) {
          const line = d.lines[Math.min(Math.max(0, due - start), d.lines.length - 1)];
          if (line) {
            this.targets.set(`${line.decompteId}:${line.lineNo}`, { kind, decompteId: line.decompteId, lineNo: line.lineNo });
            this.next += 1;
          }
        }
      }
      yield d;
    }
  }

  target(decompteId: string, lineNo: number | string): BadRecord | undefined {
    return this.targets.get(`${decompteId}:${lineNo}`);
  }

  /** The décompte holds a wrong-NIR-key target (its beneficiary record must be corrupted). */
  nirKeyTarget(decompteId: string): BadRecord | undefined {
    const t = this.targets.get(`${decompteId}:1`);
    return t?.kind === 'nir_key' ? t : undefined;
  }
}

/** The wrong key: another two-digit key, never the right one. */
export function wrongKey(key: string): string {
  return String((Number(key) % 96) + 1).padStart(2, '0');
}

/** 30 February of the same year. */
export function impossibleDate(iso: string): string {
  return `${iso.slice(0, 4)}-02-30`;
}
