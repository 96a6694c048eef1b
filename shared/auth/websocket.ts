import { lowerCaseKeys } from '../correlation';

/**
 * Browsers cannot set headers on a WebSocket handshake, so a client carries its token as a
 * subprotocol: `new WebSocket(url, ['bearer', jwt])` sends `Sec-WebSocket-Protocol: bearer, <jwt>`.
 * A browser drops the connection unless the server picks one offered subprotocol, so the
 * `$connect` handler must answer with `Sec-WebSocket-Protocol: bearer` (see
 * {@link subprotocolResponseHeaders}), and never with the token.
 */
export const BEARER_SUBPROTOCOL = 'bearer';

/** The handshake header that lists the subprotocols a client offers. */
export const SUBPROTOCOL_HEADER = 'Sec-WebSocket-Protocol';

/** The query parameter non-browser clients may use instead: `wss://host/stage?token=<jwt>`. */
export const TOKEN_QUERY_PARAMETER = 'token';

type StringMap = Record<string, string | undefined> | null | undefined;

/** The subprotocols a client offered, in its order of preference; header names match case-insensitively. */
export function offeredSubprotocols(headers: StringMap): string[] {
  const value = lowerCaseKeys(headers)[SUBPROTOCOL_HEADER.toLowerCase()];
  return (value ?? '')
    .split(',')
    .map((protocol) => protocol.trim())
    .filter(Boolean);
}

/** The token offered right after `bearer` in `Sec-WebSocket-Protocol`, if any. */
export function bearerTokenFromSubprotocols(headers: StringMap): string | undefined {
  const offered = offeredSubprotocols(headers);
  const at = offered.indexOf(BEARER_SUBPROTOCOL);
  return at === -1 ? undefined : offered[at + 1];
}

/**
 * The token a `$connect` request carries: from the subprotocol header first, since a query
 * string is more likely to end up in access logs and proxies, else from `?token=`.
 */
export function connectionTokenFrom(headers: StringMap, queryStringParameters: StringMap): string | undefined {
  return bearerTokenFromSubprotocols(headers) ?? (queryStringParameters?.[TOKEN_QUERY_PARAMETER]?.trim() || undefined);
}

/**
 * Headers the `$connect` handler returns: `Sec-WebSocket-Protocol: bearer` when the client
 * offered it (a browser refuses the connection otherwise), none when it did not (answering a
 * subprotocol that was never offered is a handshake error too).
 */
export function subprotocolResponseHeaders(requestHeaders: StringMap): Record<string, string> {
  return offeredSubprotocols(requestHeaders).includes(BEARER_SUBPROTOCOL) ? { [SUBPROTOCOL_HEADER]: BEARER_SUBPROTOCOL } : {};
}
