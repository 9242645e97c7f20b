#!/usr/bin/env node
'use strict'
require('../dist/authctl.cjs').main(process.argv.slice(2))
