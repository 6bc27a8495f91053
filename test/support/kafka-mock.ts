import { spawn, type ChildProcess } from 'node:child_process';
import { readEnv } from '../../src/config.js';

/**
 * A real Kafka-protocol broker over TCP for the integration tests.
 *
 * - KAFKA_BROKERS set: that cluster is used as it is (stop/pause/restart are not available).
 * - otherwise: librdkafka's mock cluster, served by Debian's kcat (`apt-get install -y kcat`):
 *     kcat -C -q -b 127.0.0.1:1 -t <keepalive> -o end -X test.mock.num.brokers=3
 *   kcat consumes a keepalive topic and keeps the mock alive; librdkafka logs
 *   "Mock cluster enabled: … replaced with 127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3" on stderr.
 *   The mock lives in kcat's memory: killing kcat loses every topic, message and committed
 *   offset, and a new one listens on other ports.
 */
export interface TestBroker {
  kind: 'mock' | 'external';
  /** the current bootstrap servers; changes after restart() (pass the function to kafkajs) */
  brokers(): string[];
  /** mock only: SIGSTOP the broker process; connections stay open and nothing is answered; data kept */
  pause(): void;
  resume(): void;
  /** mock only: kill it and start an empty one on new ports */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const STARTUP_MS = 15_000;

export async function startTestBroker(): Promise<TestBroker> {
  const external = readEnv().KAFKA_BROKERS;
  if (external) {
    const list = external.split(',').map((b) => b.trim());
    const unsupported = () => {
      throw new Error('pause/restart need the mock broker (KAFKA_BROKERS is set)');
    };
    return { kind: 'external', brokers: () => list, pause: unsupported, resume: unsupported, restart: async () => unsupported(), stop: async () => undefined };
  }
  let current = await spawnMock();
  return {
    kind: 'mock',
    brokers: () => current.brokers,
    pause: () => current.child.kill('SIGSTOP'),
    resume: () => current.child.kill('SIGCONT'),
    restart: async () => {
      await killMock(current.child);
      current = await spawnMock();
    },
    stop: () => killMock(current.child),
  };
}

interface Mock {
  child: ChildProcess;
  brokers: string[];
}

function spawnMock(): Promise<Mock> {
  const child = spawn('kcat', ['-C', '-q', '-b', '127.0.0.1:1', '-t', '__noemie_keepalive', '-o', 'end', '-X', 'test.mock.num.brokers=3'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // Never leave a broker behind a crashed test run.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  return new Promise<Mock>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => fail(new Error(`kcat mock cluster did not start within ${STARTUP_MS} ms:\n${log}`)), STARTUP_MS);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.once('error', (e: NodeJS.ErrnoException) =>
      fail(e.code === 'ENOENT' ? new Error('kcat not found: install it (apt-get install -y kcat) or set KAFKA_BROKERS to a running Kafka') : e),
    );
    child.once('exit', (code) => fail(new Error(`kcat exited with ${code} before the mock cluster was up:\n${log}`)));
    child.stderr!.setEncoding('utf8');
    const onData = (chunk: string) => {
      log += chunk;
      const m = /(?:replaced with|bootstrap\.servers=)\s*(\S+)/.exec(log);
      if (!m) return;
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      child.removeAllListeners('exit');
      child.once('exit', () => process.off('exit', reap));
      // Keep draining stderr so kcat never blocks on a full pipe.
      child.stderr!.resume();
      resolve({ child, brokers: m[1]!.split(',') });
    };
    child.stderr!.on('data', onData);
  });
}

function killMock(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // A paused process must be continued to die of SIGTERM; SIGKILL needs no cooperation.
    child.kill('SIGKILL');
  });
}
