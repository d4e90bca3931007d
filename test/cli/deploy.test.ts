import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { checkConfigFile } from '../../src/config/load.js';

/**
 * deploy/ is not run here (no Docker daemon, no systemd as PID 1): these checks keep its files in
 * agreement with each other and with the config they serve. deploy/install.sh itself runs in
 * test/package on the packed tarball.
 */
const deploy = path.resolve(import.meta.dirname, '../../deploy');
const read = (name: string) => readFileSync(path.join(deploy, name), 'utf8');
const CREDENTIALS = '/run/credentials/phala-bridge.service/';

/** Every `{ file }` secret path deploy/production.yaml names. */
function secretFiles(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) secretFiles(v, out);
  else if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'file') out.push((value as { file: string }).file);
    else for (const v of Object.values(value)) secretFiles(v, out);
  }
  return out;
}

const files = secretFiles(parseYaml(read('production.yaml')));

type Service = {
  command?: string[];
  secrets?: { source: string; target: string }[];
  volumes?: string[];
  environment?: Record<string, string>;
};
const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
};

describe('deploy/', () => {
  it('production.yaml keeps every secret in a file under the credentials directory', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) expect(file.startsWith(CREDENTIALS)).toBe(true);
  });

  it('docker-compose.yml: relayer, two workers, a gatekeeper and Redis; each role gets every secret path, its own or empty', () => {
    const roles = { relayer: 'start', 'worker-1': 'worker', 'worker-2': 'worker', gatekeeper: 'gatekeeper' };
    expect(Object.keys(compose.services).sort()).toEqual([...Object.keys(roles), 'redis'].sort());
    const own: Record<string, string[]> = {
      relayer: ['redis-password', 'admin-token', 'evm-signer', 'phala-signer', 'sibling-signer'],
      'worker-1': ['redis-password'],
      'worker-2': ['redis-password'],
      gatekeeper: ['gatekeeper-account'],
    };
    for (const [name, command] of Object.entries(roles)) {
      const service = compose.services[name]!;
      expect(service.command?.[0]).toBe(command);
      expect(service.volumes).toContain('./production.yaml:/etc/phala-bridge/production.yaml:ro');
      const targets = service.secrets!.map((s) => s.target).sort();
      expect(targets, name).toEqual([...files].sort());
      for (const s of service.secrets!) {
        expect(compose.secrets[s.source], s.source).toBeDefined();
        const base = path.basename(s.target);
        expect(s.source, `${name} ${base}`).toBe(own[name]!.includes(base) ? base : 'not-this-role');
      }
    }
    expect(compose.secrets['not-this-role']!.file).toBe('/dev/null');
    expect(compose.services.redis!.secrets).toEqual(['redis-password']);
  });

  it("the compose file's overrides still make a valid production config", () => {
    const env = compose.services.relayer!.environment!;
    const { config } = checkConfigFile(path.join(deploy, 'production.yaml'), env);
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(config.redis.tls).toBe(false);
    expect(config.mode).toBe('production');
  });

  it('phala-bridge.service: hardened, LoadCredential for each secret the config names', () => {
    const unit = read('phala-bridge.service');
    const setting = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
    for (const [key, value] of Object.entries({
      DynamicUser: 'yes',
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      StateDirectory: 'phala-bridge',
      Restart: 'on-failure',
    }))
      expect(setting(key), key).toEqual([value]);
    const credentials = setting('LoadCredential').map((c) => c.split(':')[0]!);
    expect(credentials.sort()).toEqual(files.map((f) => path.basename(f)).sort());
    expect(setting('ExecStart')[0]).toMatch(
      /phala-bridge start --config \/etc\/phala-bridge\/production\.yaml$/,
    );
    expect(setting('ExecStartPre')[0]).toContain('config check --require-secrets');
  });

  it('Dockerfile: node:20-slim, a non-root user, the install script, phala-bridge as the entry point', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toMatch(/^USER phala-bridge$/m);
    expect(dockerfile).toMatch(/bash \/tmp\/install\/install\.sh "\$tarball" \/opt\/phala-bridge/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["phala-bridge"\]$/m);
    expect(read('Dockerfile.dockerignore')).toContain('!deploy/install.sh');
  });

  it('install.sh parses, runs npm install --omit=dev on the tarball, and refuses bad arguments', () => {
    const script = path.join(deploy, 'install.sh');
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
    expect(read('install.sh')).toMatch(/^npm install --omit=dev .*"\$tarball"$/m);
    const usage = spawnSync('bash', [script], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('usage:');
    const missing = spawnSync('bash', [script, '/nonexistent/phala-bridge-0.0.0.tgz', '/tmp/x'], {
      encoding: 'utf8',
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no such tarball');
  });
});
