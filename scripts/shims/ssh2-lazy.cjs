// Bundling shim: docker-modem requires ssh2 at load time but only uses it for ssh:// engines.
// Loading ssh2 costs ~70 ms at every start, so it is loaded on first use instead.
'use strict';
class Client {
  constructor(...args) {
    // eslint-disable-next-line global-require
    const Real = require('ssh2').Client;
    return new Real(...args);
  }
}
module.exports = { Client };
