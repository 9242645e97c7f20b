import { UsageError } from './errors.js'

/** One provider's credentials under one profile name. */
export interface ProfileRef {
  provider: string
  profile: string
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/**
 * Profile names become parts of file names and keychain accounts, so only a safe alphabet is
 * accepted: no `/`, no `..`, no NUL, no leading dot.
 */
export function validateProfileName(name: string): string {
  if (!PROFILE_NAME.test(name) || name.includes('..')) {
    throw new UsageError(`invalid profile name ${JSON.stringify(name.slice(0, 64))}`, {
      hint: 'use letters, digits, ".", "_" and "-" (at most 64, starting with a letter or digit)',
    })
  }
  return name
}

export function refKey(ref: ProfileRef): string {
  return `${ref.provider}:${ref.profile}`
}

/** ` --profile NAME` for a runnable hint, or nothing for the default profile. */
export function profileSuffix(profile: string): string {
  return profile === 'default' ? '' : ` --profile ${profile}`
}
