// oidc-provider ships no type declarations; the tests use it as an untyped module.
declare module 'oidc-provider' {
  // biome-ignore lint/suspicious/noExplicitAny: untyped third-party module
  const Provider: any
  // biome-ignore lint/suspicious/noExplicitAny: untyped third-party module
  type Provider = any
  export default Provider
}
