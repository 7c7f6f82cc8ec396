// The compiled addon (build/Release/isal_deflate.node, made by `node-gyp rebuild` on install).
module.exports = require('./build/Release/isal_deflate.node');
