import { describe, expect, it } from 'vitest';
import { clickFacts, MAX_USER_AGENT_LENGTH, type AgentClass } from '../../../functions/shortener/click';

const UA = {
  chromeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
  iphoneSafari: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  androidPhone: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36',
  androidTablet: 'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  samsungTv: 'Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36',
  lgTv: 'Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager',
  playStation: 'Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  googlebotSmartphone:
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  slackbot: 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
  curl: 'curl/8.5.0',
};

describe('clickFacts', () => {
  it.each<[string, string, AgentClass]>([
    ['Chrome on Windows', UA.chromeWindows, 'desktop'],
    ['Safari on a Mac', UA.safariMac, 'desktop'],
    ['Safari on an iPhone', UA.iphoneSafari, 'mobile'],
    ['Safari on an iPad', UA.ipad, 'tablet'],
    ['Chrome on an Android phone', UA.androidPhone, 'mobile'],
    ['Chrome on an Android tablet', UA.androidTablet, 'tablet'],
    ['a Samsung smart TV', UA.samsungTv, 'tv'],
    ['an LG smart TV', UA.lgTv, 'tv'],
    ['a games console', UA.playStation, 'other'],
  ])('classes %s as a human on %s', (_name, userAgent, agent) => {
    // Act
    const facts = clickFacts({ 'user-agent': userAgent });

    // Assess
    expect(facts).toMatchObject({ agent, bot: false });
  });

  it.each([
    ['Googlebot', UA.googlebot],
    ['Googlebot for smartphones, which also looks like Android Chrome', UA.googlebotSmartphone],
    ['Slack unfurling a link', UA.slackbot],
    ['curl', UA.curl],
    ['an empty User-Agent', ''],
    ['a blank User-Agent', '   '],
  ])('classes %s as a bot', (_name, userAgent) => {
    // Act
    const facts = clickFacts({ 'user-agent': userAgent });

    // Assess
    expect(facts).toMatchObject({ agent: 'bot', bot: true });
  });

  it('counts a request without a User-Agent as a bot and knows nothing else of it', () => {
    // Act
    const facts = clickFacts({});

    // Assess
    expect(facts).toEqual({ referrerHost: null, country: null, agent: 'bot', bot: true });
  });

  it('parses only the first 512 characters of the User-Agent', () => {
    // Prepare
    const prefix = `${UA.chromeWindows} `;
    const padding = 'x'.repeat(MAX_USER_AGENT_LENGTH - prefix.length);
    const botWithin = `${prefix}${padding.slice(' Googlebot/2.1'.length)} Googlebot/2.1`;
    const botBeyond = `${prefix}${padding} Googlebot/2.1`;

    // Act
    const within = clickFacts({ 'user-agent': botWithin });
    const beyond = clickFacts({ 'user-agent': botBeyond });

    // Assess
    expect(botWithin).toHaveLength(MAX_USER_AGENT_LENGTH);
    expect(within).toMatchObject({ agent: 'bot', bot: true });
    expect(beyond).toMatchObject({ agent: 'desktop', bot: false });
  });

  it.each([
    ['https://www.Example.com/some/page?q=1', 'www.example.com'],
    ['http://t.co/abc', 't.co'],
    ['https://news.ycombinator.com:443/item?id=1', 'news.ycombinator.com'],
    ['https://bücher.example/', 'xn--bcher-kva.example'],
    ['android-app://com.Google.Android.gm/', 'com.google.android.gm'],
  ])('takes the lower-case host of the Referer %s', (referer, host) => {
    // Act
    const facts = clickFacts({ 'user-agent': UA.chromeWindows, referer });

    // Assess
    expect(facts.referrerHost).toBe(host);
  });

  it.each(['', 'not a url', '/relative/path', 'about:blank', 'data:text/html,hi', 'https://'])('has no referrer host for the Referer %j', (referer) => {
    // Act
    const facts = clickFacts({ 'user-agent': UA.chromeWindows, referer });

    // Assess
    expect(facts.referrerHost).toBeNull();
  });

  it.each([
    ['DE', 'DE'],
    ['us', 'US'],
    [' gb ', 'GB'],
  ])('takes the viewer country %j as %s', (header, country) => {
    // Act
    const facts = clickFacts({ 'user-agent': UA.chromeWindows, 'cloudfront-viewer-country': header });

    // Assess
    expect(facts.country).toBe(country);
  });

  it.each(['', 'USA', 'U', '12', 'D3', 'US,DE', 'É'])('has no country for the viewer country %j', (header) => {
    // Act
    const facts = clickFacts({ 'user-agent': UA.chromeWindows, 'cloudfront-viewer-country': header });

    // Assess
    expect(facts.country).toBeNull();
  });

  it('finds headers sent in another case, as REST API events keep them', () => {
    // Prepare
    const headers = { 'User-Agent': UA.iphoneSafari, Referer: 'https://Example.com/', 'CloudFront-Viewer-Country': 'fr' };

    // Act
    const facts = clickFacts(headers);

    // Assess
    expect(facts).toEqual({ referrerHost: 'example.com', country: 'FR', agent: 'mobile', bot: false });
  });
});
