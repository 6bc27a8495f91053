/**
 * A small STRICT parser of the Prometheus text exposition format (0.0.4), for the tests: every line
 * is a `# HELP`, a `# TYPE` or a sample `name{label="value",…} number`; anything else throws, so a
 * scrape that is not well-formed fails the test instead of being half read.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === '') return;
    if (line.startsWith('# HELP ')) return;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      return;
    }
    const name = NAME.exec(line)?.[0];
    if (!name) throw new Error(`not a sample: ${where}`);
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      rest = rest.slice(1);
      while (!rest.startsWith('}')) {
        const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/.exec(rest);
        if (!m) throw new Error(`bad label: ${where}`);
        labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        rest = rest.slice(m[0].length);
      }
      rest = rest.slice(1);
    }
    // Prometheus reads values as Go's ParseFloat does: NaN and Inf in any case (prom-client writes "Nan")
    const value = /^ (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|[+-]?inf|nan)(?: -?\d+)?$/i.exec(rest);
    if (!value) throw new Error(`bad value: ${where}`);
    const v = value[1]!.toLowerCase();
    samples.push({ name, labels, value: v === 'nan' ? NaN : v.endsWith('inf') ? (v.startsWith('-') ? -Infinity : Infinity) : Number(v) });
  });
  return { types, samples };
}

/** The samples of one metric, optionally only those carrying these labels. */
export function samplesOf(e: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}
