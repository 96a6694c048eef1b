import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/errors';
import { checkTargetUrl, MAX_URL_LENGTH, type UrlPolicy } from '../../../functions/shortener/url-policy';

const policy: UrlPolicy = {
  selfHosts: ['sho.rt', 'abc123.execute-api.eu-west-1.amazonaws.com'],
  denyDomains: ['denied.example', 'Bad.Example.', 'bücher.example'],
};

const ABSOLUTE_HTTP = 'must be an absolute http or https URL';
const PUBLIC_ADDRESS = 'must not point at a private, loopback, link-local or cloud metadata address';

/** The violations `checkTargetUrl` refuses `raw` with; fails the test when it accepts it. */
function refusal(raw: string, field?: string): readonly { field: string; rule: string }[] {
  try {
    const accepted = checkTargetUrl(raw, policy, field);
    throw new Error(`accepted ${raw} as ${accepted}`);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error.violations;
  }
}

describe('checkTargetUrl', () => {
  it.each([
    ['https://example.com/a/long/path?q=1#top', 'https://example.com/a/long/path?q=1#top'],
    ['HTTP://EXAMPLE.com:8080/Path', 'http://example.com:8080/Path'],
    ['https://münchen.example/straße', 'https://xn--mnchen-3ya.example/stra%C3%9Fe'],
    ['http://8.8.8.8/', 'http://8.8.8.8/'],
    ['http://[2606:4700:4700::1111]/', 'http://[2606:4700:4700::1111]/'],
    ['http://[::ffff:8.8.8.8]/', 'http://[::ffff:808:808]/'],
    ['https://www.sho.rt/', 'https://www.sho.rt/'],
    ['https://metadata.example.com/', 'https://metadata.example.com/'],
  ])('accepts %s and returns it normalized', (raw, normalized) => {
    // Act
    const href = checkTargetUrl(raw, policy);

    // Assess
    expect(href).toBe(normalized);
  });

  it('reports the violation at the field it is given, body.url by default', () => {
    // Act
    const atDefault = refusal('ftp://example.com/');
    const atAlias = refusal('ftp://example.com/', 'body.links[3].url');

    // Assess
    expect(atDefault).toEqual([{ field: 'body.url', rule: ABSOLUTE_HTTP }]);
    expect(atAlias).toEqual([{ field: 'body.links[3].url', rule: ABSOLUTE_HTTP }]);
  });

  it.each(['ftp://example.com/file', 'javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'file:///etc/passwd', 'mailto:a@example.com', '//example.com/path', '/relative/path', 'example.com', '', 'http://', 'https://exa mple.com/', 'http://1.2.3.4.5/'])(
    'refuses %j as not an absolute http(s) URL',
    (raw) => {
      // Act
      const violations = refusal(raw);

      // Assess
      expect(violations).toEqual([{ field: 'body.url', rule: ABSOLUTE_HTTP }]);
    },
  );

  it('accepts a URL of exactly 2048 characters and refuses one of 2049, before parsing it', () => {
    // Prepare
    const prefix = 'https://example.com/';
    const longest = prefix + 'a'.repeat(MAX_URL_LENGTH - prefix.length);
    const tooLong = `${longest}a`;
    const tooLongGarbage = 'x'.repeat(MAX_URL_LENGTH + 1);

    // Act
    const accepted = checkTargetUrl(longest, policy);

    // Assess
    expect(accepted).toBe(longest);
    expect(refusal(tooLong)).toEqual([{ field: 'body.url', rule: 'must be at most 2048 characters' }]);
    expect(refusal(tooLongGarbage)).toEqual([{ field: 'body.url', rule: 'must be at most 2048 characters' }]);
  });

  it.each(['https://user@example.com/', 'https://user:pass@example.com/', 'https://:pass@example.com/', 'https://trusted.example@evil.example/'])('refuses user information in %s', (raw) => {
    // Act
    const violations = refusal(raw);

    // Assess
    expect(violations).toEqual([{ field: 'body.url', rule: 'must not contain user information' }]);
  });

  it.each(['http://localhost/', 'http://LOCALHOST:3000/x', 'http://localhost./', 'http://api.localhost/', 'http://a.b.LocalHost../'])('refuses %s as localhost', (raw) => {
    // Act
    const violations = refusal(raw);

    // Assess
    expect(violations).toEqual([{ field: 'body.url', rule: 'must not point at localhost' }]);
  });

  it.each([
    // IPv4 ranges outside public unicast
    'http://127.0.0.1/',
    'http://127.255.255.254:8080/',
    'http://10.0.0.1/',
    'http://172.16.0.1/',
    'http://172.31.255.255/',
    'http://192.168.1.1/',
    'http://169.254.1.1/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://255.255.255.255/',
    'http://224.0.0.1/',
    'http://240.0.0.1/',
    'http://192.0.2.1/',
    // the URL parser's other spellings of 127.0.0.1 and 0.0.0.0
    'http://2130706433/',
    'http://0x7f.1/',
    'http://127.1/',
    'http://0177.0.0.1/',
    'http://017700000001/',
    'http://127.0.0.1./',
    'http://0/',
    // IPv6 ranges outside global unicast
    'http://[::1]/',
    'http://[::]/',
    'http://[fe80::1]/',
    'http://[fc00::1]/',
    'http://[fd12:3456::1]/',
    'http://[ff02::1]/',
    'http://[2001:db8::1]/',
    'http://[fec0::1]/',
    // IPv4 hidden in IPv6
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://[0:0:0:0:0:ffff:10.0.0.1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::127.0.0.1]/',
    'http://[64:ff9b::7f00:1]/',
    'http://[2002:7f00:1::]/',
    'http://[2002:c0a8:101::1]/',
    'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/',
    // cloud metadata, by address and by name
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://168.63.129.16/machine?comp=goalstate',
    'http://100.100.100.200/latest/meta-data/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://METADATA.google.internal./computeMetadata/v1/',
    'http://metadata/computeMetadata/v1/',
    'http://instance-data/latest/meta-data/',
    'http://instance-data.ec2.internal/latest/meta-data/',
  ])('refuses %s as not a public address', (raw) => {
    // Act
    const violations = refusal(raw);

    // Assess
    expect(violations).toEqual([{ field: 'body.url', rule: PUBLIC_ADDRESS }]);
  });

  it('refuses the Azure wire server although its range is public, and accepts its neighbour', () => {
    // Act
    const neighbour = checkTargetUrl('http://168.63.129.17/', policy);

    // Assess
    expect(neighbour).toBe('http://168.63.129.17/');
    expect(refusal('http://168.63.129.16/')).toEqual([{ field: 'body.url', rule: PUBLIC_ADDRESS }]);
  });

  it.each(['https://sho.rt/abc', 'https://SHO.RT:8443/abc', 'http://sho.rt./', 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1/links'])('refuses %s as the shortener itself', (raw) => {
    // Act
    const violations = refusal(raw);

    // Assess
    expect(violations).toEqual([{ field: 'body.url', rule: 'must not point at this link shortener' }]);
  });

  it('compares self hosts as configured in any case, with a port or a trailing dot', () => {
    // Prepare
    const configured: UrlPolicy = { selfHosts: ['Go.Example.COM:443', 'links.example.'], denyDomains: [] };

    // Act
    const check = (raw: string) => () => checkTargetUrl(raw, configured);

    // Assess
    expect(check('https://go.example.com/x')).toThrow('must not point at this link shortener');
    expect(check('https://links.example/x')).toThrow('must not point at this link shortener');
    expect(check('https://example.com/x')).not.toThrow();
  });

  it.each([
    ['https://denied.example/', 'denied.example'],
    ['https://DENIED.example./path', 'denied.example'],
    ['https://a.b.denied.example/', 'denied.example'],
    ['https://bad.example:8443/', 'bad.example'],
    ['https://www.Bad.Example/', 'bad.example'],
    ['https://bücher.example/', 'xn--bcher-kva.example'],
    ['https://shop.BÜCHER.example/', 'xn--bcher-kva.example'],
    ['https://xn--bcher-kva.example/', 'xn--bcher-kva.example'],
  ])('refuses %s as a denied domain, naming %s', (raw, domain) => {
    // Act
    const violations = refusal(raw);

    // Assess
    expect(violations).toEqual([{ field: 'body.url', rule: `points at a denied domain: ${domain}` }]);
  });

  it('does not treat a domain that merely ends with a denied name as its subdomain', () => {
    // Act
    const href = checkTargetUrl('https://notdenied.example/', policy);

    // Assess
    expect(href).toBe('https://notdenied.example/');
  });

  it('accepts any public target when nothing is denied and no self host is known', () => {
    // Prepare
    const open: UrlPolicy = { selfHosts: [], denyDomains: [] };

    // Act
    const href = checkTargetUrl('https://denied.example/', open);

    // Assess
    expect(href).toBe('https://denied.example/');
  });
});
