/**
 * Runs `fn` (typically a login) while the emulator issues 2-second tokens, then waits until they
 * are stale for every process: authctl clamps any --min-ttl to half such a lifetime, so after
 * 1.1 s the next `token` must renew. (A token with a few minutes left is no longer stale under
 * the default 300 s: the clamp keeps a minimum no fresh token could satisfy from renewing on
 * every call.)
 */
export async function issuingStaleTokens<T>(emu: { tokenTtlSeconds: number }, fn: () => Promise<T>): Promise<T> {
  const ttl = emu.tokenTtlSeconds
  emu.tokenTtlSeconds = 2
  let result: T
  try {
    result = await fn()
  } finally {
    emu.tokenTtlSeconds = ttl
  }
  await new Promise((r) => setTimeout(r, 1100))
  return result
}
