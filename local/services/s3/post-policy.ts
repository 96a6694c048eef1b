/**
 * The policy of a browser's POST upload: its expiration and its conditions, checked against the
 * form as S3 does. The signature over the policy is checked by `sigv4.ts`.
 */
import { S3Error } from './errors';

/** A decoded policy document. */
export interface PostPolicy {
  readonly expiration: Date;
  readonly conditions: readonly unknown[];
}

/** What the conditions are checked against. */
export interface PostForm {
  /** Form fields by lower-case name (`key` already has `${filename}` replaced). */
  readonly fields: ReadonlyMap<string, string>;
  readonly bucket: string;
  /** The size of the file, in bytes. */
  readonly size: number;
}

// Fields S3 never asks a condition for.
const EXEMPT_FIELDS = new Set(['policy', 'x-amz-signature', 'file']);

/**
 * Decodes the base64 `policy` field.
 * @throws S3Error InvalidPolicyDocument when it is not a policy
 */
export function decodePolicy(base64: string): PostPolicy {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid Policy: Invalid JSON.');
  }
  if (!document || typeof document !== 'object') throw invalidPolicy('Invalid Policy: Invalid JSON.');
  const { expiration, conditions } = document as { expiration?: unknown; conditions?: unknown };
  if (typeof expiration !== 'string') throw invalidPolicy('Invalid Policy: Policy missing expiration.');
  const expires = new Date(expiration);
  if (Number.isNaN(expires.getTime())) throw invalidPolicy(`Invalid Policy: Invalid 'expiration' value: '${expiration}'`);
  if (!Array.isArray(conditions)) throw invalidPolicy('Invalid Policy: Policy missing conditions.');
  return { expiration: expires, conditions };
}

/**
 * Checks the policy against the form: not expired, every condition holds, and every field
 * (but `policy`, `x-amz-signature`, `file` and `x-ignore-*`) is named by some condition.
 * @throws S3Error AccessDenied for an expired policy, a failed condition or an extra field;
 *   EntityTooSmall / EntityTooLarge for a file outside `content-length-range`
 */
export function checkPolicy(policy: PostPolicy, form: PostForm, now: Date): void {
  if (now > policy.expiration) throw accessDeniedByPolicy('Policy expired.');
  const covered = new Set<string>();
  for (const condition of policy.conditions) {
    if (Array.isArray(condition)) checkListCondition(condition, form, covered);
    else if (condition && typeof condition === 'object') {
      const entries = Object.entries(condition as Record<string, unknown>);
      if (entries.length !== 1) throw invalidPolicy(`Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.`);
      const [name, expected] = entries[0]!;
      const field = name.toLowerCase();
      covered.add(field);
      if (valueOf(form, field) !== String(expected)) {
        throw accessDeniedByPolicy(`Policy Condition failed: ["eq", "$${name}", "${String(expected)}"]`);
      }
    } else throw invalidPolicy('Invalid Policy: Invalid Condition.');
  }
  const extra = [...form.fields.keys()].filter((name) => !EXEMPT_FIELDS.has(name) && !name.startsWith('x-ignore-') && !covered.has(name));
  if (extra.length > 0) throw accessDeniedByPolicy(`Extra input fields: ${extra.join(', ')}`);
}

function checkListCondition(condition: readonly unknown[], form: PostForm, covered: Set<string>): void {
  const [operator, first, second] = condition;
  const operatorName = typeof operator === 'string' ? operator.toLowerCase() : '';
  if (operatorName === 'content-length-range') {
    const min = Number(first);
    const max = Number(second);
    if (!Number.isFinite(min) || !Number.isFinite(max)) throw invalidPolicy('Invalid Policy: Invalid content-length-range condition.');
    if (form.size < min) {
      throw new S3Error('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed size', { ProposedSize: form.size, MinSizeAllowed: min });
    }
    if (form.size > max) {
      throw new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size', { ProposedSize: form.size, MaxSizeAllowed: max });
    }
    return;
  }
  if ((operatorName !== 'eq' && operatorName !== 'starts-with') || typeof first !== 'string' || !first.startsWith('$') || typeof second !== 'string') {
    throw invalidPolicy(`Invalid Policy: Invalid Condition: ${JSON.stringify(condition)}`);
  }
  const field = first.slice(1).toLowerCase();
  covered.add(field);
  const actual = valueOf(form, field) ?? '';
  const holds =
    operatorName === 'eq'
      ? actual === second
      : // S3 checks each value of a comma-separated Content-Type on its own.
        (field === 'content-type' ? actual.split(',').map((part) => part.trim()) : [actual]).every((value) => value.startsWith(second));
  if (!holds) throw accessDeniedByPolicy(`Policy Condition failed: ["${operatorName}", "${first}", "${second}"]`);
}

function valueOf(form: PostForm, field: string): string | undefined {
  return field === 'bucket' ? form.bucket : form.fields.get(field);
}

function accessDeniedByPolicy(reason: string): S3Error {
  return new S3Error('AccessDenied', 403, `Invalid according to Policy: ${reason}`);
}

function invalidPolicy(message: string): S3Error {
  return new S3Error('InvalidPolicyDocument', 400, message);
}
