declare const __AUTHCTL_VERSION__: string
/** Injected at build time from package.json (scripts/build.mjs). */
export const VERSION = typeof __AUTHCTL_VERSION__ === 'string' ? __AUTHCTL_VERSION__ : '0.0.0-dev'
