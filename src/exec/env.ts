/**
 * The child's environment as a pure value (aws-vault createEnv): the base environment minus
 * login-secret variables, plus the injected tokens and the profile marker.
 */
export function buildChildEnv(
  base: Readonly<Record<string, string | undefined>>,
  inject: Readonly<Record<string, string>>,
  opts: { unset: readonly string[]; profile: string },
): Record<string, string> {
  const out: Record<string, string> = {}
  const drop = new Set(opts.unset)
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && !drop.has(k)) out[k] = v
  }
  Object.assign(out, inject)
  out.AUTHCTL_PROFILE = opts.profile
  return out
}
