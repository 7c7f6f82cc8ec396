/** The config file (TAKEOUT_CONFIG) refuses keys it does not know: a misspelt `tokens` dropped the tokens. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfigFile } from '../../src/config-file.js';
import { loadDatasetsFile } from '../../src/datasets/config-file.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-config-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const token = { sha256: 'a'.repeat(64), id: 'alice' };

describe('config file keys', () => {
  it('refuses an unknown top-level key, naming it and the known ones', async () => {
    const path = file('tokenz.json', JSON.stringify({ datasets: [], tokenz: [token] }));
    for (const read of [readConfigFile, loadDatasetsFile]) {
      const error = await read(path).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toMatchObject({ code: 'config_error' });
      expect(error?.message).toContain('"tokenz"');
      expect(error?.message).toContain('"datasets"');
      expect(error?.message).toContain('"tokens"');
    }
  });

  it('checks JS modules too, and refuses a file that is not an object', async () => {
    const module = file('c.mjs', 'export default { datasets: [], extra: 1 };');
    await expect(readConfigFile(module)).rejects.toThrow(/"extra"/);
    await expect(readConfigFile(file('list.json', '[]'))).rejects.toMatchObject({ code: 'config_error' });
  });

  it('accepts datasets and tokens', async () => {
    const path = file('ok.json', JSON.stringify({ datasets: [], tokens: [token] }));
    await expect(readConfigFile(path)).resolves.toEqual({ datasets: [], tokens: [token] });
    await expect(loadDatasetsFile(path)).resolves.toEqual([]);
  });
});
