/**
 * Credentials never enter a config: the resolved config is written to every run's
 * `config.json`, printed by `--print-config` and quoted in reports, so a key inside a URL
 * (`http://user:KEY@host/v1?api_key=KEY`) would leak into all of them. Such a URL is refused
 * when the config is resolved, with a message that names the parts holding credentials but
 * never repeats them; keys belong in the environment variable named by `eval.http.apiKeyEnv`.
 *
 * @module
 */

/** Query parameter names that carry credentials (matched case-insensitively, `-`/`_` ignored). */
const CREDENTIAL_PARAM =
  /^(api_?key|key|token|access_?token|auth|authorization|secret|client_?secret|password|passwd|pwd|sig|signature|credential|credentials|x_?api_?key|bearer)$/;

/**
 * The parts of `url` that hold credentials, described without their values (`a user name`,
 * `a password`, `query parameter "api_key"`); empty when there are none or `url` does not parse.
 *
 * @example
 * ```ts
 * urlCredentialParts("http://u:KEY@host/v1?api_key=KEY&x=1");
 * // ["a user name", "a password", 'query parameter "api_key"']
 * ```
 */
export function urlCredentialParts(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const parts: string[] = [];
  if (u.username) parts.push("a user name");
  if (u.password) parts.push("a password");
  for (const name of new Set(u.searchParams.keys())) {
    if (CREDENTIAL_PARAM.test(name.toLowerCase().replaceAll("-", "_"))) {
      parts.push(`query parameter "${name}"`);
    }
  }
  if (/(^|[^a-z])(api_?key|token|secret|password)=/i.test(u.hash)) parts.push("the fragment");
  return parts;
}
