import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/bus.js';
import { nirKey } from '../../src/model/act-line.js';
import type { Grid, GridRule, GridSet } from '../../src/model/grid.js';
import type { MembershipEvent } from '../../src/model/membership.js';
import { correctGrids } from '../../src/pipeline/grid-corrections.js';
import { gridChanges } from '../../src/pipeline/grid-diff.js';
import { MembershipStore } from '../../src/pipeline/membership-store.js';
import { ReferenceStore, readReferenceFile } from '../../src/pipeline/reference-store.js';
import { readAll } from './stages-given.js';
import { ROOT } from './liquidation-support.js';

const rule = (id: string, pct: string, from = '2022-01-01', to: string | null = null, note?: string): GridRule => ({
  id, poste: 'soins.generalistes', effective: { from, to }, formula: [{ kind: 'pct_br', pct }], ...(note ? { note } : {}),
});
const grid = (id: string, rules: GridRule[], over: Partial<Grid> = {}): Grid => ({ id, label: id, level: 'Base', includesRO: true, yearBasis: 'calendar', rules, ...over });

describe('gridChanges: the first care date a new grids version decides differently, per level', () => {
  it('finds the date a rule changed from, ignores notes and a rule cut in two, and changes after `until`', () => {
    const before: GridSet = { A: grid('A', [rule('g', '100')]), B: grid('B', [rule('g', '170')]), C: grid('C', [rule('g', '220')]) };
    const after: GridSet = {
      // cut at 2025-03-01 and raised from then: the days before decide as they did
      A: grid('A', [rule('g', '100', '2022-01-01', '2025-02-28'), rule('g2', '150', '2025-03-01')]),
      // only its note changed: decides nothing
      B: grid('B', [rule('g', '170', '2022-01-01', null, 'reworded')]),
      // raised from 2027-01-01 only: no care date up to `until` is decided differently
      C: grid('C', [rule('g', '220', '2022-01-01', '2026-12-31'), rule('g2', '250', '2027-01-01')]),
    };
    expect(Object.fromEntries(gridChanges(before, after, '2026-12-05'))).toEqual({ A: '2025-03-01' });
    expect(Object.fromEntries(gridChanges(before, after, '2027-06-30'))).toEqual({ A: '2025-03-01', C: '2027-01-01' });
  });

  it('a setting of the whole grid, or a grid added or removed, changes it from its earliest rule', () => {
    const before: GridSet = { A: grid('A', [rule('g', '100', '2023-01-01')]), B: grid('B', [rule('g', '100', '2021-06-01')]) };
    const after: GridSet = { A: grid('A', [rule('g', '100', '2023-01-01')], { includesRO: false }), N: grid('N', [rule('g', '100', '2024-01-01')]) };
    expect(Object.fromEntries(gridChanges(before, after, '2026-12-05'))).toEqual({ A: '2023-01-01', B: '2021-06-01', N: '2024-01-01' });
  });
});

const homes: string[] = [];
const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
  await Promise.all(homes.splice(0).map((h) => rm(h, { recursive: true, force: true })));
});

const nir = (i: number) => `18503751${String(i).padStart(5, '0')}`;
function created(adherentId: string, i: number, contracts: string[], start = '2024-01-01', extra: Partial<MembershipEvent> = {}): MembershipEvent {
  return {
    eventId: `c-${adherentId}`, eventType: 'family_created', effectiveDate: start, adherentId, nir: nir(i), nirKey: nirKey(nir(i)), rang: 1,
    birthDate: '1985-03-12', role: 'A', contracts, noemie: true, name: adherentId, ...extra,
  } as MembershipEvent;
}

describe('correctGrids: one request per family holding a corrected level in the corrected period, once per version and bus', () => {
  it('asks for the right families, from the right date, and never twice for a version on the same bus', async () => {
    const home = await mkdtemp(join(tmpdir(), 'grid-corr-'));
    homes.push(home);
    const bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
    buses.push(bus);
    const membership = MembershipStore.open(home);
    try {
      await membership.apply([
        created('F1', 1, ['CCN-HLA-BASE']), // holds BASE: asked from 2025-03-01
        created('F2', 2, ['CCN-HLA-OPT2']), // another level: not asked
        created('F3', 3, ['CCN-HLA-OPT2']), // BASE from 2025-06-01 only (level change): asked, from 2025-03-01
        { eventId: 'lvl-F3', eventType: 'contract_change', effectiveDate: '2025-06-01', adherentId: 'F3', contracts: ['CCN-HLA-BASE'] } as MembershipEvent,
        created('F4', 4, ['CCN-HLA-BASE']), // BASE, but résiliated before 2025-03-01: not asked
        { eventId: 'end-F4', eventType: 'affiliation_end', effectiveDate: '2025-01-01', adherentId: 'F4' } as MembershipEvent,
        created('F5', 5, ['CCN-HLA-BASE'], '2024-01-01'), // BASE until 2025-02-28, then OPT2: not asked
        { eventId: 'lvl-F5', eventType: 'contract_change', effectiveDate: '2025-03-01', adherentId: 'F5', contracts: ['CCN-HLA-OPT2'] } as MembershipEvent,
      ]);
      const references = new ReferenceStore(membership.kv, home);
      const sample = await readReferenceFile('grids', join(ROOT, 'fixtures', 'grids'));
      await references.publish({ grids: { data: sample, source: 'sample' } });
      const today = () => '2026-12-05';
      // grids-1 alone: nothing before it, nothing asked
      expect((await correctGrids({ bus, membership, busId: 'embedded', today })).requests).toEqual([]);

      const base = sample['CCN-HLA-BASE']!;
      const i = base.rules.findIndex((r) => r.id === 'soins.generalistes');
      const rules = [...base.rules];
      rules.splice(i, 1, { ...rules[i]!, effective: { from: '2022-01-01', to: '2025-02-28' } }, { ...rules[i]!, id: 'soins.generalistes.2025', effective: { from: '2025-03-01', to: null }, formula: [{ kind: 'pct_br', pct: '150' }] });
      await references.publish({ grids: { data: { ...sample, 'CCN-HLA-BASE': { ...base, rules } }, source: 'corrected' } });

      const first = await correctGrids({ bus, membership, busId: 'embedded', today });
      const cause = { eventId: 'grids-2', type: 'grid_correction', effectiveDate: '2025-03-01' };
      expect(first.corrected.map((c) => [c.versionId, c.previous, c.changes, c.requests])).toEqual([['grids-2', 'grids-1', { 'CCN-HLA-BASE': '2025-03-01' }, 2]]);
      expect(first.requests).toEqual([
        { requestId: 'grids-2:F1', adherentId: 'F1', from: '2025-03-01', reason: cause },
        { requestId: 'grids-2:F3', adherentId: 'F3', from: '2025-03-01', reason: cause },
      ]);
      expect(await readAll(bus, 'reliquidations')).toEqual(first.requests);
      // again (a restart): marked, nothing asked
      expect((await correctGrids({ bus, membership, busId: 'embedded', today })).requests).toEqual([]);
      // another bus the home talks to (its own ledgers): asked once there too
      expect((await correctGrids({ bus, membership, busId: 'kafka-default', today })).requests).toHaveLength(2);
      expect((await correctGrids({ bus, membership, busId: 'kafka-default', today })).requests).toEqual([]);
      expect(await readAll(bus, 'reliquidations')).toHaveLength(4);
    } finally {
      await membership.close();
    }
  });
});
