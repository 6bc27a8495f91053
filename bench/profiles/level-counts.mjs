// Preload counting LevelDB sub-store reads (get, getMany keys) and writes (put, remove) by sub-store name, printed
// on stderr at exit (`COUNTS <pid> {...}`). Session 19: the reconcile service's keys per event, with bench:reconcile-run:
//   COUNT_IMPL=$PWD/dist NODE_OPTIONS="--import $PWD/bench/profiles/level-counts.mjs" node dist/bench/reconcile-run.bench.js --source <home>/bus
const impl = process.env.COUNT_IMPL;
const { LevelStore } = await import(`${impl}/src/state/level-store.js`);
const counts = {};
const add = (k, n = 1) => { counts[k] = (counts[k] ?? 0) + n; };
const origSub = LevelStore.prototype.sub;
LevelStore.prototype.sub = function (name, codec) {
  const s = origSub.call(this, name, codec);
  const P = Object.getPrototypeOf(s);
  if (!P.__counted) {
    P.__counted = true;
    const g = P.get, gm = P.getMany, p = P.put, r = P.remove;
    P.get = function (k) { add(`${this.__name}.get`); return g.call(this, k); };
    P.getMany = function (ks) { add(`${this.__name}.getMany-keys`, ks.length); add(`${this.__name}.getMany-calls`); return gm.call(this, ks); };
    P.put = function (k, v) { add(`${this.__name}.put`); return p.call(this, k, v); };
    P.remove = function (k) { add(`${this.__name}.remove`); return r.call(this, k); };
  }
  s.__name = name;
  return s;
};
process.on('exit', () => { if (Object.keys(counts).length) console.error(`COUNTS ${process.pid} ${JSON.stringify(counts)}`); });
