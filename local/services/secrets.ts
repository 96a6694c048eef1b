import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JsonResponse, JsonService } from '../aws/endpoint';
import type { SecretModel } from '../model';

interface StoredSecret {
  readonly arn: string;
  readonly name: string;
  value: string;
  versionId: string;
  readonly createdDate: number;
}

const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/**
 * Secrets Manager, for the operations functions use: `GetSecretValue`, `DescribeSecret`,
 * `ListSecrets`, `PutSecretValue`. Generated values follow the template's
 * `GenerateSecretString` and are kept in a state file, so a secret (and every token signed
 * with it) survives a restart.
 */
export class SecretsService implements JsonService {
  private readonly secrets = new Map<string, StoredSecret>();

  constructor(
    models: readonly SecretModel[],
    private readonly stateFile?: string,
  ) {
    const saved = stateFile && existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, StoredSecret>) : {};
    for (const model of models) {
      const kept = saved[model.arn];
      this.secrets.set(model.arn, kept ?? { arn: model.arn, name: model.name, value: initialValue(model), versionId: versionId(), createdDate: Date.now() / 1000 });
    }
    this.save();
  }

  /** The current value of a secret, by ARN or name. */
  value(id: string): string | undefined {
    return this.find(id)?.value;
  }

  /** Serves one `secretsmanager.<Operation>` call. */
  handle(operation: string, body: Record<string, unknown>): JsonResponse {
    const id = String(body['SecretId'] ?? '');
    switch (operation) {
      case 'GetSecretValue': {
        const secret = this.find(id);
        if (!secret) return notFound(id);
        return { status: 200, body: { ARN: secret.arn, Name: secret.name, SecretString: secret.value, VersionId: secret.versionId, VersionStages: ['AWSCURRENT'], CreatedDate: secret.createdDate } };
      }
      case 'DescribeSecret': {
        const secret = this.find(id);
        if (!secret) return notFound(id);
        return { status: 200, body: { ARN: secret.arn, Name: secret.name, CreatedDate: secret.createdDate, VersionIdsToStages: { [secret.versionId]: ['AWSCURRENT'] } } };
      }
      case 'ListSecrets':
        return { status: 200, body: { SecretList: [...this.secrets.values()].map((s) => ({ ARN: s.arn, Name: s.name, CreatedDate: s.createdDate })) } };
      case 'PutSecretValue': {
        const secret = this.find(id);
        if (!secret) return notFound(id);
        if (typeof body['SecretString'] !== 'string') return { status: 400, body: { __type: 'InvalidParameterException', message: 'SecretString is required' } };
        secret.value = body['SecretString'];
        secret.versionId = versionId();
        this.save();
        return { status: 200, body: { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId, VersionStages: ['AWSCURRENT'] } };
      }
      default:
        return { status: 400, body: { __type: 'InvalidRequestException', message: `${operation} is not supported by the local cloud` } };
    }
  }

  private find(id: string): StoredSecret | undefined {
    return this.secrets.get(id) ?? [...this.secrets.values()].find((s) => s.name === id || s.arn.startsWith(`${id}-`) || id.startsWith(s.arn));
  }

  private save(): void {
    if (!this.stateFile) return;
    mkdirSync(dirname(this.stateFile), { recursive: true });
    writeFileSync(this.stateFile, JSON.stringify(Object.fromEntries(this.secrets), null, 2), { mode: 0o600 });
  }
}

function notFound(id: string): JsonResponse {
  return { status: 400, body: { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret.", SecretId: id } };
}

function versionId(): string {
  return crypto.randomUUID();
}

/** A value as Secrets Manager would make it from `GenerateSecretString`. */
export function initialValue(model: SecretModel): string {
  if (model.secretString !== undefined) return model.secretString;
  const g = model.generate;
  if (!g) return '';
  let alphabet = '';
  if (!g.excludeLowercase) alphabet += 'abcdefghijklmnopqrstuvwxyz';
  if (!g.excludeUppercase) alphabet += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  if (!g.excludeNumbers) alphabet += '0123456789';
  if (!g.excludePunctuation) alphabet += PUNCTUATION;
  if (g.includeSpace) alphabet += ' ';
  alphabet = [...alphabet].filter((c) => !g.excludeCharacters.includes(c)).join('');
  const password = Array.from({ length: g.passwordLength }, () => alphabet[randomInt(alphabet.length)]).join('');
  if (g.secretStringTemplate && g.generateStringKey) {
    return JSON.stringify({ ...(JSON.parse(g.secretStringTemplate) as object), [g.generateStringKey]: password });
  }
  return password;
}
