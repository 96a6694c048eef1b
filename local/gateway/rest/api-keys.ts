import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ApiKeyModel } from '../../model';

/** An API key as a caller uses it: what to send in `x-api-key`. */
export interface ApiKey {
  /** The key id (`$context.identity.apiKeyId`). */
  readonly id: string;
  readonly name: string;
  /** The key itself (`$context.identity.apiKey`). */
  readonly value: string;
  readonly enabled: boolean;
}

/** What API Gateway generates for a key created without a value: 40 letters and digits. */
const GENERATED_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const GENERATED_LENGTH = 40;

/**
 * The API keys of a cloud assembly, with their values: the template's `Value`, or one
 * generated as API Gateway does and kept in a state file, so a key handed to a client (or
 * written into a `.env`) keeps working after a restart. Without a state file (tests), generated
 * values live as long as the store.
 */
export class ApiKeyStore {
  private readonly keys: readonly ApiKey[];
  private readonly byValue: ReadonlyMap<string, ApiKey>;

  constructor(models: readonly ApiKeyModel[], stateFile?: string) {
    const saved = stateFile && existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, string>) : {};
    const generated: Record<string, string> = {};
    this.keys = models.map((model) => {
      let value = model.value;
      if (value === undefined) {
        value = saved[model.id] ?? generateKeyValue();
        generated[model.id] = value;
      }
      return { id: model.id, name: model.name, value, enabled: model.enabled };
    });
    // Two keys with one value would make a request's key ambiguous; API Gateway refuses the second.
    this.byValue = new Map([...this.keys].reverse().map((key) => [key.value, key]));
    if (stateFile) {
      mkdirSync(dirname(stateFile), { recursive: true });
      writeFileSync(stateFile, JSON.stringify(generated, null, 2), { mode: 0o600 });
    }
  }

  /** Every key, in template order. */
  list(): readonly ApiKey[] {
    return this.keys;
  }

  /** The key with this value, enabled or not. */
  find(value: string): ApiKey | undefined {
    return this.byValue.get(value);
  }
}

/** A key value as API Gateway generates one. */
export function generateKeyValue(): string {
  return Array.from({ length: GENERATED_LENGTH }, () => GENERATED_ALPHABET[randomInt(GENERATED_ALPHABET.length)]).join('');
}
