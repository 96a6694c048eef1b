import { describe, expect, it } from 'vitest';
import { readBatchResponse } from '../../../local/services/sqs/batch-response';

const ids = ['m-1', 'm-2', 'm-3'];

describe('partial batch responses', () => {
  it.each([
    ['no response', undefined],
    ['a null response', null],
    ['an empty response', {}],
    ['a null list', { batchItemFailures: null }],
    ['an empty list', { batchItemFailures: [] }],
  ])('takes %s as full success', (_, result) => {
    // Act
    const verdict = readBatchResponse(result, ids);

    // Assess
    expect(verdict).toEqual({ kind: 'settled', failed: new Set() });
  });

  it('names the failed records', () => {
    // Act
    const verdict = readBatchResponse({ batchItemFailures: [{ itemIdentifier: 'm-2' }, { itemIdentifier: 'm-3' }] }, ids);

    // Assess
    expect(verdict).toEqual({ kind: 'settled', failed: new Set(['m-2', 'm-3']) });
  });

  it.each([
    ['a response that is not an object', 'done', 'not a JSON object'],
    ['a list that is not a list', { batchItemFailures: 'm-1' }, 'not a list'],
    ['an entry with a bad key name', { batchItemFailures: [{ itemId: 'm-1' }] }, 'no itemIdentifier'],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }, 'is null'],
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }, 'is empty'],
    ['an itemIdentifier not in the batch', { batchItemFailures: [{ itemIdentifier: 'm-9' }] }, 'not a message of the batch'],
  ])('fails the whole batch on %s', (_, result, reason) => {
    // Act
    const verdict = readBatchResponse(result, ids);

    // Assess
    expect(verdict).toEqual({ kind: 'invalid', reason: expect.stringContaining(reason) });
  });
});
