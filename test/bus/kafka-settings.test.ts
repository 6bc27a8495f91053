import { describe, expect, it } from 'vitest';
import { ConfigError, kafkaSettings, readEnv } from '../../src/config.js';

describe('kafkaSettings (src/config.ts): what the Kafka bus is built from', () => {
  it('takes --kafka over KAFKA_BROKERS, trims the list and keeps the defaults', () => {
    const env = readEnv({ KAFKA_BROKERS: 'a:9092' });
    expect(kafkaSettings(env, ' kafka:9092 , kafka2:9092 ')).toEqual({
      brokers: ['kafka:9092', 'kafka2:9092'],
      clientId: 'noemie-pipeline',
      ssl: false,
      sessionTimeout: 30_000,
      topicPrefix: '',
      compression: 'none',
    });
    expect(kafkaSettings(env).brokers).toEqual(['a:9092']);
  });

  it('passes SSL and SASL through', () => {
    const env = readEnv({ KAFKA_BROKERS: 'b:9093', KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/etc/ca.pem', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', KAFKA_REPLICATION_FACTOR: '3' });
    expect(kafkaSettings(env)).toMatchObject({
      ssl: { caFile: '/etc/ca.pem', rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      replicationFactor: 3,
    });
  });

  it('takes the producer compression from KAFKA_COMPRESSION: none or gzip', () => {
    expect(kafkaSettings(readEnv({ KAFKA_BROKERS: 'a:9092', KAFKA_COMPRESSION: 'gzip' })).compression).toBe('gzip');
    expect(() => readEnv({ KAFKA_COMPRESSION: 'zstd' })).toThrow(/KAFKA_COMPRESSION: .*received "zstd"/);
  });

  it('says what is missing', () => {
    expect(() => kafkaSettings(readEnv({}))).toThrow(ConfigError);
    expect(() => kafkaSettings(readEnv({ KAFKA_BROKERS: 'b:1', KAFKA_SASL_MECHANISM: 'plain' }))).toThrow(/KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
    expect(() => readEnv({ KAFKA_SSL: 'maybe' })).toThrow(/KAFKA_SSL/);
  });
});
