import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { logFormatSetting } from '../../src/config.js';
import { createLogger, wantsPretty } from '../../src/log.js';

/**
 * Logs on a terminal are for people (pino-pretty: level, ISO time, message, fields below), logs in
 * a file or a pipe are JSON for machines; personal data is masked either way.
 */
function sink(isTTY: boolean): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  Object.assign(stream, { isTTY });
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { stream, text: () => text };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('createLogger', () => {
  it('on a terminal: one human line with the ISO time (UTC) and the level, fields indented, IBAN and NIR masked', async () => {
    const out = sink(true);
    const logger = createLogger({ destination: out.stream, format: 'auto' });
    logger.info({ iban: 'FR7630006000011234567890189', file: 'a.noemie' }, 'drop read for 1850575123456');
    await tick();
    // colours on a terminal: compared without the escape sequences
    const [first, ...rest] = out.text().replace(/\x1b\[\d+m/g, '').split('\n');
    expect(first).toMatch(/^\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\] .*INFO.*: drop read for 1\*{12}/);
    expect(rest.join('\n')).toContain('file: "a.noemie"');
    expect(out.text()).not.toContain('FR7630006000011234567890189');
    expect(() => JSON.parse(first!)).toThrow();
  });

  it('elsewhere (a file, a pipe): JSON, one object a line, masked the same', async () => {
    const out = sink(false);
    createLogger({ destination: out.stream, format: 'auto' }).warn({ iban: 'FR7630006000011234567890189' }, 'x');
    await tick();
    const line = JSON.parse(out.text().trim()) as { level: number; msg: string; iban: string; time: number };
    expect(line).toMatchObject({ level: 40, msg: 'x', iban: '[redacted]' });
    expect(typeof line.time).toBe('number');
  });

  it('NOEMIE_LOG_FORMAT forces one or the other', () => {
    expect(wantsPretty(sink(true).stream, 'json')).toBe(false);
    expect(wantsPretty(sink(false).stream, 'pretty')).toBe(true);
    expect(wantsPretty(sink(true).stream, 'auto')).toBe(true);
    expect(logFormatSetting({})).toBe('auto');
    expect(logFormatSetting({ NOEMIE_LOG_FORMAT: 'json' })).toBe('json');
    expect(() => logFormatSetting({ NOEMIE_LOG_FORMAT: 'fancy' })).toThrow(/NOEMIE_LOG_FORMAT/);
  });
});
