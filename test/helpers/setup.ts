import { afterAll } from 'vitest'
import { removeTempDirs } from './tmp.js'

// Every test file: the temp dirs it made with tempDir() are removed when it ends.
afterAll(() => removeTempDirs())
