import type { Provider } from '../../src/providers/types.js'

/**
 * A provider for token-service unit tests: a descriptor with nothing in it but `plan`, given by
 * the test (and the credential kind its stored logins have).
 */
export function fakeProvider(kind: string, plan: Provider['plan']): Provider {
  return {
    id: 'fake',
    aliases: [],
    displayName: 'Fake',
    loginFlags: [],
    env: { prefix: 'FAKE', credentials: [['FAKE_TOKEN']], secrets: [] },
    endpoints: [{ variable: 'FAKE_URL', url: 'https://fake.example', label: 'API' }],
    stored: { [kind]: { secret: [], data: {} } },
    fromEnv: () => undefined,
    plan,
    login: async () => ({ kind, secret: {}, data: {}, summary: '' }),
    whoami: async () => ({}),
    headerLines: () => [],
    envVars: () => ({}),
  }
}
