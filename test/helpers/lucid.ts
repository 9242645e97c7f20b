/**
 * What a user's browser brings back from the Lucid emulator for `login lucid --manual`: the
 * authorization code of a consent to `clientId`, taken from the redirect to the emulator's own
 * redirect page (the emulator consents at once).
 */
export async function lucidManualCode(emuUrl: string, clientId: string): Promise<string> {
  const url = new URL(`${emuUrl}/oauth2/authorize`)
  url.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: `${emuUrl}/oauth2/clients/${clientId}/redirect`,
    response_type: 'code',
    scope: 'user.profile offline_access',
    state: 's',
  }).toString()
  const code = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location') as string).searchParams.get('code')
  if (!code) throw new Error(`the Lucid emulator gave no code for ${clientId}`)
  return code
}
