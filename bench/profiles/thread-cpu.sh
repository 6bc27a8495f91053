#!/bin/bash
# bench/profiles/thread-cpu.sh <out> <cmd...> (bench/README.md "Session 14 — liquidation"): runs cmd (a run.bench); samples its `noemie run` child's threads every 0.2 s into <out>.samples (t tid comm cpu_ticks); then `node bench/profiles/thread-cpu-window.mjs <out>` gives each thread's CPU per stage, which JS profiles do not show. Node 20 names every thread `node`: tell them by tid — the main thread's is the pid, the next four are V8's platform workers (its GC helpers), then libuv's pool, LevelDB's and LMDB's threads and the pool workers as they start
out=$1; shift
"$@" > $out.log 2>&1 &
bpid=$!
: > $out.samples
while kill -0 $bpid 2>/dev/null; do
  pid=$(pgrep -P $bpid -f "noemie.js run" | head -1)
  if [ -n "$pid" ]; then
    now=$(date +%s.%N)
    for t in /proc/$pid/task/*; do
      read -r stat < $t/stat 2>/dev/null || continue
      comm=${stat#*(}; comm=${comm%%)*}; comm=${comm// /_}
      rest=${stat#*) }
      set -- $rest
      echo "$now ${t##*/} $comm $(( ${12} + ${13} ))"
    done >> $out.samples
  fi
  sleep 0.2
done
