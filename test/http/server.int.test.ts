import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { startHttpService, type HttpPlugin } from '../../src/http/server.js';

/** The service itself: TLS files passed through, and a graceful close (the request in flight is answered, no new one). */
const logger = createLogger({ level: 'silent' });

function slowPlugin(release: Promise<void>): HttpPlugin {
  return {
    name: 'slow',
    async register(app) {
      app.get('/slow', async () => {
        await release;
        return { done: true };
      });
    },
  };
}

describe('startHttpService', () => {
  it('serves HTTPS with the key and certificate given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'noemie-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const service = await startHttpService({ host: '127.0.0.1', port: 0, tls: { key, cert }, logger, plugins: [slowPlugin(Promise.resolve())] });
    try {
      expect(service.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const { status, body, peerCert } = await new Promise<{ status: number; body: string; peerCert: string }>((resolve, reject) => {
        const req = request(`${service.url}/slow`, { rejectUnauthorized: false }, (res) => {
          let body = '';
          const peerCert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN as string;
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body, peerCert }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(200);
      expect(JSON.parse(body)).toEqual({ done: true });
      expect(peerCert).toBe('127.0.0.1'); // our certificate, not one made up
    } finally {
      await service.close();
    }
  });

  it('closes gracefully: the request in flight gets its answer, then the port refuses', async () => {
    let release!: () => void;
    const service = await startHttpService({ host: '127.0.0.1', port: 0, logger, plugins: [slowPlugin(new Promise<void>((r) => (release = r)))] });
    const inFlight = fetch(`${service.url}/slow`);
    await new Promise((r) => setTimeout(r, 100)); // the request has reached the handler
    const closed = service.close();
    release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await closed;
    await expect(fetch(`${service.url}/slow`)).rejects.toThrow();
  });
});
