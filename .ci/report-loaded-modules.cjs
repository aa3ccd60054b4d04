// Preloaded by .ci/production-install (node --require): when the service exits, writes every module
// it loaded to $LOADED_MODULES_FILE, so the check can prove that production never loaded bot/dev/.
'use strict';
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  if (process.env.LOADED_MODULES_FILE) {
    writeFileSync(process.env.LOADED_MODULES_FILE, `${Object.keys(require.cache).join('\n')}\n`);
  }
});
