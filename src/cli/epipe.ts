/**
 * "Writing to a closed pipe ends quietly" (CONTRACT 0.2): `authctl --help | head -1` must not
 * print a `write EPIPE` stack trace. The reader is gone, so nothing more can be said: exit with
 * the code the run had so far. Installed once per process (the light path and the full CLI
 * share the streams).
 */
export function quietClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listeners('error').some((l) => l.name === 'authctlClosedPipe')) continue
    stream.on('error', function authctlClosedPipe(err: NodeJS.ErrnoException) {
      process.exit(err.code === 'EPIPE' ? Number(process.exitCode ?? 0) : 1)
    })
  }
}
