/**
 * Whether a `Content-Type` or `Accept` value names one of the API's binary media types.
 * Patterns may use `*` (`image/*`, `*\/*`); CloudFormation sometimes writes `/` as `~1`
 * (a JSON-patch escape), so both spellings are accepted. Parameters (`; charset=...`) are ignored.
 */
export function isBinaryMediaType(mediaType: string | undefined, binaryMediaTypes: readonly string[]): boolean {
  const type = mediaType?.split(';')[0]?.trim().toLowerCase();
  if (!type) return false;
  return binaryMediaTypes.some((pattern) => globToRegExp(pattern.replaceAll('~1', '/').trim().toLowerCase()).test(type));
}

/**
 * The first media type of an `Accept` header: API Gateway decides whether to return a proxy
 * response's base64 body as binary from this one alone.
 */
export function firstAcceptedType(accept: string | undefined): string | undefined {
  return accept?.split(',')[0]?.trim() || undefined;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*');
  return new RegExp(`^${escaped}$`);
}
