import { describe, expect, it } from 'vitest';
import { LinkCache } from '../../../functions/shortener/cache';
import type { LinkItem } from '../../../functions/shortener/links';

const link = (code: string): LinkItem => ({
  pk: `L#${code}`,
  sk: 'link',
  code,
  tenantId: 'acme',
  url: `https://example.com/${code}`,
  createdAt: '2026-11-23T12:00:00.000Z',
  createdBy: 'alice',
  redirectType: 302,
  tags: [],
  disabled: false,
});

describe('LinkCache', () => {
  it('misses a code it was never told about', () => {
    // Prepare
    const cache = new LinkCache(10_000, 5_000);

    // Act
    const lookup = cache.get('abc12345');

    // Assess
    expect(lookup).toEqual({ hit: false });
  });

  it('remembers a link, and that a code has none', () => {
    // Prepare
    const cache = new LinkCache(10_000, 5_000);
    const item = link('abc12345');

    // Act
    cache.set('abc12345', item);
    cache.set('missing1', undefined);

    // Assess
    expect(cache.get('abc12345')).toEqual({ hit: true, item });
    expect(cache.get('missing1')).toEqual({ hit: true, item: undefined });
  });

  it('remembers nothing of a kind whose TTL is 0', () => {
    // Prepare
    const noLinks = new LinkCache(0, 5_000);
    const noMisses = new LinkCache(10_000, 0);

    // Act
    noLinks.set('abc12345', link('abc12345'));
    noLinks.set('missing1', undefined);
    noMisses.set('abc12345', link('abc12345'));
    noMisses.set('missing1', undefined);

    // Assess
    expect([noLinks.get('abc12345').hit, noLinks.get('missing1').hit]).toEqual([false, true]);
    expect([noMisses.get('abc12345').hit, noMisses.get('missing1').hit]).toEqual([true, false]);
  });

  it('forgets a code on delete', () => {
    // Prepare
    const cache = new LinkCache(10_000, 5_000);
    cache.set('abc12345', link('abc12345'));

    // Act
    cache.delete('abc12345');

    // Assess
    expect(cache.get('abc12345')).toEqual({ hit: false });
  });

  it('keeps at most `max` codes, dropping the least recently used', () => {
    // Prepare
    const cache = new LinkCache(10_000, 5_000, 2);
    cache.set('first001', link('first001'));
    cache.set('second01', link('second01'));
    cache.get('first001');

    // Act
    cache.set('third001', undefined);

    // Assess
    expect(['first001', 'second01', 'third001'].map((code) => cache.get(code).hit)).toEqual([true, false, true]);
  });
});
