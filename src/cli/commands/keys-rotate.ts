import type { StoreBackend } from '../../kernel/config.js'
import { checkSegment } from '../../kernel/sanitize.js'
import { AuthctlError, ExitCode, NotFoundError, type ExitCodeValue } from '../../kernel/errors.js'
import type { CreatedKey, Credential, KeyManager, TokenSet } from '../../providers/types.js'
import type { CliContext } from '../context.js'
import { printJson, shellWord } from '../output.js'
import { confirmKeyOp, keyManagerOf, prepare, saveKey, type KeysOptions } from './keys.js'
import { profileSuffix, target, type Target } from './common.js'

export type RotateStep = 'create' | 'verify' | 'save' | 'revoke'

/** A rotation step failed: the cause's exit code, and a hint that says what exists now. */
export class RotationError extends AuthctlError {
  override readonly code: string = 'AUTHCTL_ROTATION_FAILED'
  override readonly exitCode: ExitCodeValue

  constructor(step: RotateStep, cause: unknown, exists: string) {
    super(`key rotation stopped at step "${step}": ${cause instanceof Error ? cause.message : String(cause)}`, { hint: exists, cause })
    this.exitCode = cause instanceof AuthctlError ? cause.exitCode : ExitCode.Internal
  }
}

interface Rotation {
  ctx: CliContext
  t: Target
  km: KeyManager
  cred: Credential
  oldId: string
  /** The old key is the one saved in the profile: the replacement is saved in its place. */
  saved: boolean
  flags: Record<string, unknown>
}

/**
 * `keys rotate`: create a replacement (same name/description, access, index scope), check that
 * it works, save it where the old one was saved, then revoke the old one. Every step is
 * announced on stderr before the next begins, and a failure says what exists at that point:
 * until the save, the old key is the stored one and is valid; after it, the new one is.
 */
export async function runKeysRotate(opts: KeysOptions, ctx: CliContext): Promise<void> {
  const oldId = opts.id ?? ''
  const t = target(ctx, opts.provider)
  keyManagerOf(t.provider, 'rotate')
  checkSegment(oldId, 'key id') // before anything is created: the old id goes into a DELETE path
  const name = t.provider.displayName
  await confirmKeyOp(
    ctx,
    opts,
    `rotating ${name} key ${oldId}`,
    `Rotate ${name} key ${oldId}? A replacement is created and saved, then key ${oldId} is revoked.`,
  )
  const { km, cred, token } = await prepare(ctx, opts, 'rotate')
  const stored = t.provider.storedKey?.(cred.kind, cred.data)
  const r: Rotation = { ctx, t, km, cred, oldId, saved: cred.source !== 'environment' && stored?.id === oldId, flags: opts.flags }
  if (!r.saved && stored && !stored.id && cred.secret[stored.field]) {
    ctx.warn(`this profile's own ${stored.label} has no known id; if it is key ${oldId}, log in with the replacement afterwards`)
  }
  const pc = ctx.providerContext()
  const { old, options } = await km.replacementOf(cred, token, oldId, opts.flags, pc)
  const expires = opts.flags.expires
  let created: CreatedKey
  try {
    created = await km.create(cred, token, { ...opts.flags, ...options, ...(expires === undefined ? {} : { expires }) }, pc)
  } catch (err) {
    throw new RotationError('create', err, `nothing changed: key ${oldId} is still ${r.saved ? 'stored and ' : ''}valid`)
  }
  // The secret goes to stdout at once: if anything later fails, it is not lost.
  if (ctx.globals.json) printJson(ctx.io, { provider: t.provider.id, profile: t.ref.profile, replaces: oldId, key: created.raw })
  else ctx.io.out(`${created.secret}\n`)
  ctx.info(
    `Created ${name} key ${created.id}${old.name ? ` (${old.name})` : ''} to replace ${oldId}, ${created.expiresAt ? `expires ${created.expiresAt}` : 'no expiry'}; ` +
      `key ${oldId} stays ${r.saved ? 'the stored key' : 'valid'} until the new one is checked${r.saved ? ' and saved' : ''}.`,
  )
  try {
    await km.verify(cred, token, created, opts.flags, pc)
  } catch (err) {
    throw new RotationError('verify', err, `key ${oldId} is still ${r.saved ? 'stored and ' : ''}valid; ${await discard(r, token, created)}`)
  }
  ctx.info(`Checked: key ${created.id} works.`)
  await saveStep(r, created)
  await revokeStep(r, token, created)
}

/** Revokes a replacement that failed its check; says whether it is gone. */
async function discard(r: Rotation, token: TokenSet, created: CreatedKey): Promise<string> {
  try {
    await r.km.revoke(r.cred, token, created.id, r.flags, r.ctx.providerContext())
    return `the new key ${created.id} was revoked`
  } catch {
    return `the new key ${created.id} still exists: revoke it with \`${revokeCommand(r, created.id)}\``
  }
}

function revokeCommand(r: Rotation, id: string): string {
  return `authctl${profileSuffix(r.t.ref.profile)} keys revoke ${r.t.provider.id} ${shellWord(id)} --yes`
}

async function saveStep(r: Rotation, created: CreatedKey): Promise<void> {
  const { ctx, t } = r
  if (!r.saved) {
    ctx.info(`Key ${r.oldId} was not saved in profile ${t.ref.profile}: put the new secret (printed above) where key ${r.oldId} is used.`)
    return
  }
  try {
    await saveKey(ctx, t, r.cred, r.km, created)
  } catch (err) {
    // saveKey writes the secret, then the config: put the old secret back if the second failed.
    await ctx
      .credentials()
      .storeSecret(t.ref, r.cred.source as StoreBackend, { ...r.cred.secret })
      .catch(() => undefined)
    throw new RotationError(
      'save',
      err,
      `key ${r.oldId} is still stored and valid; the new key ${created.id} works but is not stored (its secret is printed above): store it, or revoke it with \`${revokeCommand(r, created.id)}\``,
    )
  }
  ctx.info(`Saved key ${created.id} in profile ${t.ref.profile} in place of key ${r.oldId}; \`authctl token\` and \`exec\` use it from now on.`)
}

async function revokeStep(r: Rotation, token: TokenSet, created: CreatedKey): Promise<void> {
  const { ctx, t } = r
  try {
    await r.km.revoke(r.cred, token, r.oldId, r.flags, ctx.providerContext())
  } catch (err) {
    // A revoke that went through but whose answer was lost (then retried) finds the key gone.
    if (!(err instanceof NotFoundError)) {
      const now = `the new key ${created.id} ${r.saved ? 'is stored and ' : ''}works; the old key ${r.oldId} is still valid: revoke it with \`${revokeCommand(r, r.oldId)}\``
      throw new RotationError('revoke', err, now)
    }
  }
  ctx.info(`Revoked the old key ${r.oldId}. Rotation of ${t.provider.displayName} key ${r.oldId} → ${created.id} complete.`)
}
