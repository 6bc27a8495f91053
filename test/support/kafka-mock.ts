import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEnv } from '../../src/config.js';

/**
 * A real Kafka-protocol broker over TCP for the integration tests and the Kafka benchmark.
 *
 * - KAFKA_BROKERS set: that cluster is used as it is (stop/pause/restart are not available; the
 *   bus creates its topics there with NOEMIE_PARTITIONS partitions).
 * - otherwise, without options: librdkafka's mock cluster, served by Debian's kcat (`apt-get install -y kcat`):
 *     kcat -C -q -b 127.0.0.1:1 -t <keepalive> -o end -X test.mock.num.brokers=3
 *   kcat consumes a keepalive topic and keeps the mock alive; librdkafka logs
 *   "Mock cluster enabled: … replaced with 127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3" on stderr.
 *   It auto-creates every topic with 4 partitions.
 * - with `{ partitions, topics }`: the same mock, served by test/support/mock-broker/mock-broker.c
 *   (compiled here on first use, needs gcc and librdkafka-dev), with `topics` created up front with
 *   `partitions` partitions (others are still auto-created with 4).
 * Either mock lives in its process's memory: killing it loses every topic, message and committed
 * offset, and a new one listens on other ports. It keeps at most 5 MiB per partition and drops the
 * oldest messages beyond that (bench/README.md "pipeline on Kafka").
 * Its group coordinator closes a sync once every member HAS an assignment, not once every member
 * has asked: a follower whose SyncGroup arrives after the leader's gets INVALID_REQUEST, which
 * kafkajs takes as fatal (the consumer stops, no restart). A real broker answers it. Tests that
 * start several members of one group at once must allow for it (liquidation-rebalance.int.test.ts
 * `settle`, kafka-assignor.int.test.ts).
 */
export interface TestBroker {
  kind: 'mock' | 'external';
  /** the current bootstrap servers; changes after restart() (pass the function to kafkajs) */
  brokers(): string[];
  /** mock only: the broker's process id (its memory is the mock's: /proc/<pid>/status) */
  pid(): number | undefined;
  /**
   * mock only: SIGSTOP the broker process; connections stay open and nothing is answered; data kept.
   * Resolves once every thread of the process is stopped (the signal stops a multi-threaded
   * process thread by thread: an ack was seen 1.2 ms after SIGSTOP when this returned at once).
   */
  pause(): Promise<void>;
  resume(): void;
  /** mock only: kill it and start an empty one on new ports (same topics created up front) */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestBrokerOptions {
  /** partitions of each of `topics` (1..1024); needs the C mock */
  partitions?: number;
  /** topic names created up front (with any prefix already applied) */
  topics?: string[];
}

const STARTUP_MS = 15_000;

export async function startTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const external = readEnv().KAFKA_BROKERS;
  if (external) {
    const list = external.split(',').map((b) => b.trim());
    const unsupported = () => {
      throw new Error('pause/restart need the mock broker (KAFKA_BROKERS is set)');
    };
    return { kind: 'external', brokers: () => list, pid: () => undefined, pause: async () => unsupported(), resume: unsupported, restart: async () => unsupported(), stop: async () => undefined };
  }
  const launch = options.partitions === undefined && options.topics === undefined ? kcatLaunch() : await mockBrokerLaunch(options);
  let current = await spawnMock(launch);
  return {
    kind: 'mock',
    brokers: () => current.brokers,
    pid: () => current.child.pid,
    pause: async () => {
      current.child.kill('SIGSTOP');
      await allThreadsStopped(current.child.pid!);
    },
    resume: () => current.child.kill('SIGCONT'),
    restart: async () => {
      await killMock(current.child);
      current = await spawnMock(launch);
    },
    stop: () => killMock(current.child),
  };
}

interface Launch {
  command: string;
  args: string[];
  name: string;
  missing: string;
  /** the stderr line that says the cluster is up, the bootstrap servers in group 1 */
  ready: RegExp;
}

const kcatLaunch = (): Launch => ({
  command: 'kcat',
  args: ['-C', '-q', '-b', '127.0.0.1:1', '-t', '__noemie_keepalive', '-o', 'end', '-X', 'test.mock.num.brokers=3'],
  name: 'kcat mock cluster',
  missing: 'kcat not found: install it (apt-get install -y kcat) or set KAFKA_BROKERS to a running Kafka',
  ready: /(?:replaced with|bootstrap\.servers=)\s*(\S+)/,
});

async function mockBrokerLaunch(options: TestBrokerOptions): Promise<Launch> {
  const partitions = options.partitions ?? 4;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024) throw new Error(`startTestBroker: partitions must be an integer 1..1024, not ${partitions}`);
  return {
    command: await mockBrokerBinary(),
    args: ['--brokers', '3', '--partitions', String(partitions), ...(options.topics ?? [])],
    name: 'mock-broker',
    missing: 'the compiled mock-broker vanished from node_modules/.cache/noemie-mock-broker',
    // its own line, printed once the topics exist (librdkafka's "replaced with" comes before)
    ready: /^bootstrap\.servers=(\S+)\n/m,
  };
}

const here = dirname(fileURLToPath(import.meta.url));
/** the repository, whether this runs from test/support (vitest, tsx) or dist/test/support (the compiled bench) */
const root = resolve(here, existsSync(resolve(here, '../../package.json')) ? '../..' : '../../..');
const SOURCE = join(root, 'test', 'support', 'mock-broker', 'mock-broker.c');

/**
 * Compiles mock-broker.c once per version of its text: the binary's name carries the source's hash,
 * so an edited source is rebuilt and concurrent builds rename the same result into place.
 */
export async function mockBrokerBinary(): Promise<string> {
  const source = readFileSync(SOURCE);
  const dir = join(root, 'node_modules', '.cache', 'noemie-mock-broker');
  const binary = join(dir, `mock-broker-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    await new Promise<void>((res, rej) =>
      execFile('gcc', ['-O2', '-Wall', '-o', partial, SOURCE, '-lrdkafka'], (e, _out, stderr) => {
        if (!e) return res();
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return rej(new Error('gcc not found: the mock broker is compiled on first use (apt-get install -y gcc librdkafka-dev)'));
        if (/rdkafka(_mock)?\.h|-lrdkafka/.test(stderr)) return rej(new Error(`librdkafka's headers or library are missing (apt-get install -y librdkafka-dev):\n${stderr}`));
        rej(new Error(`gcc could not compile ${SOURCE}:\n${stderr}`));
      }),
    );
    renameSync(partial, binary);
  } finally {
    rmSync(partial, { force: true });
  }
  return binary;
}

interface Mock {
  child: ChildProcess;
  brokers: string[];
}

function spawnMock(launch: Launch): Promise<Mock> {
  const child = spawn(launch.command, launch.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // Never leave a broker behind a crashed test run.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  return new Promise<Mock>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => fail(new Error(`${launch.name} did not start within ${STARTUP_MS} ms:\n${log}`)), STARTUP_MS);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.once('error', (e: NodeJS.ErrnoException) => fail(e.code === 'ENOENT' ? new Error(launch.missing) : e));
    child.once('exit', (code) => fail(new Error(`${launch.name} exited with ${code} before the mock cluster was up:\n${log}`)));
    child.stderr!.setEncoding('utf8');
    const onData = (chunk: string) => {
      log += chunk;
      const m = launch.ready.exec(log);
      if (!m) return;
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      child.removeAllListeners('exit');
      child.once('exit', () => process.off('exit', reap));
      // Keep draining stderr so the broker never blocks on a full pipe.
      child.stderr!.resume();
      resolve({ child, brokers: m[1]!.split(',') });
    };
    child.stderr!.on('data', onData);
  });
}

/** Waits until every thread of `pid` is in state T (stopped) in /proc/<pid>/task/<tid>/stat. */
async function allThreadsStopped(pid: number, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const states = readdirSync(`/proc/${pid}/task`).map((tid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // "tid (comm) S …": comm may hold spaces or parentheses, the state follows the last ")".
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      } catch {
        return 'T'; // the thread ended meanwhile
      }
    });
    if (states.every((st) => st === 'T' || st === 't')) return;
    if (Date.now() > end) throw new Error(`broker ${pid} not stopped after ${timeoutMs} ms: thread states ${states.join('')}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function killMock(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // A paused process must be continued to die of SIGTERM; SIGKILL needs no cooperation.
    child.kill('SIGKILL');
  });
}

/**
 * Kafka bus options for tests against `broker`, in the namespace `topicPrefix`: the mock needs a
 * session timeout of ≥ 3 s (lower and JoinGroup times out) and a real broker refuses less than its
 * group.min.session.timeout.ms (6 s); the mock answers ListOffsets-by-timestamp wrongly (it
 * returned the end offset for t=0), so timestamp lookups are off there.
 */
export function testBusOptions(broker: TestBroker, topicPrefix: string, clientId = 'noemie-test') {
  return {
    brokers: () => broker.brokers(),
    clientId,
    ssl: false as const,
    sessionTimeout: broker.kind === 'mock' ? 3_000 : 6_000,
    topicPrefix,
    timestampLookup: broker.kind !== 'mock',
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
  };
}
