// Bundled into dist-dev/bench-kit.cjs: the emulators and helpers the benchmark drives.
export { startLucidworks } from '../test/emulators/lucidworks.js'
export { startSecretService, missingTools } from '../test/helpers/secret-service.js'
export { baseEnv, runCli, BIN } from '../test/helpers/cli.js'
export { hasRedisServer, startRedis } from '../test/helpers/redis.js'
export { removeTempDirs, tempDir } from '../test/helpers/tmp.js'
